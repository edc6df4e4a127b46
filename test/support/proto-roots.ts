/**
 * Our own protos (protos/) and Envoy's upstream definitions as shipped in the
 * registry package @grpc/grpc-js-xds (deps/envoy-api with its xds, googleapis
 * and protoc-gen-validate include trees), loaded side by side so tests can
 * prove ours are wire-compatible.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const OUR_PROTOS = path.join(REPO_ROOT, 'protos');
const XDS_DEPS = path.join(REPO_ROOT, 'node_modules', '@grpc', 'grpc-js-xds', 'deps');
export const UPSTREAM_INCLUDES = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(XDS_DEPS, d));

export function loadRoot(entry: string, includeDirs: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    // protobufjs bundles the well-known google/protobuf types (descriptor via its own tree).
    const bundled = path.join(path.dirname(require.resolve('protobufjs/package.json')), target);
    return fs.existsSync(bundled) ? bundled : target;
  };
  root.loadSync(entry, { keepCase: true });
  root.resolveAll();
  return root;
}

/** Every message and enum declared in our own files (not the bundled google ones). */
export function declaredTypes(root: protobuf.Root): Array<protobuf.Type | protobuf.Enum> {
  const out: Array<protobuf.Type | protobuf.Enum> = [];
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) {
        if (nested.fullName.startsWith('.envoy.')) out.push(nested);
      }
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) walk(nested);
    }
  };
  walk(root);
  return out;
}

export interface FieldShape {
  name: string;
  type: string;
  label: string;
  oneof?: string;
}

export function fieldShape(field: protobuf.Field): FieldShape {
  field.resolve();
  const type = field.resolvedType ? field.resolvedType.fullName : field.type;
  const label = field instanceof protobuf.MapField ? `map<${field.keyType}>` : field.repeated ? 'repeated' : 'singular';
  return { name: field.name, type, label, oneof: field.partOf?.name };
}
