/**
 * Renders the shipped manifests the way a user does (`helm template`,
 * `kustomize build`) with the pinned tools, and checks rendered objects the
 * way the API server would: every object decoded strictly into the Kubernetes
 * Go types (k8s-object-check), and objects with an OpenAPI or CRD schema in
 * shared/crds validated against it as well.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { CrdValidator, REPO_ROOT } from '../support/schema-validator';
import { requireK8sTool, requireObjectCheck } from './k8s-tools-install';

export type KubeObject = Record<string, any> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } & Record<string, any> };

export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');
export const CHART_DIR = path.join(DEPLOY_DIR, 'helm', 'egress-capture');
/** The release name and namespace under which the chart renders what deploy/ does. */
export const RELEASE = { name: 'egress-capture', namespace: 'egress-capture' };

export interface Rendered {
  code: number;
  stdout: string;
  stderr: string;
  objects: KubeObject[];
}

function run(command: string, args: string[]): Rendered {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  const stdout = result.stdout ?? '';
  const code = result.status ?? 1;
  return { code, stdout, stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}`, objects: code === 0 ? parseObjects(stdout) : [] };
}

export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

/** `helm template` of the chart with these values (written to a file, as a user would pass -f). */
export function helmTemplate(values: Record<string, unknown> = {}, release = RELEASE): Rendered {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-values-'));
  try {
    const file = path.join(dir, 'values.yaml');
    fs.writeFileSync(file, stringify(values));
    return run(requireK8sTool('helm'), ['template', release.name, CHART_DIR, '--namespace', release.namespace, '-f', file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function helmLint(values: Record<string, unknown> = {}): Rendered {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-values-'));
  try {
    const file = path.join(dir, 'values.yaml');
    fs.writeFileSync(file, stringify(values));
    return run(requireK8sTool('helm'), ['lint', '--strict', CHART_DIR, '-f', file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function kustomizeBuild(dir = DEPLOY_DIR): Rendered {
  return run(requireK8sTool('kustomize'), ['build', dir]);
}

export interface ObjectCheck {
  /** "apiVersion Kind/name" of every object the strict decoder accepted. */
  decoded: string[];
  /** "apiVersion Kind" of the objects that also had a schema in shared/crds. */
  schemaChecked: string[];
  errors: string[];
}

let validator: CrdValidator | undefined;

/** Strict Go decoding for every object, plus the shared/crds schema where there is one. */
export function checkObjects(objects: KubeObject[]): ObjectCheck {
  validator ??= CrdValidator.load();
  const result = spawnSync(requireObjectCheck(), [], { input: objects.map((o) => stringify(o)).join('---\n'), encoding: 'utf8' });
  const lines = `${result.stdout ?? ''}`.split('\n').filter((line) => line !== '');
  const errors = lines.filter((line) => !line.startsWith('ok ')).concat(result.stderr ? [result.stderr] : []);
  const schemaChecked: string[] = [];
  for (const object of objects) {
    if (!validator.hasSchema(object.apiVersion, object.kind)) continue;
    schemaChecked.push(`${object.apiVersion} ${object.kind}`);
    errors.push(...validator.validate(object).errors);
  }
  return { decoded: lines.filter((line) => line.startsWith('ok ')).map((line) => line.slice(3)), schemaChecked, errors };
}

export function label(object: KubeObject): string {
  return `${object.apiVersion} ${object.kind}/${object.metadata.name}`;
}

export function find(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${objects.map(label).join(', ')}`);
  return found;
}
