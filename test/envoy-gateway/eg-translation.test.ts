/**
 * The translator's Envoy Gateway output, proven by Envoy Gateway itself: every
 * golden case that targets Envoy Gateway (test/fixtures/translator/<case>) and
 * the README example (deploy/examples/egress-gateway.yaml) is translated, then
 * run through egctl's `x translate` (see eg-translation.ts) at every pinned
 * Envoy Gateway release, and the checks read what Envoy Gateway made of it:
 *
 * - no object is refused: every condition Envoy Gateway set is True, and every
 *   route and policy got one;
 * - every EnvoyPatchPolicy patch names a listener or cluster Envoy Gateway
 *   generated (a wrong name is skipped silently and, on a Terminate listener,
 *   HTTPS capture would be off), and each patch's effect is in the output;
 * - ext_proc to the capture service, with the intended processing mode, on every
 *   route the capture policy targets, and on no other route;
 * - the on-demand certificate selector, its SDS cluster, the handshake timeout
 *   and session resumption off on every intercepting Terminate listener;
 * - routes, clusters and listeners carry the timeouts, DNS family, endpoints and
 *   original-destination forwarding the translator asked for.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CAPTURE_ATTRIBUTES } from '../../src/translator/capture-attributes';
import { EG_FAMILY_TO_ENVOY } from '../../src/translator/dns-lookup-family';
import { ANY_SNI_PLACEHOLDER } from '../../src/translator/layer4-route';
import { CAPTURE_MAX_PARALLEL_STREAMS, CERT_SDS_PORT, TLS_HANDSHAKE_TIMEOUT_SECONDS } from '../../src/translator/options';
import { WORKLOAD_METADATA_NAMESPACE } from '../../src/translator/workload-identity';
import { REPO_ROOT } from '../support/schema-validator';
import { fixtureArgs, runTranslate } from '../translator/run-command';
import { EGCTL_VERSIONS, requireEgctl } from './egctl-install';
import { egTranslate, makeClusterWorld, type ClusterWorld, type EgTranslation, type Json } from './eg-translation';
import { connectionManager, durationMs, filterChains, findAll, tcpProxy } from './eg-xds';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'translator');
const EXAMPLE = path.join(REPO_ROOT, 'deploy', 'examples', 'egress-gateway.yaml');

interface Case {
  name: string;
  input: string;
  args: string[];
}

/** Every golden case whose output is for Envoy Gateway, and the README example. */
function cases(): Case[] {
  const fixtures = fs
    .readdirSync(FIXTURES, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const input = fs.readFileSync(path.join(FIXTURES, name, 'in.yaml'), 'utf8');
      return { name: `fixture ${name}`, input, args: fixtureArgs(input) };
    })
    .filter((c) => !c.args.includes('envoy'));
  return [{ name: 'README deploy/examples/egress-gateway.yaml', input: fs.readFileSync(EXAMPLE, 'utf8'), args: [] }, ...fixtures];
}

const CASES = cases();

/** A Gateway API duration ("1h30m", "10s", "500ms") in milliseconds. */
function gatewayDurationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const match of text.matchAll(/(\d+)(ms|h|m|s)/g)) total += Number(match[1]) * units[match[2]!]!;
  return total;
}

/** Every condition Envoy Gateway set on an object, with where it applies. */
function conditions(object: Json): Array<{ where: string; condition: Json }> {
  const status = object.status ?? {};
  return [
    ...(status.conditions ?? []).map((condition: Json) => ({ where: '', condition })),
    ...(status.listeners ?? []).flatMap((l: Json) => l.conditions.map((condition: Json) => ({ where: `listener ${l.name}`, condition }))),
    ...(status.parents ?? []).flatMap((p: Json) => p.conditions.map((condition: Json) => ({ where: `parent ${p.parentRef.name}/${p.parentRef.sectionName ?? ''}`, condition }))),
    ...(status.ancestors ?? []).flatMap((a: Json) => a.conditions.map((condition: Json) => ({ where: `ancestor ${a.ancestorRef.name}/${a.ancestorRef.sectionName ?? ''}`, condition }))),
  ];
}

/** The objects egctl printed back, each with its status. */
function statusObjects(eg: EgTranslation): Json[] {
  return Object.values(eg.resources).flatMap((value) => (Array.isArray(value) ? value : value && typeof value === 'object' && 'metadata' in value ? [value] : []));
}

const PATCH_TYPES: Record<string, keyof Pick<EgTranslation, 'listeners' | 'clusters' | 'routes'>> = {
  'type.googleapis.com/envoy.config.listener.v3.Listener': 'listeners',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'clusters',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'routes',
};

describe.each(EGCTL_VERSIONS.map((v) => [v]))('Envoy Gateway %s translates the translator output', (version) => {
  let world: ClusterWorld;
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eg-translation-'));
    world = makeClusterWorld(dir);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('covers the README example and every Envoy Gateway golden case', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(8);
  });

  describe.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, testCase) => {
    let objects: Json[];
    let eg: EgTranslation;
    let gateway: Json;
    const xdsListener = (name: string): Json => {
      const full = `${gateway.metadata.namespace}/${gateway.metadata.name}/${name}`;
      const listener = eg.listeners.find((l) => l.name === full);
      if (!listener) throw new Error(`Envoy Gateway generated no listener ${full}; it has ${eg.listeners.map((l) => l.name).join(', ')}`);
      return listener;
    };
    const cluster = (name: string): Json => {
      const found = eg.clusters.find((c) => c.name === name);
      if (!found) throw new Error(`Envoy Gateway generated no cluster ${name}; it has ${eg.clusters.map((c) => c.name).join(', ')}`);
      return found;
    };
    /** The socket addresses a cluster's endpoints have, inline or over EDS. */
    const endpointsOf = (c: Json): string[] => {
      const assignment = c.loadAssignment ?? eg.endpoints.find((e) => e.clusterName === (c.edsClusterConfig?.serviceName ?? c.name));
      return findAll(assignment ?? {}, (n) => n.socketAddress !== undefined)
        .map((n) => `${n.socketAddress.address}:${n.socketAddress.portValue}`)
        .sort();
    };
    const ofKind = (kind: string): Json[] => objects.filter((o) => o.kind === kind);

    beforeAll(async () => {
      const run = await runTranslate([...testCase.args, '-f', '-'], testCase.input);
      expect(run.code).toBe(0);
      objects = parseAllDocuments(run.stdout)
        .map((d) => d.toJS() as Json | null)
        .filter((o): o is Json => o !== null && typeof o === 'object');
      const gateways = ofKind('Gateway');
      // egctl reads one EnvoyProxy per input: one gateway per case keeps its parametersRef honest.
      expect(gateways).toHaveLength(1);
      gateway = gateways[0]!;
      eg = await egTranslate(requireEgctl(version), run.stdout, world);
    }, 120_000);

    it('accepts every object: no condition Envoy Gateway set is False, and every route and policy has one', () => {
      const notTrue = statusObjects(eg).flatMap((o) =>
        conditions(o)
          .filter(({ condition }) => condition.status !== 'True')
          .map(({ where, condition }) => `${o.kind ?? ''} ${o.metadata.namespace ?? ''}/${o.metadata.name} ${where}: ${condition.type}=${condition.status} ${condition.reason}: ${condition.message}`),
      );
      expect(notTrue).toEqual([]);
      const judged = new Set(
        statusObjects(eg)
          .filter((o) => conditions(o).some(({ condition }) => condition.type === 'Accepted'))
          .map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      );
      const kinds = ['Gateway', 'HTTPRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'Backend', 'BackendTrafficPolicy', 'ClientTrafficPolicy', 'EnvoyExtensionPolicy', 'EnvoyPatchPolicy'];
      const unjudged = objects.filter((o) => kinds.includes(o.kind) && !judged.has(`${o.metadata.namespace}/${o.metadata.name}`)).map((o) => `${o.kind} ${o.metadata.name}`);
      // UDPRoutes are left out of egctl's printed resources; their listener's status covers them.
      expect(unjudged.filter((u) => !u.startsWith('UDPRoute '))).toEqual([]);
      expect(gateway.spec.listeners.map((l: Json) => l.name).sort()).toEqual(
        (statusObjects(eg).find((o) => o.metadata.name === gateway.metadata.name && o.status?.listeners)?.status.listeners ?? []).map((l: Json) => l.name).sort(),
      );
    });

    it('applies every EnvoyPatchPolicy patch to a resource Envoy Gateway generated', () => {
      const missing: string[] = [];
      let patches = 0;
      for (const policy of ofKind('EnvoyPatchPolicy')) {
        for (const patch of policy.spec.jsonPatches) {
          patches++;
          const operation = patch.operation;
          const whole = operation.op === 'add' && !operation.path && !operation.jsonPath;
          const name = whole ? operation.value.name : patch.name;
          const kind = PATCH_TYPES[patch.type];
          if (!kind || !eg[kind].some((r) => r.name === name)) missing.push(`${policy.metadata.name}: ${patch.type} ${name} (${operation.op} ${operation.jsonPath ?? ''} ${operation.path})`);
        }
      }
      expect(missing).toEqual([]);
      expect(patches).toBeGreaterThan(0);
      // The effects (a patch whose JSONPath matched nothing would have failed egctl outright).
      for (const policy of ofKind('EnvoyPatchPolicy')) {
        for (const patch of policy.spec.jsonPatches) {
          const operation = patch.operation;
          if (operation.path === 'rules') {
            const filter = xdsListener(patch.name.split('/')[2]).listenerFilters.find((f: Json) => f.name === 'envoy.filters.listener.proxy_protocol');
            expect(filter.typedConfig.rules).toHaveLength(operation.value.length);
            expect(filter.typedConfig.allowRequestsWithoutProxyProtocol).toBe(true);
          }
          if (operation.op === 'replace' && operation.path === 'cluster') {
            const listener = eg.listeners.find((l) => l.name === patch.name)!;
            expect(filterChains(listener).map((c) => tcpProxy(c)?.cluster)).toEqual(filterChains(listener).map(() => operation.value));
            expect(cluster(operation.value)).toMatchObject({ type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED' });
          }
          if (operation.op === 'remove' && operation.path === 'server_names') {
            // The translator's chain takes every server name; a user's TLSRoute keeps its own.
            const listener = eg.listeners.find((l) => l.name === patch.name)!;
            const names = filterChains(listener).map((c) => c.filterChainMatch?.serverNames as string[] | undefined);
            expect(names.filter((n) => n === undefined)).toHaveLength(1);
            expect(
              names
                .flat()
                .filter((n) => n !== undefined)
                .sort(),
            ).toEqual(
              ofKind('TLSRoute')
                .filter((r) => r.spec.parentRefs.some((p: Json) => p.name === gateway.metadata.name && p.sectionName === patch.name.split('/')[2]))
                .flatMap((r) => r.spec.hostnames as string[])
                .filter((h) => h !== ANY_SNI_PLACEHOLDER)
                .sort(),
            );
          }
          if (operation.path === 'dns_cache_config' || operation.path === '/cluster_type/typed_config/dns_cache_config') {
            const owner = patch.type.endsWith('Cluster') ? cluster(patch.name) : eg.listeners.find((l) => l.name === patch.name)!;
            const caches = findAll(owner, (n) => n.dnsCacheConfig !== undefined).map((n) => n.dnsCacheConfig);
            expect(caches.length).toBeGreaterThan(0);
            for (const cache of caches) expect(cache.name).toBe(operation.value.name);
          }
        }
      }
    });

    it('sends every HTTP route of the captured listeners, and no other, to the capture service over ext_proc in shadow mode', () => {
      const policies = ofKind('EnvoyExtensionPolicy');
      const xdsRoutes = eg.routes.flatMap((rc) => (rc.virtualHosts ?? []).flatMap((vh: Json) => vh.routes));
      if (policies.length === 0) {
        expect(JSON.stringify(eg.listeners)).not.toContain('ext_proc');
        return;
      }
      // The capture policy targets listeners of the Gateway; a CONNECT route's own policy opts it out.
      const capturePolicies = policies.filter((p) => p.spec.targetRefs.every((t: Json) => t.kind === 'Gateway'));
      expect(capturePolicies).toHaveLength(1);
      const policy = capturePolicies[0]!;
      const filterName = `envoy.filters.http.ext_proc/envoyextensionpolicy/${policy.metadata.namespace}/${policy.metadata.name}/extproc/0`;
      const capturedListeners = new Set(policy.spec.targetRefs.map((t: Json) => t.sectionName as string));
      const optedOut = new Set(policies.filter((p) => p !== policy).flatMap((p) => p.spec.targetRefs.map((t: Json) => `${p.metadata.namespace}/${t.name}`)));
      const httpRoutes = [...ofKind('HTTPRoute'), ...ofKind('GRPCRoute')];
      // Listeners with at least one HTTP route (without one Envoy Gateway builds no connection manager).
      const listenersOfCaptured = new Set(
        httpRoutes.flatMap((r) => r.spec.parentRefs.filter((p: Json) => p.name === gateway.metadata.name && capturedListeners.has(p.sectionName)).map((p: Json) => p.sectionName as string)),
      );
      if (listenersOfCaptured.size === 0) {
        // deny-all with no HTTP route yet: the policy waits for one, and no route has ext_proc.
        expect(JSON.stringify(eg.routes)).not.toContain(filterName);
        return;
      }
      for (const listenerName of listenersOfCaptured) {
        const managers = filterChains(xdsListener(listenerName))
          .map(connectionManager)
          .filter((m): m is Json => m !== undefined);
        expect(managers.length).toBeGreaterThan(0);
        for (const manager of managers) {
          const filter = manager.httpFilters.find((f: Json) => f.name === filterName);
          expect({ listenerName, filter: filter?.name }).toEqual({ listenerName, filter: filterName });
          const config = filter.typedConfig;
          expect(config.processingMode).toEqual({
            requestHeaderMode: 'SEND',
            requestBodyMode: 'STREAMED',
            requestTrailerMode: 'SKIP',
            responseHeaderMode: 'SEND',
            responseBodyMode: 'STREAMED',
            responseTrailerMode: 'SKIP',
          });
          expect(config.observabilityMode).toBe(true);
          expect(config.failureModeAllow).toBe(true);
          expect(config.requestAttributes).toEqual([...CAPTURE_ATTRIBUTES]);
          expect(config.metadataOptions).toEqual({ forwardingNamespaces: { untyped: [WORKLOAD_METADATA_NAMESPACE] } });
          // The capture service: its Service's ClusterIP and port, or over TLS the Backend's name and port.
          const captureCluster = cluster(config.grpcService.envoyGrpc.clusterName);
          // One ext_proc stream per exchange in flight: far more than Envoy's default breaker of 1,024.
          expect(captureCluster.circuitBreakers.thresholds[0]).toMatchObject({ maxRequests: CAPTURE_MAX_PARALLEL_STREAMS, maxPendingRequests: CAPTURE_MAX_PARALLEL_STREAMS });
          const ref = policy.spec.extProc[0].backendRefs[0];
          if (ref.kind === 'Service') {
            expect(endpointsOf(captureCluster)).toEqual([`${world.serviceIp}:${ref.port}`]);
            expect(captureCluster.transportSocket).toBeUndefined();
            expect(captureCluster.transportSocketMatches).toBeUndefined();
          } else {
            const backend = ofKind('Backend').find((b) => b.metadata.name === ref.name)!;
            const endpoint = backend.spec.endpoints[0].fqdn;
            expect(endpointsOf(captureCluster)).toEqual([`${endpoint.hostname}:${endpoint.port}`]);
            // Envoy Gateway puts a Backend's TLS in a transport socket match (its endpoints select it).
            expect(captureCluster.transportSocketMatches).toHaveLength(1);
            const tls = captureCluster.transportSocketMatches[0].transportSocket.typedConfig;
            expect(tls.sni).toBe(backend.spec.tls.sni);
            expect(tls.commonTlsContext.alpnProtocols).toEqual(['h2']);
            expect(Boolean(tls.commonTlsContext.tlsCertificateSdsSecretConfigs?.length)).toBe(backend.spec.tls.clientCertificateRef !== undefined);
          }
          // gRPC needs HTTP/2 to the capture service.
          expect(JSON.stringify(captureCluster.typedExtensionProtocolOptions ?? {})).toContain('http2ProtocolOptions');
        }
      }
      // Enabled per route: on every route of the captured listeners, whoever wrote it, except the opted-out ones.
      const enabled = xdsRoutes
        .filter((r: Json) => r.typedPerFilterConfig?.[filterName] !== undefined)
        .map((r: Json) => r.name as string)
        .sort();
      const isOptedOut = (name: string) => [...optedOut].some((ref) => name.startsWith(`httproute/${ref}/`));
      const expected = eg.routes
        .filter((rc) => capturedListeners.has(String(rc.name).split('/')[2]))
        .flatMap((rc) => (rc.virtualHosts ?? []).flatMap((vh: Json) => vh.routes))
        .map((r: Json) => r.name as string)
        .filter((name: string) => !isOptedOut(name))
        .sort();
      expect(enabled).toEqual(expected);
      expect(expected.length).toBeGreaterThanOrEqual(listenersOfCaptured.size);
      // Every route of the translator's and the user's HTTPRoutes on those listeners is among them.
      for (const route of httpRoutes.filter((r) => r.spec.parentRefs.some((p: Json) => capturedListeners.has(p.sectionName)) && !optedOut.has(`${r.metadata.namespace}/${r.metadata.name}`))) {
        const kind = route.kind.toLowerCase();
        expect({ route: route.metadata.name, captured: enabled.some((n) => n.startsWith(`${kind}/${route.metadata.namespace}/${route.metadata.name}/`)) }).toEqual({
          route: route.metadata.name,
          captured: true,
        });
      }
      // CONNECT routes get their own policy, and with it no capture.
      for (const name of xdsRoutes.map((r: Json) => r.name as string).filter(isOptedOut)) expect(enabled).not.toContain(name);
    });

    it('intercepts TLS on every Terminate listener, with routes or not: certificates on demand from the minter, no session resumption', () => {
      const intercepting = (gateway.spec.listeners as Json[]).filter((l) => l.tls?.mode === 'Terminate');
      const mitm = ofKind('EnvoyPatchPolicy').find((p) => p.metadata.name.endsWith('-mitm'));
      if (intercepting.length === 0) {
        expect(mitm).toBeUndefined();
        return;
      }
      const sdsClusterName = mitm!.spec.jsonPatches.find((p: Json) => p.operation.path === '').operation.value.name;
      const sdsCluster = cluster(sdsClusterName);
      const capture = ofKind('EnvoyExtensionPolicy')[0]!.spec.extProc[0].backendRefs[0];
      expect(endpointsOf(sdsCluster)).toEqual([expect.stringMatching(new RegExp(`\\.svc\\.cluster\\.local:${CERT_SDS_PORT}$`))]);
      expect(sdsCluster.type).toBe('STRICT_DNS');
      expect(capture).toBeDefined();
      for (const listener of intercepting) {
        const chains = filterChains(xdsListener(listener.name));
        expect(chains).toHaveLength(1);
        const chain = chains[0]!;
        expect(chain.transportSocketConnectTimeout).toBe(`${TLS_HANDSHAKE_TIMEOUT_SECONDS}s`);
        const tls = chain.transportSocket.typedConfig;
        expect(tls['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
        expect(tls.disableStatelessSessionResumption).toBe(true);
        expect(tls.disableStatefulSessionResumption).toBe(true);
        // Only the selector's leaves: the CA Secret the Gateway listener names is not Envoy's own certificate.
        expect(tls.commonTlsContext.tlsCertificateSdsSecretConfigs).toBeUndefined();
        const selector = tls.commonTlsContext.customTlsCertificateSelector;
        expect(selector.name).toBe('envoy.tls.certificate_selectors.on_demand_secret');
        const source = selector.typedConfig.configSource.apiConfigSource;
        expect(source.apiType).toBe('DELTA_GRPC');
        expect(source.grpcServices.map((s: Json) => s.envoyGrpc.clusterName)).toEqual([sdsClusterName]);
        const caRef = listener.tls.certificateRefs[0];
        expect(source.grpcServices[0].initialMetadata).toContainEqual({ key: 'x-egress-capture-ca-secret', value: `${caRef.namespace ?? gateway.metadata.namespace}/${caRef.name}` });
      }
    });

    it('gives routes and clusters the timeouts, DNS family and endpoints the translator asked for', () => {
      const xdsRoutes = eg.routes.flatMap((rc) => (rc.virtualHosts ?? []).flatMap((vh: Json) => vh.routes));
      // requestTimeout on every HTTPRoute rule that sets one.
      for (const route of ofKind('HTTPRoute')) {
        const timeout = route.spec.rules[0].timeouts?.request;
        const generated = xdsRoutes.filter((r: Json) => r.name.startsWith(`httproute/${route.metadata.namespace}/${route.metadata.name}/rule/0/`));
        expect({ route: route.metadata.name, count: generated.length > 0 }).toEqual({ route: route.metadata.name, count: true });
        for (const r of generated)
          expect({ route: r.name, timeoutMs: r.route.timeout ? durationMs(r.route.timeout) : undefined }).toEqual({ route: r.name, timeoutMs: timeout ? gatewayDurationMs(timeout) : undefined });
      }
      // BackendTrafficPolicy: the connect timeout and DNS lookup family on every cluster of its routes.
      for (const policy of ofKind('BackendTrafficPolicy')) {
        for (const target of policy.spec.targetRefs) {
          const clusters = eg.clusters.filter((c) => c.name.startsWith(`${target.kind.toLowerCase()}/${policy.metadata.namespace}/${target.name}/rule/`));
          expect({ target: target.name, clusters: clusters.length > 0 }).toEqual({ target: target.name, clusters: true });
          for (const c of clusters) {
            const connect = policy.spec.timeout?.tcp?.connectTimeout;
            if (connect) expect({ cluster: c.name, connectTimeoutMs: durationMs(c.connectTimeout) }).toEqual({ cluster: c.name, connectTimeoutMs: gatewayDurationMs(connect) });
            const family = EG_FAMILY_TO_ENVOY[policy.spec.dns.lookupFamily];
            // AUTO is the enum's zero value, which JSON leaves out.
            expect({ cluster: c.name, family: c.dnsLookupFamily ?? 'AUTO' }).toEqual({ cluster: c.name, family });
          }
        }
      }
      // ClientTrafficPolicy: streams idle as long as requestTimeout on every HTTP listener.
      const client = ofKind('ClientTrafficPolicy')[0]!;
      for (const listener of eg.listeners.filter((l) => l.name.startsWith(`${gateway.metadata.namespace}/${gateway.metadata.name}/`))) {
        for (const manager of filterChains(listener)
          .map(connectionManager)
          .filter((m): m is Json => m !== undefined)) {
          expect({ listener: listener.name, idleMs: durationMs(manager.streamIdleTimeout) }).toEqual({
            listener: listener.name,
            idleMs: gatewayDurationMs(client.spec.timeout.http.streamIdleTimeout),
          });
        }
      }
      // TCPRoutes: the listener's TCP proxy goes to the route's cluster, whose endpoints are the Backend's.
      for (const route of ofKind('TCPRoute')) {
        const listener = xdsListener(route.spec.parentRefs[0].sectionName);
        const original = ofKind('EnvoyPatchPolicy')
          .flatMap((p) => p.spec.jsonPatches)
          .find((p: Json) => p.name === listener.name && p.operation.path === 'cluster');
        const clusterName = original ? original.operation.value : `tcproute/${route.metadata.namespace}/${route.metadata.name}/rule/-1`;
        expect(filterChains(listener).map((c) => tcpProxy(c)?.cluster)).toEqual([clusterName]);
        if (original) continue;
        const backends = route.spec.rules[0].backendRefs.map((ref: Json) => ofKind('Backend').find((b) => b.metadata.name === ref.name)!);
        const wanted = backends.flatMap((b: Json) => b.spec.endpoints.map((e: Json) => (e.ip ? `${e.ip.address}:${e.ip.port}` : `${e.fqdn.hostname}:${e.fqdn.port}`))).sort();
        expect({ route: route.metadata.name, endpoints: endpointsOf(cluster(clusterName)) }).toEqual({ route: route.metadata.name, endpoints: wanted });
      }
    });
  });
});
