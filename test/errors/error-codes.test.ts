/**
 * Error codes are declared once, in src/errors.ts. Whatever the code raises or
 * logs must be a code of that registry and documented in the README's table,
 * and a log line carries its code in the `code` field, where alerts and log
 * queries find it, not inside the message text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaptureError, ErrorCodes, errorFields } from '../../src/errors';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const REGISTRY = path.join(REPO_ROOT, 'src', 'errors.ts');

/** Every TypeScript source of the service (the registry aside), by repository path. */
function sources(): Map<string, string> {
  const texts = new Map<string, string>();
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts') && file !== REGISTRY) texts.set(path.relative(REPO_ROOT, file), fs.readFileSync(file, 'utf8'));
    }
  };
  walk(path.join(REPO_ROOT, 'src'));
  walk(path.join(REPO_ROOT, 'workers'));
  return texts;
}

/** The error-code table of the README's "Error codes" section. */
function readmeErrorTable(): string {
  const section = README.slice(README.indexOf('### Error codes'));
  return section.slice(0, section.indexOf('\n## '));
}

const SOURCES = sources();
const USED = [...new Set([...SOURCES.values()].flatMap((text) => text.match(/\bCAP_ERR_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []))].sort();

describe('error codes', () => {
  it('finds the codes the source uses', () => {
    expect(USED.length).toBeGreaterThanOrEqual(10);
  });

  it.each(USED)('%s, used in src/, is declared in src/errors.ts and documented in the README table', (code) => {
    expect(Object.keys(ErrorCodes)).toContain(code);
    expect(readmeErrorTable()).toContain(`\`${code}\``);
  });

  it('no log line spells a code in its message: the code is the `code` field', () => {
    const offenders: string[] = [];
    for (const [file, text] of SOURCES) {
      text.split('\n').forEach((line, index) => {
        // log.error({...}, 'CAP_ERR_X: ...') and the like: a code inside the message, the call's last argument.
        if (/\blog\??\.(?:fatal|error|warn|info|debug)\(.*,\s*['"`][^'"`]*CAP_ERR_[^'"`]*['"`]\s*\);?\s*$/.test(line)) offenders.push(`${file}:${index + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it("a log line reports the code given, else the thrown CaptureError's, and a one-line description", () => {
    const thrown = new CaptureError('CAP_ERR_STORE_WRITE', 'insert refused', { problems: ['a', 'b'] });
    expect(errorFields(thrown)).toEqual({ code: 'CAP_ERR_STORE_WRITE', err: 'insert refused' });
    expect(errorFields(thrown, 'CAP_ERR_SPOOL_READ')).toEqual({ code: 'CAP_ERR_SPOOL_READ', err: 'insert refused' });
    expect(errorFields(new Error('EIO'))).toEqual({ err: 'EIO' });
    expect(thrown.problems).toEqual(['a', 'b']);
    expect(new CaptureError('CAP_ERR_WORKER', 'x').problems).toEqual([]);
  });
});
