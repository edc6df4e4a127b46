/**
 * Envoy Gateway's own translation of the translator's output: the objects
 * `translate` printed, plus what the cluster would hold beside them (the
 * Secrets, ConfigMaps and Services they name), through `egctl x translate
 * --from gateway-api --to gateway-api,xds`. egctl runs Envoy Gateway's Gateway
 * API translator with extensionApis.enableBackend and enableEnvoyPatchPolicy on,
 * the EnvoyGateway settings deploy/README.md tells operators to use, and then its
 * xDS translator, which applies the EnvoyPatchPolicies (a patch that fails to
 * apply fails the command; one whose resource name matches nothing is only
 * noted in a status egctl does not print, so the checks look the names up).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { makeTestPki } from '../support/test-certificates';

const run = promisify(execFile);

export type Json = Record<string, any>;

/** What the cluster holds beside the translated objects (made up, but real enough for Envoy Gateway to read). */
export interface ClusterWorld {
  /** What every kubernetes.io/tls Secret the objects name holds (a CA: a listener's caCertRef names one). */
  certificatePem: string;
  keyPem: string;
  /** The ClusterIP given to every Service the objects name. */
  serviceIp: string;
}

/** A world whose Secrets hold a fresh test CA (in `dir`). */
export function makeClusterWorld(dir: string): ClusterWorld {
  const pki = makeTestPki(dir);
  return { certificatePem: pki.pem('ca.pem').toString(), keyPem: pki.pem('ca.key').toString(), serviceIp: CLUSTER_IP };
}

export const CLUSTER_IP = '10.96.7.7';

interface Reference {
  kind: 'Secret' | 'ConfigMap' | 'Service';
  namespace: string;
  name: string;
  port?: number;
}

/** Every Secret, ConfigMap and Service an object refers to (`{kind, name[, namespace][, port]}` anywhere in it). */
function references(value: unknown, namespace: string, found: Reference[] = [], backendRef = false): Reference[] {
  if (Array.isArray(value)) {
    for (const item of value) references(item, namespace, found, backendRef);
  } else if (value !== null && typeof value === 'object') {
    const node = value as Json;
    // A route's backendRef without a kind names a Service (Gateway API's default).
    const kind = node.kind ?? (backendRef ? 'Service' : undefined);
    if (['Secret', 'ConfigMap', 'Service'].includes(kind) && typeof node.name === 'string' && (node.group ?? '') === '') {
      found.push({ kind, namespace: node.namespace ?? namespace, name: node.name, ...(typeof node.port === 'number' ? { port: node.port } : {}) });
    }
    for (const [key, child] of Object.entries(node)) references(child, namespace, found, key === 'backendRefs');
  }
  return found;
}

/** The Secrets (TLS: the test CA), ConfigMaps (ca.crt) and Services (a ClusterIP and the named ports) the objects name but do not contain. */
export function supportingObjects(objects: Json[], world: ClusterWorld): Json[] {
  const present = new Set(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`));
  const made = new Map<string, Json>();
  const ca = world.certificatePem;
  const caKey = world.keyPem;
  for (const object of objects) {
    for (const ref of references(object.spec ?? {}, object.metadata.namespace ?? 'default')) {
      const key = `${ref.kind}/${ref.namespace}/${ref.name}`;
      if (present.has(key)) continue;
      const metadata = { name: ref.name, namespace: ref.namespace };
      if (ref.kind === 'Secret') {
        // `data`, as the API server stores it: Envoy Gateway reads no stringData.
        const data = { 'tls.crt': Buffer.from(ca).toString('base64'), 'tls.key': Buffer.from(caKey).toString('base64') };
        made.set(key, { apiVersion: 'v1', kind: 'Secret', metadata, type: 'kubernetes.io/tls', data });
      } else if (ref.kind === 'ConfigMap') {
        made.set(key, { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { 'ca.crt': ca } });
      } else {
        const service = made.get(key) ?? { apiVersion: 'v1', kind: 'Service', metadata, spec: { clusterIP: world.serviceIp, ports: [] } };
        const ports: Json[] = service.spec.ports;
        // A UDPRoute's Service serves UDP on the port; everything else here is TCP.
        const protocol = object.kind === 'UDPRoute' ? 'UDP' : 'TCP';
        if (ref.port !== undefined && !ports.some((p) => p.port === ref.port && p.protocol === protocol)) {
          ports.push({ name: `${protocol.toLowerCase()}-${ref.port}`, port: ref.port, protocol });
        }
        made.set(key, service);
      }
    }
  }
  return [...made.values()];
}

export interface EgTranslation {
  /** The Gateway API and Envoy Gateway objects with the status Envoy Gateway gave them, by kind as egctl prints them (gateways, httpRoutes ...). */
  resources: Json;
  /** The gateway's xDS, as Envoy's config dump JSON (camelCase field names). */
  listeners: Json[];
  clusters: Json[];
  routes: Json[];
  endpoints: Json[];
  /** The input egctl read (for a failing check to show). */
  input: string;
}

/** The one gateway's xDS (egctl keys it "<namespace>/<gateway>"). */
function configDump(xds: Json): { listeners: Json[]; clusters: Json[]; routes: Json[]; endpoints: Json[] } {
  const keys = Object.keys(xds ?? {});
  if (keys.length !== 1) throw new Error(`expected the xDS of one gateway, egctl produced ${keys.length}: ${keys.join(', ')}`);
  const configs: Json[] = xds[keys[0]!].configs;
  const of = (type: string): Json => configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`) ?? {};
  return {
    listeners: (of('ListenersConfigDump').dynamicListeners ?? []).map((l: Json) => l.activeState.listener),
    clusters: (of('ClustersConfigDump').dynamicActiveClusters ?? []).map((c: Json) => c.cluster),
    routes: (of('RoutesConfigDump').dynamicRouteConfigs ?? []).map((r: Json) => r.routeConfig),
    endpoints: (of('EndpointsConfigDump').dynamicEndpointConfigs ?? []).map((e: Json) => e.endpointConfig),
  };
}

/** The translator's YAML output plus the supporting objects through egctl; throws with egctl's complaint when it fails. */
export async function egTranslate(egctl: string, translated: string, world: ClusterWorld): Promise<EgTranslation> {
  const objects = parseAllDocuments(translated)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null && typeof o === 'object');
  const input = [...objects, ...supportingObjects(objects, world)].map((o) => stringify(o)).join('---\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egctl-translate-'));
  const file = path.join(dir, 'input.yaml');
  fs.writeFileSync(file, input);
  try {
    const { stdout } = await run(egctl, ['x', 'translate', '--from', 'gateway-api', '--to', 'gateway-api,xds', '--output', 'json', '--file', file], {
      maxBuffer: 256 * 1024 * 1024,
    });
    const result = JSON.parse(stdout) as Json;
    const { xds, ...resources } = result;
    return { resources, ...configDump(xds), input };
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`egctl x translate failed: ${failed.stderr || failed.message}`, { cause: error });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
