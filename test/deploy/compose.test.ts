/**
 * deploy/docker-compose.yaml runs the standalone Envoy bootstrap next to the
 * capture service: the committed bootstrap is what `translate --target envoy`
 * prints for the example, and the compose file's names, paths and ports are the
 * ones that bootstrap and the capture service use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { loadGatewayCaptureSettings } from '../../src/gateway';
import { ENVOY_VERSIONS } from '../envoy/envoy-install';
import { runTranslate } from '../translator/run-command';
import { DEPLOY_DIR } from './render';

const COMPOSE_FILE = path.join(DEPLOY_DIR, 'docker-compose.yaml');
const EXAMPLE = path.join(DEPLOY_DIR, 'examples', 'egress-gateway.yaml');
const BOOTSTRAP = path.join(DEPLOY_DIR, 'examples', 'egress-gateway.envoy.yaml');

type Json = Record<string, any>;
const compose = parse(fs.readFileSync(COMPOSE_FILE, 'utf8')) as Json;
const capture = compose.services['egress-capture'] as Json;
const envoy = compose.services.envoy as Json;

/** "HOST_PATH:CONTAINER_PATH[:ro]" of a service, host paths resolved against the compose file's folder. */
function bindMounts(service: Json): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const volume of service.volumes as string[]) {
    const [source, target] = volume.split(':');
    if (source!.startsWith('.')) mounts.set(target!, path.resolve(DEPLOY_DIR, source!));
  }
  return mounts;
}

function clusterAddresses(bootstrap: Json): Map<string, { address: string; port: number }> {
  const byName = new Map<string, { address: string; port: number }>();
  for (const cluster of bootstrap.static_resources.clusters as Json[]) {
    const socket = cluster.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address?.socket_address;
    if (socket) byName.set(cluster.name, { address: socket.address, port: socket.port_value });
  }
  return byName;
}

test('the committed bootstrap is what translate --target envoy prints for the example', async () => {
  const run = await runTranslate(['--target', 'envoy', '-f', EXAMPLE]);
  expect(run.code).toBe(0);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(BOOTSTRAP, run.stdout);
  expect(run.stdout).toBe(fs.readFileSync(BOOTSTRAP, 'utf8'));
});

test('Envoy runs that bootstrap, publishes its listener ports, and is a version the project tests', () => {
  const configPath = envoy.command[envoy.command.indexOf('-c') + 1];
  expect(bindMounts(envoy).get(configPath)).toBe(BOOTSTRAP);
  const bootstrap = parse(fs.readFileSync(BOOTSTRAP, 'utf8')) as Json;
  const listenerPorts = (bootstrap.static_resources.listeners as Json[]).map((l) => l.address.socket_address.port_value).sort();
  const published = (envoy.ports as string[]).map((p) => Number(p.split(':').pop())).sort();
  expect(published).toEqual(listenerPorts);
  // Published on loopback only: an open forward proxy relays anyone's traffic.
  expect((envoy.ports as string[]).every((p) => p.startsWith('127.0.0.1:'))).toBe(true);
  expect(ENVOY_VERSIONS).toContain(/:v([\d.]+)$/.exec(envoy.image)![1]);
});

test("the capture service is where the bootstrap's ext_proc cluster dials, and reads the gateway the bootstrap names", () => {
  const bootstrap = parse(fs.readFileSync(BOOTSTRAP, 'utf8')) as Json;
  const clusters = clusterAddresses(bootstrap);
  const extProc = [...clusters.values()].filter((c) => c.address === 'egress-capture');
  expect(extProc.length).toBeGreaterThan(0);
  // The compose service name is the host name; the gRPC listener's port is the cluster's port.
  expect(Object.keys(compose.services)).toContain('egress-capture');
  const grpcPort = Number(String(capture.environment.EGRESS_CAPTURE_GRPC_LISTEN).split(':').pop());
  expect(extProc.map((c) => c.port)).toContain(grpcPort);

  const gatewayFile = bindMounts(capture).get(capture.environment.EGRESS_CAPTURE_GATEWAY);
  expect(gatewayFile).toBe(EXAMPLE);
  const settings = loadGatewayCaptureSettings(gatewayFile!);
  expect(fs.readFileSync(BOOTSTRAP, 'utf8')).toContain(`value: ${settings.gatewayNamespace}/${settings.gatewayName}`);
  expect(fs.existsSync(path.resolve(DEPLOY_DIR, capture.env_file))).toBe(true);
  expect(capture.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
});
