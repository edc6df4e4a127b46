// Golden tests: each test/fixtures/translator/<case>/in.yaml is translated through the command
// (stdin) and compared with out.yaml. Run with UPDATE_GOLDEN=1 to rewrite the out.yaml files,
// then review the diff. Every Envoy Gateway output must also pass the CRD schema and CEL checks.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CrdValidator, REPO_ROOT, validateYamlText } from '../support/schema-validator';
import { fixtureArgs, runTranslate } from './run-command';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'translator');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('translator golden files', () => {
  it('finds the fixtures from the compiled test location', () => {
    expect(existsSync(path.join(REPO_ROOT, 'package.json'))).toBe(true);
    expect(cases.length).toBeGreaterThanOrEqual(6);
  });

  let validator: CrdValidator;
  beforeAll(() => {
    validator = CrdValidator.load();
  });

  it.each(cases)('%s', async (name) => {
    const dir = path.join(FIXTURES, name);
    const input = readFileSync(path.join(dir, 'in.yaml'), 'utf8');
    const args = fixtureArgs(input);
    const run = await runTranslate([...args, '-f', '-'], input);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    const outFile = path.join(dir, 'out.yaml');
    if (UPDATE) writeFileSync(outFile, run.stdout);
    expect(run.stdout).toBe(readFileSync(outFile, 'utf8'));
    if (!args.includes('envoy')) {
      const report = validateYamlText(validator, run.stdout);
      expect(report.errors).toEqual([]);
      expect(report.celRulesEvaluated).toBeGreaterThan(0);
    }
  });
});
