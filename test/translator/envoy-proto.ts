// Test helper: strict decoding of Envoy JSON/YAML configuration into Envoy's protobuf messages
// using the API protos shipped with @grpc/grpc-js-xds. Unlike protobufjs' fromObject, every
// unknown field, wrong type or unknown enum value is an error, and every typed Any is decoded
// with the type its "@type" names, so a misspelt field anywhere fails.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';

const DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const INCLUDE = [
  ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d)),
  // google/protobuf/descriptor.proto (for option annotations) ships with protobufjs.
  path.dirname(require.resolve('protobufjs/package.json')),
];

function findInclude(origin: string, target: string): string | undefined {
  if (path.isAbsolute(target) && existsSync(target)) return target;
  // protobufjs hands imports over already joined to the importing file's directory.
  const relative = INCLUDE.map((d) => path.relative(d, target)).find((r) => !r.startsWith('..') && !path.isAbsolute(r));
  if (relative) target = relative;
  void origin;
  for (const dir of INCLUDE) {
    const candidate = path.join(dir, target);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export class EnvoyProtos {
  readonly root = new protobuf.Root();

  constructor() {
    this.root.resolvePath = (origin, target) => findInclude(origin, target) ?? protobuf.util.path.resolve(origin, target);
    this.loadPackage('envoy.config.bootstrap.v3');
  }

  /** Load every .proto of a package directory (e.g. envoy.extensions.filters.http.router.v3). */
  loadPackage(pkg: string): boolean {
    const rel = pkg.split('.').join('/');
    const dir = INCLUDE.map((d) => path.join(d, rel)).find((d) => existsSync(d));
    if (!dir) return false;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.proto'))
      .map((f) => path.join(rel, f));
    this.root.loadSync(files, { keepCase: true });
    this.root.resolveAll();
    return true;
  }

  lookupType(fullName: string): protobuf.Type | undefined {
    try {
      return this.root.lookupType(fullName);
    } catch {
      const pkg = fullName.split('.').slice(0, -1);
      // Nested messages live in their parent's package directory.
      while (pkg.length > 0 && !this.loadPackage(pkg.join('.'))) pkg.pop();
      try {
        return this.root.lookupType(fullName);
      } catch {
        return undefined;
      }
    }
  }
}

const DURATION = /^-?\d+(\.\d{1,9})?s$/;

export class StrictDecoder {
  readonly errors: string[] = [];
  /** Every "@type" resolved, to prove the typed configs were really checked. */
  readonly anyTypes = new Set<string>();

  constructor(private readonly protos: EnvoyProtos) {}

  decode(typeName: string, json: unknown): Uint8Array | undefined {
    const type = this.protos.lookupType(typeName);
    if (!type) {
      this.errors.push(`${typeName}: type not found`);
      return undefined;
    }
    const value = this.message(type, json, '');
    if (this.errors.length > 0) return undefined;
    const problem = type.verify(value);
    if (problem) {
      this.errors.push(`${typeName}: ${problem}`);
      return undefined;
    }
    return type.encode(type.fromObject(value)).finish();
  }

  private fail(at: string, message: string): undefined {
    this.errors.push(`${at || '/'}: ${message}`);
    return undefined;
  }

  private message(type: protobuf.Type, json: unknown, at: string): any {
    switch (type.fullName) {
      case '.google.protobuf.Any': {
        const body = json as Record<string, unknown>;
        const url = body?.['@type'];
        if (typeof url !== 'string') return this.fail(at, 'Any without "@type"');
        const name = url.replace(/^type\.googleapis\.com\//, '');
        const inner = this.protos.lookupType(name);
        if (!inner) return this.fail(at, `unknown @type ${url}`);
        this.anyTypes.add(name);
        const { ['@type']: _drop, ...rest } = body;
        void _drop;
        const value = this.message(inner, rest, `${at}<${name}>`);
        return { type_url: url, value: inner.encode(inner.fromObject(value ?? {})).finish() };
      }
      case '.google.protobuf.Duration': {
        if (typeof json !== 'string' || !DURATION.test(json)) return this.fail(at, `not a protobuf Duration: ${JSON.stringify(json)}`);
        const seconds = Number.parseFloat(json);
        return { seconds: Math.trunc(seconds), nanos: Math.round((seconds - Math.trunc(seconds)) * 1e9) };
      }
      case '.google.protobuf.Struct':
        return { fields: Object.fromEntries(Object.entries(json as object).map(([k, v]) => [k, this.structValue(v)])) };
      case '.google.protobuf.Value':
        return this.structValue(json);
      case '.google.protobuf.BoolValue':
      case '.google.protobuf.UInt32Value':
      case '.google.protobuf.UInt64Value':
      case '.google.protobuf.Int32Value':
      case '.google.protobuf.Int64Value':
      case '.google.protobuf.DoubleValue':
      case '.google.protobuf.StringValue':
        return { value: this.scalar(type.fields.value, json, at) };
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return this.fail(at, `${type.fullName} must be an object`);
    const out: Record<string, unknown> = {};
    const oneofsSeen = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.options?.json_name === key);
      const here = `${at}/${key}`;
      if (!field) {
        this.fail(here, `unknown field in ${type.fullName}`);
        continue;
      }
      if (field.partOf) {
        const other = oneofsSeen.get(field.partOf.name);
        if (other) this.fail(here, `oneof ${field.partOf.name} already set by ${other}`);
        oneofsSeen.set(field.partOf.name, key);
      }
      field.resolve();
      if (field.map) {
        out[field.name] = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, this.fieldValue(field, v, `${here}/${k}`)]));
      } else if (field.repeated) {
        if (!Array.isArray(value)) {
          this.fail(here, 'must be a list');
          continue;
        }
        out[field.name] = value.map((item, i) => this.fieldValue(field, item, `${here}/${i}`));
      } else {
        out[field.name] = this.fieldValue(field, value, here);
      }
    }
    return out;
  }

  private structValue(v: unknown): any {
    if (v === null) return { nullValue: 0 };
    if (Array.isArray(v)) return { listValue: { values: v.map((x) => this.structValue(x)) } };
    if (typeof v === 'object') return { structValue: { fields: Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, this.structValue(x)])) } };
    if (typeof v === 'number') return { numberValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    return { stringValue: String(v) };
  }

  private fieldValue(field: protobuf.Field, value: unknown, at: string): unknown {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, at);
    if (resolved instanceof protobuf.Enum) {
      if (typeof value === 'string' && value in resolved.values) return resolved.values[value];
      if (typeof value === 'number' && Object.values(resolved.values).includes(value)) return value;
      return this.fail(at, `${JSON.stringify(value)} is not a value of ${resolved.fullName}`);
    }
    return this.scalar(field, value, at);
  }

  private scalar(field: protobuf.Field, value: unknown, at: string): unknown {
    switch (field.type) {
      case 'string':
        return typeof value === 'string' ? value : this.fail(at, `must be a string, got ${JSON.stringify(value)}`);
      case 'bool':
        return typeof value === 'boolean' ? value : this.fail(at, `must be a boolean, got ${JSON.stringify(value)}`);
      case 'bytes':
        return typeof value === 'string' ? Buffer.from(value, 'base64') : this.fail(at, 'must be base64 text');
      case 'double':
      case 'float':
        return typeof value === 'number' ? value : this.fail(at, `must be a number, got ${JSON.stringify(value)}`);
      default: {
        // Integer kinds; 64-bit ones may be written as strings in JSON.
        const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isInteger(n)) return this.fail(at, `must be an integer, got ${JSON.stringify(value)}`);
        if (field.type.startsWith('uint') && n < 0) return this.fail(at, 'must not be negative');
        return n;
      }
    }
  }
}

/**
 * The shipped protos predate Envoy 1.37's on-demand certificate selector. Declare exactly that
 * field and its two extension messages (from data-plane-api's
 * transport_sockets/tls/v3/tls.proto and cert_selectors/on_demand_secret, cert_mappers/sni),
 * so the rest of the bootstrap is still checked strictly and these parts are checked too.
 */
export function addNewerEnvoyApis(protos: EnvoyProtos): string[] {
  const root = protos.root;
  const common = protos.lookupType('envoy.extensions.transport_sockets.tls.v3.CommonTlsContext')!;
  if (!common.fields.custom_tls_certificate_selector) {
    common.add(new protobuf.Field('custom_tls_certificate_selector', 16, 'envoy.config.core.v3.TypedExtensionConfig'));
  }
  protos.lookupType('envoy.config.core.v3.ConfigSource');
  const selector = new protobuf.Type('Config')
    .add(new protobuf.Field('config_source', 1, 'envoy.config.core.v3.ConfigSource'))
    .add(new protobuf.Field('certificate_mapper', 2, 'envoy.config.core.v3.TypedExtensionConfig'))
    // Fields 4 and 5 (max_secrets, cache_idle_timeout) came after Envoy 1.40: the tested
    // versions reject them, so they are left out here too.
    .add(new protobuf.Field('prefetch_secret_names', 3, 'string', 'repeated'));
  root.define('envoy.extensions.transport_sockets.tls.cert_selectors.on_demand_secret.v3').add(selector);
  root.define('envoy.extensions.transport_sockets.tls.cert_mappers.sni.v3').add(new protobuf.Type('SNI').add(new protobuf.Field('default_value', 1, 'string')));
  root.resolveAll();
  return [
    'envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.custom_tls_certificate_selector',
    'envoy.extensions.transport_sockets.tls.cert_selectors.on_demand_secret.v3.Config',
    'envoy.extensions.transport_sockets.tls.cert_mappers.sni.v3.SNI',
  ];
}
