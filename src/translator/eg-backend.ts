// Envoy Gateway Backends: the dynamic forward proxies behind allow-all, and one namespaced
// Backend per (input Backend, port) since input Backends are cluster-scoped and portless.
import { Backend } from '../gateway';
import { GatewayContext } from './gateway-context';
import { ListenerShape } from './gateway-plan';
import { ENVOY_GATEWAY_VERSION, output, OutputObject } from './output-object';

export function dfpPlainName(ctx: GatewayContext): string {
  return ctx.child('dfp-plain');
}

export function dfpTlsName(ctx: GatewayContext): string {
  return ctx.child('dfp-tls');
}

export function endpointBackendName(ctx: GatewayContext, backend: Backend, port: number): string {
  return ctx.child(backend.metadata.name, port);
}

export function buildDfpPlainBackend(ctx: GatewayContext): OutputObject {
  return output(
    { apiVersion: ENVOY_GATEWAY_VERSION, kind: 'Backend', metadata: { name: dfpPlainName(ctx), namespace: ctx.namespace }, spec: { type: 'DynamicResolver' } },
    'Dynamic forward proxy without upstream TLS: plain HTTP, CONNECT tunnels and TLS passthrough.',
  );
}

export function buildDfpTlsBackend(ctx: GatewayContext): OutputObject {
  return output(
    {
      apiVersion: ENVOY_GATEWAY_VERSION,
      kind: 'Backend',
      metadata: { name: dfpTlsName(ctx), namespace: ctx.namespace },
      spec: { type: 'DynamicResolver', tls: { wellKnownCACertificates: 'System' } },
    },
    'Re-encrypting dynamic forward proxy behind TLS-terminating listeners; trusts the system',
    'bundle (plus upstreamTLS.additionalTrustBundleSecretRef, merged into it by the EnvoyProxy).',
  );
}

export function buildEndpointBackend(ctx: GatewayContext, backend: Backend, port: number, shape: ListenerShape): OutputObject {
  const comment = [`From Backend ${backend.metadata.name} (protocol ${JSON.stringify(backend.spec.protocol)}) on port ${port}.`];
  const spec: Record<string, unknown> = {};
  if (backend.spec.dynamicProxy) {
    spec.type = 'DynamicResolver';
    if (backend.spec.endpoints.length > 0) {
      comment.push(ctx.note(`Backend ${backend.metadata.name}: endpoints are ignored because dynamicProxy resolves the destination from the request`));
    }
  } else {
    const fqdns = backend.spec.endpoints.filter((e) => e.fqdn);
    const ips = backend.spec.endpoints.filter((e) => e.ip);
    let kept = backend.spec.endpoints;
    if (fqdns.length > 0 && ips.length > 0) {
      kept = fqdns;
      comment.push(ctx.note(`Backend ${backend.metadata.name}: Envoy Gateway cannot mix fqdn and ip endpoints; the ip endpoints (${ips.map((e) => e.ip).join(', ')}) are left out`));
    }
    spec.type = 'Endpoints';
    spec.endpoints = kept.map((e) => (e.fqdn ? { fqdn: { hostname: e.fqdn, port } } : { ip: { address: e.ip, port } }));
  }
  const protocol = backend.spec.protocol;
  if (protocol === 'h2c') {
    spec.appProtocols = ['gateway.envoyproxy.io/h2c'];
  } else if (protocol === 'tls' || protocol === 'h2') {
    if (shape === 'tls-passthrough') {
      comment.push(ctx.note(`Backend ${backend.metadata.name}: protocol ${protocol} is ignored behind a TLS Passthrough listener (the client's TLS goes through unchanged)`));
    } else {
      // ALPN is negotiated automatically, so h2 needs nothing beyond TLS.
      spec.tls = { wellKnownCACertificates: 'System' };
    }
  }
  return output({ apiVersion: ENVOY_GATEWAY_VERSION, kind: 'Backend', metadata: { name: endpointBackendName(ctx, backend, port), namespace: ctx.namespace }, spec }, ...comment);
}
