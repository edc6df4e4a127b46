// Renders one gateway plan as Envoy Gateway v1.9 / Gateway API v1.6 resources (reference:
// the EgressGateway -> Envoy Gateway mapping). Objects shared between gateways (ReferenceGrants)
// are collected in `shared` so each is emitted once.
import { Backend, RouteAttachment } from '../gateway';
import { buildConnectTrafficPolicy, buildTrafficPolicy, DnsSettings, RouteTarget } from './backend-traffic-policy';
import { buildClientTrafficPolicy } from './client-traffic-policy';
import { BACKEND_FAMILY_TO_EG, EG_FAMILY_TO_ENVOY, GATEWAY_FAMILY_TO_EG } from './dns-lookup-family';
import { buildDfpPlainBackend, buildDfpTlsBackend, buildEndpointBackend, dfpPlainName, dfpTlsName, endpointBackendName } from './eg-backend';
import { buildCaptureOffPolicy, buildCapturePolicy, buildCaptureServiceBackend } from './envoy-extension-policy';
import { anySniPatch, buildPatchPolicy, certSdsClusterPatch, dnsCachePatches, JsonPatch, onDemandCertificatePatches, originalDestinationPatches, workloadIdentityPatch } from './envoy-patch-policy';
import { buildEnvoyProxy } from './envoy-proxy';
import { createGatewayContext, GatewayContext } from './gateway-context';
import { GatewayPlan, ListenerPlan } from './gateway-plan';
import { buildCatchAllRoute, buildConnectRoute } from './http-route';
import { buildGateway } from './kubernetes-gateway';
import { buildLayer4Route } from './layer4-route';
import { xdsRouteClusterName } from './naming';
import { CERT_SDS_PORT, CONNECT_TIMEOUT_SECONDS, TranslateOptions } from './options';
import { ENVOY_GATEWAY, output, OutputObject } from './output-object';
import { buildReferenceGrant } from './reference-grant';
import { WORKLOAD_METADATA_NAMESPACE, WORKLOAD_TLVS } from './workload-identity';

/** Placeholder endpoint for a TCP listener whose traffic is repointed to ORIGINAL_DST (TEST-NET-1, discard port). */
const PLACEHOLDER_ENDPOINT = { address: '192.0.2.1', port: 9 };

const L4_KIND = { 'tls-passthrough': 'TLSRoute', tcp: 'TCPRoute', udp: 'UDPRoute' } as const;

class GatewayBuild {
  readonly backends = new Map<string, OutputObject>();
  readonly httpRoutes: OutputObject[] = [];
  readonly l4Routes: OutputObject[] = [];
  readonly mainTargets: RouteTarget[] = [];
  readonly connectTargets: RouteTarget[] = [];
  readonly dynamicPolicies = new Map<string, { targets: RouteTarget[]; settings: DnsSettings; backend: Backend }>();
  /** Listeners whose HTTP routes are captured: every HTTP and TLS-terminating one. */
  readonly captureListeners: string[] = [];
  /** CONNECT routes, kept out of capture (their bodies are opaque tunnels). */
  readonly uncapturedRoutes: string[] = [];
  readonly identityPatches: JsonPatch[] = [];
  readonly mitmPatches: JsonPatch[] = [];
  readonly originalDstPatches: JsonPatch[] = [];
  readonly anySniPatches: JsonPatch[] = [];
  readonly dnsCachePatches: JsonPatch[] = [];

  constructor(
    readonly ctx: GatewayContext,
    readonly shared: Map<string, OutputObject>,
  ) {}

  gatewayDns(): DnsSettings {
    return { lookupFamily: GATEWAY_FAMILY_TO_EG[this.ctx.gateway.spec.dns.lookupFamily] };
  }

  addBackend(name: string, make: () => OutputObject): string {
    if (!this.backends.has(name)) this.backends.set(name, make());
    return name;
  }

  listener(plan: ListenerPlan): void {
    const ctx = this.ctx;
    if (plan.shape !== 'udp') this.identityPatches.push(workloadIdentityPatch(ctx, plan.listener.name));
    switch (plan.shape) {
      case 'http': {
        this.captureListeners.push(plan.listener.name);
        if (!plan.catchAll) return;
        const backend = this.addBackend(dfpPlainName(ctx), () => buildDfpPlainBackend(ctx));
        const route = buildCatchAllRoute(ctx, plan, backend);
        const connect = buildConnectRoute(ctx, plan, backend);
        this.httpRoutes.push(route, connect);
        this.mainTargets.push({ kind: 'HTTPRoute', name: route.object.metadata.name });
        this.connectTargets.push({ kind: 'HTTPRoute', name: connect.object.metadata.name });
        this.uncapturedRoutes.push(connect.object.metadata.name);
        return;
      }
      case 'https-terminate': {
        this.captureListeners.push(plan.listener.name);
        const ca = plan.listener.tls!.caCertRef!;
        if (ca.namespace && ca.namespace !== ctx.namespace) {
          const name = ctx.child(plan.listener.name, 'ca');
          this.shared.set(
            `ReferenceGrant/${ca.namespace}/${name}`,
            buildReferenceGrant(
              name,
              ca.namespace,
              { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: ctx.namespace },
              { group: '', kind: 'Secret', name: ca.name },
              `Lets Gateway ${ctx.namespace}/${ctx.objectName} use CA Secret ${ca.namespace}/${ca.name} (listener ${plan.listener.name}).`,
            ),
          );
        }
        // Envoy Gateway builds the listener's TLS filter chain with or without routes, with the
        // CA as its certificate: patch it on every Terminate listener, or Envoy would present the
        // CA (or reject the listener) until a route comes.
        if (this.mitmPatches.length === 0) this.mitmPatches.push(certSdsClusterPatch(ctx));
        this.mitmPatches.push(...onDemandCertificatePatches(ctx, plan.listener.name, `${ca.namespace ?? ctx.namespace}/${ca.name}`));
        if (!plan.catchAll) return;
        const backend = this.addBackend(dfpTlsName(ctx), () => buildDfpTlsBackend(ctx));
        const route = buildCatchAllRoute(ctx, plan, backend);
        this.httpRoutes.push(route);
        this.mainTargets.push({ kind: 'HTTPRoute', name: route.object.metadata.name });
        return;
      }
      case 'tls-passthrough':
      case 'tcp':
      case 'udp':
        if (plan.route) this.routedListener({ ...plan, shape: plan.shape }, plan.route);
        else if (plan.catchAll) this.catchAllLayer4(plan);
        return;
    }
  }

  private routedListener(plan: ListenerPlan & { shape: 'tls-passthrough' | 'tcp' | 'udp' }, attachment: RouteAttachment): void {
    const ctx = this.ctx;
    const kind = L4_KIND[plan.shape];
    const routeName = ctx.child(plan.listener.name, attachment.route.resource.metadata.name);
    const refs = attachment.backends.map((ref) => ({
      name: this.addBackend(endpointBackendName(ctx, ref.backend, ref.port), () => buildEndpointBackend(ctx, ref.backend, ref.port, plan.shape)),
      weight: ref.weight,
    }));
    const source = attachment.route.resource;
    const comment = [`From TCPRoute ${source.metadata.namespace ? `${source.metadata.namespace}/` : ''}${source.metadata.name} on listener ${plan.listener.name}.`];
    if (plan.shape === 'tls-passthrough') {
      comment.push('Listener-wide: the hostname is a placeholder that the any-sni EnvoyPatchPolicy removes.');
      this.anySniPatches.push(anySniPatch(ctx, plan.listener.name));
    }
    this.l4Routes.push(buildLayer4Route(ctx, plan, kind, routeName, refs, comment));

    const target = { kind, name: routeName };
    const dynamic = attachment.backends.find((ref) => ref.backend.spec.dynamicProxy);
    if (!dynamic) {
      this.mainTargets.push(target);
      return;
    }
    // One policy per dynamic Backend keeps its DNS cache separate from the gateway's.
    const backend = dynamic.backend;
    const cache = backend.spec.dynamicProxy!.dnsCacheConfig;
    const policyName = ctx.child(backend.metadata.name, 'dns');
    const settings: DnsSettings = { lookupFamily: BACKEND_FAMILY_TO_EG[cache.dnsLookupFamily], refreshRateMs: cache.dnsRefreshRateMs };
    const entry = this.dynamicPolicies.get(policyName) ?? { targets: [], settings, backend };
    entry.targets.push(target);
    this.dynamicPolicies.set(policyName, entry);
    if (dynamic.port !== 443) {
      this.l4Routes[this.l4Routes.length - 1].comment.push(
        ctx.note(`TCPRoute ${source.metadata.name}: backendRef port ${dynamic.port} cannot be expressed; Envoy Gateway's SNI forward proxy always dials port 443`),
      );
    }
    const extra = cache.dnsMinRefreshRateMs !== undefined || cache.dnsQueryTimeoutMs !== undefined || cache.hostTtlMs !== undefined || cache.maxHosts !== undefined;
    if (extra) {
      this.dnsCachePatches.push(
        ...dnsCachePatches(ctx, xdsRouteClusterName('tlsroute', ctx.namespace, routeName, -1), plan.listener.name, {
          name: policyName,
          envoyLookupFamily: EG_FAMILY_TO_ENVOY[settings.lookupFamily],
          refreshRateMs: cache.dnsRefreshRateMs,
          minRefreshRateMs: cache.dnsMinRefreshRateMs,
          queryTimeoutMs: cache.dnsQueryTimeoutMs,
          hostTtlMs: cache.hostTtlMs,
          maxHosts: cache.maxHosts,
        }),
      );
    }
  }

  private catchAllLayer4(plan: ListenerPlan): void {
    const ctx = this.ctx;
    const routeName = ctx.child(plan.listener.name);
    if (plan.shape === 'tls-passthrough') {
      const backend = this.addBackend(dfpPlainName(ctx), () => buildDfpPlainBackend(ctx));
      this.l4Routes.push(
        buildLayer4Route(
          ctx,
          plan,
          'TLSRoute',
          routeName,
          [{ name: backend }],
          [`defaultPolicy allow-all on listener ${plan.listener.name}: forward by SNI to port 443. The hostname is a`, 'placeholder (TLSRoute needs one) that the any-sni EnvoyPatchPolicy removes.'],
        ),
      );
      this.anySniPatches.push(anySniPatch(ctx, plan.listener.name));
      this.mainTargets.push({ kind: 'TLSRoute', name: routeName });
      return;
    }
    if (plan.shape === 'tcp') {
      // Envoy Gateway has no original-destination cluster: route to a placeholder, then patch.
      const placeholder = ctx.child(plan.listener.name, 'original-dst');
      this.addBackend(placeholder, () =>
        output(
          {
            apiVersion: 'gateway.envoyproxy.io/v1alpha1',
            kind: 'Backend',
            metadata: { name: placeholder, namespace: ctx.namespace },
            spec: { type: 'Endpoints', endpoints: [{ ip: { ...PLACEHOLDER_ENDPOINT } }] },
          },
          'Placeholder (TEST-NET-1, never dialled): the original-dst EnvoyPatchPolicy repoints the listener',
          "to the destination named in the caller's PROXY protocol header.",
        ),
      );
      this.l4Routes.push(
        buildLayer4Route(ctx, plan, 'TCPRoute', routeName, [{ name: placeholder }], [`defaultPolicy allow-all on listener ${plan.listener.name}: connections go to their original destination.`]),
      );
      this.originalDstPatches.push(...originalDestinationPatches(ctx, plan.listener.name, placeholder, CONNECT_TIMEOUT_SECONDS));
    }
  }

  objects(): OutputObject[] {
    const ctx = this.ctx;
    const result: OutputObject[] = [buildEnvoyProxy(ctx), buildGateway(ctx), ...this.backends.values(), ...this.httpRoutes, ...this.l4Routes];
    if (this.mainTargets.length > 0) {
      result.push(
        buildTrafficPolicy(ctx, ctx.objectName, this.mainTargets, this.gatewayDns(), [
          `dns.lookupFamily ${ctx.gateway.spec.dns.lookupFamily} and the upstream connect timeout for the gateway's routes.`,
        ]),
      );
    }
    if (this.connectTargets.length > 0) result.push(buildConnectTrafficPolicy(ctx, this.connectTargets, this.gatewayDns()));
    for (const [name, entry] of this.dynamicPolicies) {
      result.push(
        buildTrafficPolicy(ctx, name, entry.targets, entry.settings, [`Backend ${entry.backend.metadata.name} dynamicProxy.dnsCacheConfig: lookup family and refresh rate (its own DNS cache).`]),
      );
    }
    result.push(buildClientTrafficPolicy(ctx));
    if (this.captureListeners.length > 0) {
      result.push(buildCapturePolicy(ctx, this.captureListeners));
      if (this.uncapturedRoutes.length > 0) result.push(buildCaptureOffPolicy(ctx, this.uncapturedRoutes));
      const capture = ctx.options.captureService;
      // Over TLS the policy points at a Backend in the gateway's namespace, which needs no grant.
      if (ctx.options.captureTls !== undefined) result.push(buildCaptureServiceBackend(ctx));
      else if (capture.namespace !== ctx.namespace) {
        const name = `${capture.name}-from-${ctx.namespace}`;
        this.shared.set(
          `ReferenceGrant/${capture.namespace}/${name}`,
          buildReferenceGrant(
            name,
            capture.namespace,
            { group: ENVOY_GATEWAY, kind: 'EnvoyExtensionPolicy', namespace: ctx.namespace },
            { group: '', kind: 'Service', name: capture.name },
            `Lets EnvoyExtensionPolicies in ${ctx.namespace} send to the capture Service ${capture.namespace}/${capture.name}.`,
          ),
        );
      }
    }
    const tlvs = WORKLOAD_TLVS.map((t) => `0x${t.type.toString(16).toUpperCase()}=${t.key}`).join(', ');
    const patchPolicies: Array<[string, JsonPatch[], string[]]> = [
      [
        'workload-identity',
        this.identityPatches,
        [
          `Caller identity: PROXY v2 TLVs ${tlvs} -> connection metadata namespace ${WORKLOAD_METADATA_NAMESPACE},`,
          'forwarded to the capture service. Envoy Gateway has no API for proxy_protocol TLV rules.',
        ],
      ],
      [
        'mitm',
        this.mitmPatches,
        [
          'TLS interception: per-SNI leaf certificates fetched on demand over SDS (Envoy >= 1.37) from a minter that',
          `signs with the listener's caCertRef, at ${ctx.options.captureService.name}.${ctx.options.captureService.namespace}:${CERT_SDS_PORT}. Envoy Gateway cannot mint certificates.`,
        ],
      ],
      ['original-dst', this.originalDstPatches, ["Original-destination forwarding for TCP listeners under allow-all (not in Envoy Gateway's API)."]],
      ['any-sni', this.anySniPatches, ['TLS Passthrough listeners take every server name (a TLSRoute must name one).']],
      ['dns-cache', this.dnsCachePatches, ['dynamicProxy.dnsCacheConfig knobs Envoy Gateway lacks (min refresh, query timeout, host TTL, max hosts).']],
    ];
    for (const [suffix, patches, comment] of patchPolicies) {
      if (patches.length > 0) {
        result.push(buildPatchPolicy(ctx, ctx.child(suffix), patches, [...comment, 'xDS names assume Envoy Gateway v1.9 defaults (XDSNameSchemeV2 off).']));
      }
    }
    return result;
  }
}

export function buildGatewayResources(plan: GatewayPlan, options: TranslateOptions, warnings: string[], shared: Map<string, OutputObject>): OutputObject[] {
  const ctx = createGatewayContext(plan, options, warnings);
  const build = new GatewayBuild(ctx, shared);
  for (const listener of plan.listeners) build.listener(listener);
  return build.objects();
}
