// The CRD validator must catch what the API server would reject, or the golden checks mean nothing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { CRD_DIRS, CrdValidator, REPO_ROOT, SHARED_DIR_CANDIDATES, validateYamlText } from '../support/schema-validator';

const WORKED = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'translator', 'worked-example', 'out.yaml'), 'utf8');

function mutate(kind: string, change: (o: any) => void): string {
  return parseAllDocuments(WORKED)
    .map((d) => d.toJS())
    .map((o) => {
      if (o.kind === kind) change(o);
      return stringify(o);
    })
    .join('---\n');
}

describe('CRD validator', () => {
  it('reads the CRDs from shared/crds beside the repository (or beside the one it was cloned from) and fails loudly without them', () => {
    // Make the dependency visible in the test report rather than skipping.
    expect(SHARED_DIR_CANDIDATES[0]).toBe(path.resolve(REPO_ROOT, '..', 'shared'));
    expect(CRD_DIRS.every((d) => SHARED_DIR_CANDIDATES.some((candidate) => d.startsWith(candidate)))).toBe(true);
    expect(() => CrdValidator.load()).not.toThrow();
  });

  const validator = (() => {
    try {
      return CrdValidator.load();
    } catch {
      return undefined;
    }
  })();

  it.each([
    ['misspelt field', 'EnvoyExtensionPolicy', (o: any) => (o.spec.extProc[0].shadowMod = true), /shadowMod/],
    ['bad enum', 'BackendTrafficPolicy', (o: any) => (o.spec.dns.lookupFamily = 'V4Preferred'), /lookupFamily/],
    ['CEL rule', 'EnvoyExtensionPolicy', (o: any) => o.spec.extProc[0].processingMode.request && (o.spec.extProc[0].processingMode.request.body = 'Buffered'), /EnvoyExtensionPolicy/],
    ['bad duration', 'HTTPRoute', (o: any) => o.spec.rules[0].timeouts && (o.spec.rules[0].timeouts.request = '10 minutes'), /timeouts/],
  ])('rejects a %s', (_name, kind, change, expected) => {
    if (!validator) throw new Error('CRDs missing: see the first test');
    const report = validateYamlText(validator, mutate(kind, change));
    expect(report.errors.join('\n')).toMatch(expected);
  });
});
