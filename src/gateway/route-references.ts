// Cross-resource checks for TCPRoutes: every parentRef must name an EgressGateway listener the
// route can attach to and every backendRef a known Backend with a port. These are input
// errors (exit 2), unlike conflicts, which are resolved and reported in the status summary.
import { DEFAULT_NAMESPACE } from './defaults';
import { DocumentProblem, describeObject } from './parse-documents';
import { joinPath, Problem } from './problems';
import { Backend, EgressGateway, EgressListener, Sourced, TcpRoute } from './types';

export interface ResolvedBackendRef {
  backend: Backend;
  port: number;
  weight?: number;
}

/** One route attached to one listener. */
export interface RouteAttachment {
  route: Sourced<TcpRoute>;
  gateway: Sourced<EgressGateway>;
  listener: EgressListener;
  backends: ResolvedBackendRef[];
}

export function routeNamespace(route: TcpRoute): string {
  return route.metadata.namespace ?? DEFAULT_NAMESPACE;
}

/** Listener shapes a TCPRoute can attach to: layer-4 ones whose bytes are not parsed as HTTP. */
export function acceptsTcpRoute(listener: EgressListener): boolean {
  return listener.protocol === 'TCP' || listener.protocol === 'UDP' || (listener.protocol === 'TLS' && listener.tls?.mode === 'Passthrough');
}

function shape(listener: EgressListener): string {
  return listener.tls ? `${listener.protocol}/${listener.tls.mode}` : listener.protocol;
}

export function resolveRouteReferences(
  gateways: Array<Sourced<EgressGateway>>,
  backends: Array<Sourced<Backend>>,
  routes: Array<Sourced<TcpRoute>>,
): { attachments: RouteAttachment[]; problems: DocumentProblem[] } {
  const gatewayByKey = new Map(gateways.map((g) => [`${g.resource.metadata.namespace}/${g.resource.metadata.name}`, g]));
  const backendByName = new Map(backends.map((b) => [b.resource.metadata.name, b.resource]));
  const attachments: RouteAttachment[] = [];
  const problems: DocumentProblem[] = [];

  for (const sourced of routes) {
    const route = sourced.resource;
    const found: Problem[] = [];
    const namespace = routeNamespace(route);

    const resolvedBackends: ResolvedBackendRef[] = [];
    route.spec.rules.forEach((rule, r) => {
      rule.backendRefs.forEach((ref, b) => {
        const path = joinPath(joinPath(joinPath('spec.rules', r), 'backendRefs'), b);
        if (ref.group !== 'core.apoxy.dev' || ref.kind !== 'Backend') {
          found.push({ path, message: `only core.apoxy.dev Backend references are supported, got ${ref.group || 'core'}/${ref.kind}` });
          return;
        }
        const backend = backendByName.get(ref.name);
        if (!backend) {
          found.push({ path: `${path}.name`, message: `Backend ${JSON.stringify(ref.name)} not found in the input` });
          return;
        }
        if (ref.port === undefined) {
          found.push({ path: `${path}.port`, message: 'required: a Backend has no port of its own' });
          return;
        }
        resolvedBackends.push({ backend, port: ref.port, ...(ref.weight !== undefined ? { weight: ref.weight } : {}) });
      });
    });

    route.spec.parentRefs.forEach((parent, p) => {
      const path = joinPath('spec.parentRefs', p);
      if (parent.group !== 'clrk.apoxy.dev' || parent.kind !== 'EgressGateway') {
        found.push({ path, message: `parent must be a clrk.apoxy.dev EgressGateway, got ${parent.group || 'core'}/${parent.kind}` });
        return;
      }
      const key = `${parent.namespace ?? namespace}/${parent.name}`;
      const gateway = gatewayByKey.get(key);
      if (!gateway) {
        found.push({ path: `${path}.name`, message: `EgressGateway ${key} not found in the input` });
        return;
      }
      const listeners = gateway.resource.spec.listeners;
      const names = listeners.map((l) => l.name).join(', ');
      let targets: EgressListener[];
      if (parent.sectionName !== undefined) {
        const listener = listeners.find((l) => l.name === parent.sectionName);
        if (!listener) {
          found.push({ path: `${path}.sectionName`, message: `${JSON.stringify(parent.sectionName)} names no listener of EgressGateway ${key} (listeners: ${names})` });
          return;
        }
        if (!acceptsTcpRoute(listener)) {
          found.push({ path: `${path}.sectionName`, message: `listener ${JSON.stringify(listener.name)} is ${shape(listener)}; a TCPRoute attaches only to TCP, UDP or TLS Passthrough listeners` });
          return;
        }
        targets = [listener];
      } else {
        targets = listeners.filter(acceptsTcpRoute);
        if (targets.length === 0) {
          found.push({ path, message: `EgressGateway ${key} has no TCP, UDP or TLS Passthrough listener for a TCPRoute (listeners: ${names})` });
          return;
        }
      }
      for (const listener of targets) {
        if (parent.port !== undefined && listener.port !== undefined && parent.port !== listener.port) {
          found.push({ path: `${path}.port`, message: `${parent.port} does not match listener ${JSON.stringify(listener.name)} port ${listener.port}` });
          continue;
        }
        for (const ref of resolvedBackends) {
          if (ref.backend.spec.dynamicProxy && listener.protocol !== 'TLS') {
            found.push({
              path: `${path}.sectionName`,
              message: `Backend ${ref.backend.metadata.name} uses dynamicProxy, which needs a host name to resolve; attach it to a TLS Passthrough listener (SNI), not ${shape(listener)} listener ${JSON.stringify(listener.name)}`,
            });
          }
        }
        attachments.push({ route: sourced, gateway, listener, backends: resolvedBackends });
      }
    });

    if (found.length > 0) {
      const label = describeObject('TCPRoute', route.metadata);
      for (const problem of found) problems.push({ source: sourced.source, resource: label, problem });
    }
  }
  const failed = new Set(problems.map((p) => p.source));
  return { attachments: attachments.filter((a) => !failed.has(a.route.source)), problems };
}
