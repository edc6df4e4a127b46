/**
 * The README is the operator's reference: every option (flag, env twin and
 * default) and every error code the service can raise must be documented
 * there, as the code has them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FLAG_OPTIONS, defaultShown } from '../../src/config/options';
import { ErrorCodes } from '../../src/errors';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** A row of the README's option table: its flags, environment variables and default cell. */
interface OptionRow {
  flags: string[];
  envs: string[];
  defaultCell: string;
}

function optionRows(): OptionRow[] {
  const section = README.slice(README.indexOf('## Configuration'));
  const table = section.slice(0, section.indexOf('\n## '));
  const names = (cell: string, pattern: RegExp): string[] => [...cell.matchAll(pattern)].map((match) => match[1]!);
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `--'))
    .map((line) => {
      const cells = line.split(' | ');
      return { flags: names(cells[0]!, /`--([a-z0-9-]+)`/g), envs: names(cells[1]!, /`(EGRESS_CAPTURE_[A-Z0-9_]+)`/g), defaultCell: cells[2]!.trim() };
    });
}

/** How the README writes a default: a value in backticks, or what an empty one means. */
function readmeDefault(shown: string): string {
  return shown === '—' || shown.startsWith('(') ? shown : `\`${shown}\``;
}

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
  const rows = optionRows();
  it.each(FLAG_OPTIONS.map(({ spec, env }) => [spec.flag, env, readmeDefault(defaultShown(spec))]))('documents --%s, %s and its default %s in the option table', (flag, env, shown) => {
    const row = rows.find((candidate) => candidate.flags.includes(flag));
    expect(row).toBeDefined();
    expect(row!.envs).toContain(env);
    expect(row!.defaultCell).toBe(shown);
  });

  it('has no option table row for a flag serve does not take', () => {
    const known = new Set(FLAG_OPTIONS.map(({ spec }) => spec.flag));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.flatMap((row) => row.flags).filter((flag) => !known.has(flag))).toEqual([]);
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
