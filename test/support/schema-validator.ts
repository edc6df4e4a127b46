// Test helper: validates generated objects against the Envoy Gateway v1.9 and Gateway API
// v1.6 CRDs and the Kubernetes OpenAPI documents kept in ../shared/crds (structure with ajv,
// with unknown fields rejected as the API server would prune them, plus the CRDs'
// x-kubernetes-validations CEL rules). The schemas are read from ../shared at run time and
// never copied into the repository. Built-in kinds without an OpenAPI document there (core/v1,
// apps/v1) are checked by test/deploy/k8s-object-check against the Go API types instead.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { ValidateFunction } from 'ajv';
import { isIP } from 'node:net';
import { CelScalar, celFunc, isCelError, run } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The repository this one was cloned from, when that is a directory on this machine. */
function localOrigin(): string | undefined {
  try {
    const url = execFileSync('git', ['-C', REPO_ROOT, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dir = url.startsWith('file://') ? url.slice('file://'.length) : url;
    return path.isAbsolute(dir) && existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where shared/ is looked for, in order: next to this repository, then next
 * to the local repository it was cloned from (a fresh `git clone . /tmp/x`
 * still finds the CRDs of the working copy it came from).
 */
const ORIGIN = localOrigin();
export const SHARED_DIR_CANDIDATES = [path.resolve(REPO_ROOT, '..', 'shared'), ...(ORIGIN === undefined ? [] : [path.resolve(ORIGIN, '..', 'shared')])];
export const SHARED_DIR = SHARED_DIR_CANDIDATES.find((dir) => existsSync(path.join(dir, 'crds'))) ?? SHARED_DIR_CANDIDATES[0]!;
export const CRD_DIRS = [path.join(SHARED_DIR, 'crds', 'envoy-gateway'), path.join(SHARED_DIR, 'crds', 'gateway-api', 'standard')];
/** Kubernetes OpenAPI v3 documents (one per API group version), e.g. networking.k8s.io/v1. */
export const KUBERNETES_OPENAPI_DIR = path.join(SHARED_DIR, 'crds', 'kubernetes');

/** The Kubernetes CEL library functions the CRDs use that @bufbuild/cel does not ship. */
const KUBERNETES_FUNCS = [celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (text: string) => isIP(text) !== 0)];
const CEL_FUNCS = [...strings, ...KUBERNETES_FUNCS];

/** Core kinds that have no CRD; they are checked by the tests themselves. */
export const CORE_KINDS = new Set(['v1 ConfigMap', 'v1 Secret']);

type Schema = Record<string, any>;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? yamlFiles(p) : p.endsWith('.yaml') ? [p] : [];
  });
}

/** Reject unknown fields wherever the schema lists properties (structural pruning would drop them). */
function close(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(close);
  if (!schema || typeof schema !== 'object') return;
  const s = schema as Schema;
  if (s.type === 'object' && s.properties && s.additionalProperties === undefined && !s['x-kubernetes-preserve-unknown-fields']) {
    s.additionalProperties = false;
  }
  for (const value of Object.values(s)) close(value);
}

/**
 * The OpenAPI documents spell IntOrString as a string with format int-or-string (the API
 * server accepts both); ajv needs it said.
 */
function intOrString(schema: unknown): void {
  if (Array.isArray(schema)) return schema.forEach(intOrString);
  if (!schema || typeof schema !== 'object') return;
  const s = schema as Schema;
  if (s.format === 'int-or-string') {
    delete s.type;
    s.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  for (const value of Object.values(s)) intOrString(value);
}

/** Fill in the schema's `default`s where the object leaves a field out, as the API server does. */
function withDefaults(schema: Schema | undefined, value: any): any {
  if (!schema || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return schema.items ? value.map((item) => withDefaults(schema.items, item)) : value;
  for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    if (value[key] === undefined && child.default !== undefined) value[key] = structuredClone(child.default);
    if (value[key] !== undefined) value[key] = withDefaults(child, value[key]);
  }
  return value;
}

function toCel(value: unknown): any {
  if (Array.isArray(value)) return value.map(toCel);
  if (value && typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value;
}

export interface ValidationReport {
  /** "Kind/name: message" lines; empty when valid. */
  errors: string[];
  celRulesEvaluated: number;
}

export class CrdValidator {
  private readonly schemas = new Map<string, Schema>();
  /** Built-in kinds from the Kubernetes OpenAPI documents: `apiVersion kind` -> ajv reference. */
  private readonly builtIn = new Map<string, string>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

  /** Throws with a clear message when ../shared/crds is missing. */
  static load(): CrdValidator {
    const missing = CRD_DIRS.filter((d) => !existsSync(d));
    if (missing.length > 0) {
      throw new Error(
        `CRD schemas not found: ${missing.join(', ')} (looked for shared/ in ${SHARED_DIR_CANDIDATES.join(', ')}). ` +
          'The CRD validation tests need shared/crds next to the repository or next to the local repository it was cloned from ' +
          '(Envoy Gateway v1.9 and Gateway API v1.6 CRDs); they refuse to pass without them.',
      );
    }
    const validator = new CrdValidator();
    for (const dir of CRD_DIRS) {
      for (const file of yamlFiles(dir)) {
        for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
          const crd = doc.toJS();
          if (!crd || crd.kind !== 'CustomResourceDefinition') continue;
          for (const version of crd.spec.versions) {
            if (!version.served) continue;
            validator.schemas.set(`${crd.spec.group}/${version.name} ${crd.spec.names.kind}`, version.schema.openAPIV3Schema);
          }
        }
      }
    }
    if (existsSync(KUBERNETES_OPENAPI_DIR)) {
      for (const file of readdirSync(KUBERNETES_OPENAPI_DIR).filter((name) => name.endsWith('.json'))) {
        const document = JSON.parse(readFileSync(path.join(KUBERNETES_OPENAPI_DIR, file), 'utf8')) as Schema;
        const schemas = document.components?.schemas as Record<string, Schema> | undefined;
        if (!schemas) continue;
        close(schemas);
        intOrString(schemas);
        validator.ajv.addSchema({ components: { schemas } }, file);
        for (const [name, schema] of Object.entries(schemas)) {
          for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
            const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
            // Only top-level kinds carry apiVersion and kind; DeleteOptions and the like are listed under every group.
            if (schema.properties?.apiVersion && schema.properties?.metadata) validator.builtIn.set(`${apiVersion} ${gvk.kind}`, `${file}#/components/schemas/${name}`);
          }
        }
      }
    }
    return validator;
  }

  hasSchema(apiVersion: string, kind: string): boolean {
    return this.schemas.has(`${apiVersion} ${kind}`) || this.builtIn.has(`${apiVersion} ${kind}`);
  }

  validate(object: Record<string, any>): ValidationReport {
    const key = `${object.apiVersion} ${object.kind}`;
    const label = `${object.kind}/${object.metadata?.name}`;
    const builtIn = this.builtIn.get(key);
    if (builtIn !== undefined) return { errors: this.validateBuiltIn(key, builtIn, object, label), celRulesEvaluated: 0 };
    const schema = this.schemas.get(key);
    if (!schema) {
      return { errors: CORE_KINDS.has(key) ? [] : [`${label}: no served CRD version for ${key}`], celRulesEvaluated: 0 };
    }
    let validate = this.validators.get(key);
    if (!validate) {
      const copy = structuredClone(schema);
      delete copy.properties?.metadata; // metadata is validated by the API server, not the CRD
      close(copy);
      validate = this.ajv.compile(copy);
      this.validators.set(key, validate);
    }
    const { metadata, ...rest } = object;
    void metadata;
    const errors: string[] = [];
    if (!validate(rest)) {
      for (const e of validate.errors ?? []) errors.push(`${label}: ${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
    }
    const counter = { evaluated: 0 };
    // The API server defaults before it evaluates CEL (a backendRef's group "" and kind Service).
    this.checkCel(schema, withDefaults(schema, structuredClone(rest)), '', label, errors, counter);
    return { errors, celRulesEvaluated: counter.evaluated };
  }

  /** Built-in kinds are validated whole, metadata included (ObjectMeta is in the document). */
  private validateBuiltIn(key: string, ref: string, object: Record<string, any>, label: string): string[] {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(key, validate);
    }
    if (validate(object)) return [];
    return (validate.errors ?? []).map((e) => `${label}: ${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
  }

  private checkCel(schema: Schema | undefined, value: unknown, at: string, label: string, errors: string[], counter: { evaluated: number }): void {
    if (!schema || value === undefined || value === null) return;
    for (const rule of schema['x-kubernetes-validations'] ?? []) {
      if (String(rule.rule).includes('oldSelf')) continue; // transition rules need a previous object
      counter.evaluated += 1;
      const result = run(rule.rule, { self: toCel(value) }, { funcs: CEL_FUNCS });
      if (isCelError(result)) errors.push(`${label}: ${at || '/'}: CEL rule could not be evaluated (${result.message}): ${rule.rule}`);
      else if (result !== true) errors.push(`${label}: ${at || '/'}: ${rule.message ?? rule.rule}`);
    }
    if (schema.properties && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, s] of Object.entries(schema.properties)) this.checkCel(s as Schema, (value as any)[k], `${at}/${k}`, label, errors, counter);
    }
    if (schema.items && Array.isArray(value)) value.forEach((item, i) => this.checkCel(schema.items, item, `${at}/${i}`, label, errors, counter));
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object' && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) this.checkCel(schema.additionalProperties, v, `${at}/${k}`, label, errors, counter);
    }
  }
}

/** Validate every document of a YAML text; returns all errors and the CEL rule count. */
export function validateYamlText(validator: CrdValidator, text: string): ValidationReport {
  const report: ValidationReport = { errors: [], celRulesEvaluated: 0 };
  for (const doc of parseAllDocuments(text)) {
    const object = doc.toJS();
    if (!object) continue;
    const one = validator.validate(object);
    report.errors.push(...one.errors);
    report.celRulesEvaluated += one.celRulesEvaluated;
  }
  return report;
}
