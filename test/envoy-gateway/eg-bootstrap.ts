/**
 * A static Envoy bootstrap from Envoy Gateway's xDS (egctl's listeners,
 * clusters, routes and endpoints), so the real Envoy runs what Envoy Gateway
 * would have pushed to it, without Kubernetes and without an xDS server.
 *
 * Only what a static bootstrap on one host needs is changed, and the changes
 * are listed for the test to check nothing else moved:
 * - what Envoy Gateway serves over ADS is inlined: each HTTP connection
 *   manager's RDS becomes its route configuration, each EDS cluster gets its
 *   ClusterLoadAssignment, and each SDS reference names a static secret;
 * - the resources lose the type URL the config dump gives them;
 * - listeners bind 127.0.0.1 port 0 (Envoy Gateway's 0.0.0.0 and fixed ports
 *   would clash and open the proxy beyond loopback);
 * - endpoints the test names move to loopback ports (the capture Service's
 *   ClusterIP, the certificate minter's cluster DNS name).
 */
import type { Json } from './eg-translation';

export interface StaticSecret {
  name: string;
  /** Envoy's Secret JSON without the name (tlsCertificate or validationContext). */
  secret: Json;
}

export interface BootstrapInputs {
  listeners: Json[];
  clusters: Json[];
  routes: Json[];
  endpoints: Json[];
  secrets: StaticSecret[];
  /** Endpoint address (host or IP, as in the xDS) and port -> where it is on loopback. */
  moveEndpoint(address: string, port: number): number | undefined;
}

function isAds(source: unknown): boolean {
  return typeof source === 'object' && source !== null && 'ads' in (source as Json);
}

/** Every SDS reference (`{name, sdsConfig: {ads}}`) to a static secret of that name. */
function staticSecretRefs(value: unknown): void {
  if (Array.isArray(value)) value.forEach(staticSecretRefs);
  else if (value !== null && typeof value === 'object') {
    const node = value as Json;
    if (typeof node.name === 'string' && isAds(node.sdsConfig)) delete node.sdsConfig;
    Object.values(node).forEach(staticSecretRefs);
  }
}

/** RDS (over ADS) to the inline route configuration of that name. */
function inlineRoutes(value: unknown, routes: Map<string, Json>): void {
  if (Array.isArray(value)) value.forEach((v) => inlineRoutes(v, routes));
  else if (value !== null && typeof value === 'object') {
    const node = value as Json;
    if (node.rds && isAds(node.rds.configSource)) {
      const config = routes.get(node.rds.routeConfigName);
      if (!config) throw new Error(`no route configuration ${node.rds.routeConfigName} in Envoy Gateway's output`);
      delete node.rds;
      node.routeConfig = structuredClone(config);
    }
    Object.values(node).forEach((v) => inlineRoutes(v, routes));
  }
}

function moveAddresses(value: unknown, move: BootstrapInputs['moveEndpoint']): void {
  if (Array.isArray(value)) value.forEach((v) => moveAddresses(v, move));
  else if (value !== null && typeof value === 'object') {
    const node = value as Json;
    const socket = node.socketAddress;
    if (socket && typeof socket.address === 'string' && typeof socket.portValue === 'number') {
      const port = move(socket.address, socket.portValue);
      if (port !== undefined) node.socketAddress = { ...socket, address: '127.0.0.1', portValue: port };
    }
    Object.values(node).forEach((v) => moveAddresses(v, move));
  }
}

/** A resource as the bootstrap embeds it: without the Any's type URL the config dump gave it. */
function untyped(resource: Json): Json {
  const { ['@type']: _type, ...rest } = structuredClone(resource);
  return rest;
}

export function staticBootstrap(inputs: BootstrapInputs): Json {
  inputs = { ...inputs, listeners: inputs.listeners.map(untyped), clusters: inputs.clusters.map(untyped), routes: inputs.routes.map(untyped), endpoints: inputs.endpoints.map(untyped) };
  const routes = new Map(inputs.routes.map((r) => [r.name as string, r]));
  const endpoints = new Map(inputs.endpoints.map((e) => [e.clusterName as string, e]));
  const listeners = inputs.listeners.map((original) => {
    const listener = structuredClone(original);
    listener.address = { socketAddress: { address: '127.0.0.1', portValue: 0 } };
    inlineRoutes(listener, routes);
    staticSecretRefs(listener);
    return listener;
  });
  const clusters = inputs.clusters.map((original) => {
    const cluster = structuredClone(original);
    if (cluster.type === 'EDS') {
      const assignment = endpoints.get(cluster.edsClusterConfig?.serviceName ?? cluster.name);
      if (!assignment) throw new Error(`no endpoints for EDS cluster ${cluster.name} in Envoy Gateway's output`);
      delete cluster.edsClusterConfig;
      cluster.type = 'STATIC';
      cluster.loadAssignment = structuredClone(assignment);
    }
    moveAddresses(cluster.loadAssignment, inputs.moveEndpoint);
    staticSecretRefs(cluster);
    return cluster;
  });
  return {
    node: { id: 'egress-capture-test', cluster: 'egress-capture-test' },
    admin: { address: { socketAddress: { address: '127.0.0.1', portValue: 0 } } },
    staticResources: {
      listeners,
      clusters,
      secrets: inputs.secrets.map((s) => ({ name: s.name, ...s.secret })),
    },
  };
}
