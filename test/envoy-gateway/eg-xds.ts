/**
 * Reading Envoy Gateway's xDS output (egctl's config dump JSON, camelCase) the
 * way the checks need it: typed configs by filter name, resources by name.
 */
import type { Json } from './eg-translation';

/** Each listener's filter chains, the default one included. */
export function filterChains(listener: Json): Json[] {
  return [...(listener.filterChains ?? []), ...(listener.defaultFilterChain ? [listener.defaultFilterChain] : [])];
}

/** The HTTP connection manager of a filter chain, if it has one. */
export function connectionManager(chain: Json): Json | undefined {
  return (chain.filters ?? []).find((f: Json) => f.name === 'envoy.filters.network.http_connection_manager')?.typedConfig;
}

/** The TCP proxy of a filter chain, if it has one. */
export function tcpProxy(chain: Json): Json | undefined {
  return (chain.filters ?? []).find((f: Json) => f.name === 'envoy.filters.network.tcp_proxy')?.typedConfig;
}

/** Every value in `value` (deeply) that satisfies `test`. */
export function findAll(value: unknown, test: (node: Json) => boolean, found: Json[] = []): Json[] {
  if (Array.isArray(value)) for (const item of value) findAll(item, test, found);
  else if (value !== null && typeof value === 'object') {
    if (test(value as Json)) found.push(value as Json);
    for (const child of Object.values(value as Json)) findAll(child, test, found);
  }
  return found;
}

/** A protobuf JSON duration ("300s", "0.500s") in milliseconds. */
export function durationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)s$/.exec(text);
  if (!match) throw new Error(`not a protobuf duration: ${text}`);
  return Math.round(Number(match[1]) * 1000);
}
