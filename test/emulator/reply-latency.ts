/**
 * Reply latency per message, as Envoy experiences it: the time from sending a
 * message that needs a reply to receiving that reply (paired FIFO per
 * direction, as Envoy pairs them). Used by the bench for p50/p99.
 */
import type { ExchangeResult } from './exchange-result';

const DIRECTION: Record<string, 'request' | 'response'> = {
  request_headers: 'request',
  request_body: 'request',
  request_trailers: 'request',
  response_headers: 'response',
  response_body: 'response',
  response_trailers: 'response',
};

/**
 * Latencies in ms of every answered message. Observability-mode messages need no
 * reply and FULL_DUPLEX_STREAMED bodies are answered N:M, so both are skipped.
 */
export function replyLatenciesMs(result: ExchangeResult): number[] {
  const waiting = { request: [] as number[], response: [] as number[] };
  const events: Array<{ atMs: number; kind: 'sent' | 'received'; dir: 'request' | 'response' }> = [];
  for (const { atMs, message } of result.sent) {
    if (message.observability_mode) continue;
    const dir = DIRECTION[message.request ?? ''];
    const fdsBody =
      (message.request === 'request_body' || message.request === 'response_body') && result.sent[0]?.message.protocol_config?.[dir === 'request' ? 'request_body_mode' : 'response_body_mode'] === 4;
    if (dir && !fdsBody) events.push({ atMs, kind: 'sent', dir });
  }
  for (const { atMs, message } of result.received) {
    const dir = DIRECTION[message.response ?? ''];
    const streamed = (message[message.response as 'request_body'] as { response?: { body_mutation?: { streamed_response?: unknown } } })?.response?.body_mutation?.streamed_response;
    if (dir && streamed === undefined) events.push({ atMs, kind: 'received', dir });
  }
  events.sort((a, b) => a.atMs - b.atMs || (a.kind === 'sent' ? -1 : 1));
  const latencies: number[] = [];
  for (const event of events) {
    if (event.kind === 'sent') waiting[event.dir].push(event.atMs);
    else {
      const sentAt = waiting[event.dir].shift();
      if (sentAt !== undefined) latencies.push(event.atMs - sentAt);
    }
  }
  return latencies;
}

/** The q-quantile (0..1) of a list of numbers (nearest rank). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
