// The target-independent plan for one EgressGateway: which port each listener gets, what
// shape it has, which input routes won it, and whether the default policy adds a catch-all.
// Both targets (Envoy Gateway resources and the standalone bootstrap) render from this.
import { EgressGateway, EgressListener, RouteAttachment, Sourced } from '../gateway';

export type ListenerShape = 'http' | 'https-terminate' | 'tls-passthrough' | 'tcp' | 'udp';

export interface ListenerPlan {
  listener: EgressListener;
  shape: ListenerShape;
  port: number;
  /** True when the input left the port unset ("every destination port"). */
  allPorts: boolean;
  /** The winning input route, if any (layer-4 shapes only). */
  route?: RouteAttachment;
  /** allow-all with nothing more specific: traffic goes wherever the client asked. */
  catchAll: boolean;
}

export interface GatewayPlan {
  gateway: Sourced<EgressGateway>;
  listeners: ListenerPlan[];
  /** Extra lines for the generated Gateway's comment (where the gateway came from, what it lost). */
  comment?: string[];
}

export function listenerShape(listener: EgressListener): ListenerShape {
  switch (listener.protocol) {
    case 'HTTP':
      return listener.tls ? 'https-terminate' : 'http';
    case 'HTTPS':
      return 'https-terminate';
    case 'TLS':
      return listener.tls?.mode === 'Terminate' ? 'https-terminate' : 'tls-passthrough';
    case 'TCP':
      return 'tcp';
    case 'UDP':
      return 'udp';
  }
}

/** Port a listener without one gets, before collisions are resolved. */
const DEFAULT_PORT: Record<ListenerShape, number> = {
  http: 80,
  'https-terminate': 443,
  'tls-passthrough': 443,
  tcp: 15001,
  udp: 15001,
};

/**
 * Assign ports: explicit ones first, then defaults for unset ones, moving up past ports already
 * taken in the same transport (TCP-based shapes share one space, UDP has its own).
 */
export function planGateway(gateway: Sourced<EgressGateway>, winners: Map<string, RouteAttachment>): GatewayPlan {
  const spec = gateway.resource.spec;
  const taken = { tcp: new Set<number>(), udp: new Set<number>() };
  const transport = (shape: ListenerShape) => (shape === 'udp' ? taken.udp : taken.tcp);
  for (const l of spec.listeners) if (l.port !== undefined) transport(listenerShape(l)).add(l.port);

  const listeners = spec.listeners.map((listener): ListenerPlan => {
    const shape = listenerShape(listener);
    let port = listener.port;
    if (port === undefined) {
      const used = transport(shape);
      port = DEFAULT_PORT[shape];
      while (used.has(port)) port += 1;
      used.add(port);
    }
    const route = winners.get(listener.name);
    const catchAll = spec.defaultPolicy === 'allow-all' && !route && shape !== 'udp';
    return { listener, shape, port, allPorts: listener.port === undefined, route, catchAll };
  });
  return { gateway, listeners };
}
