/**
 * The README is the operator's reference: every option (flag and env twin)
 * and every error code the service can raise must be documented there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OPTION_SPECS } from '../../src/config/load-config';
import { ErrorCodes } from '../../src/errors';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** Codes in the first column of the README's error-code table. */
function documentedCodes(): string[] {
  const section = README.slice(README.indexOf('### Error codes'));
  const table = section.slice(0, section.indexOf('\n## '));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `CAP_ERR_'))
    .flatMap((line) => line.split('|')[1]!.match(/CAP_ERR_[A-Z_]+/g) ?? []);
}

/** Every source file except the registry itself. */
function sourcesBeyondRegistry(): string {
  const texts: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts') && file !== path.join(REPO_ROOT, 'src', 'errors.ts')) texts.push(fs.readFileSync(file, 'utf8'));
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  walk(path.join(REPO_ROOT, 'workers'));
  return texts.join('\n');
}

describe('README', () => {
  it.each(OPTION_SPECS.map((spec) => [spec.flag, spec.env]))('documents --%s and %s', (flag, env) => {
    expect(README).toContain(`\`--${flag}\``);
    expect(README).toContain(`\`${env}\``);
  });

  it.each(Object.keys(ErrorCodes))('documents the error code %s', (code) => {
    expect(README).toContain(`\`${code}\``);
  });

  const sources = sourcesBeyondRegistry();
  it.each(documentedCodes())('lists %s, which src/errors.ts declares and the code raises or logs', (code) => {
    expect(Object.keys(ErrorCodes)).toContain(code);
    // Quoted: raised as a CaptureError code or written into a log line, not merely mentioned in a comment.
    expect(sources).toMatch(new RegExp(`['"\`][^'"\`\n]*\\b${code}\\b`));
  });

  it('has an error-code table the test can read', () => {
    expect(documentedCodes().length).toBeGreaterThanOrEqual(Object.keys(ErrorCodes).length);
  });
});
