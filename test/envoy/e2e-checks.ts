/**
 * What every end-to-end scenario checks from the outside, the way a user
 * would: the client got what the upstream sent, the upstream got what the
 * client sent, the stored row matches both sides, and Envoy's own ext_proc
 * statistics show the capture never failed, timed out or confused Envoy.
 */
import { createHash } from 'node:crypto';
import type { EnvoyStack, Row } from './envoy-stack';
import type { ClientResponse } from './http-clients';

/**
 * Headers that describe one hop's framing, not the message: Envoy may rewrite
 * them (content-length becomes chunked when a body mode lets ext_proc change
 * the body; connection and keep-alive are hop-by-hop), and Envoy adds its own.
 */
const HOP_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'server', 'x-envoy-upstream-service-time']);

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Client and upstream agree: status, end-to-end headers, body bytes (both directions). */
export async function expectFaithfulTraffic(
  stack: EnvoyStack,
  testId: string,
  client: ClientResponse,
  sent: { method: string; path: string; body?: Buffer; headers?: Record<string, string> },
): Promise<void> {
  expect(client.error).toBeUndefined();
  const received = await stack.upstream.received(testId);
  expect(received.method).toBe(sent.method);
  expect(received.path).toBe(sent.path);
  expect(received.complete).toBe(true);
  expect(sha256(received.body)).toBe(sha256(sent.body ?? Buffer.alloc(0)));
  for (const [name, value] of Object.entries(sent.headers ?? {})) expect([name, received.headers[name.toLowerCase()]]).toEqual([name, value]);

  const answer = stack.upstream.sent(testId);
  expect(answer).toBeDefined();
  expect(client.status).toBe(answer!.status);
  if (sent.method !== 'HEAD') {
    expect(client.body.length).toBe(answer!.body.length);
    expect(sha256(client.body)).toBe(sha256(answer!.body));
  }
  for (const [name, value] of Object.entries(answer!.headers)) {
    if (HOP_HEADERS.has(name)) continue;
    expect([name, client.headers[name]]).toEqual([name, value]);
  }
  if (answer!.trailers) expect(client.trailers).toEqual(answer!.trailers);
}

/** The row matches what crossed the wire on both sides. */
export async function expectRowMatches(
  stack: EnvoyStack,
  testId: string,
  row: Row,
  expected: { method: string; path: string; authority?: string; requestBody?: Buffer; requestBodyKept?: boolean; responseBodyKept?: boolean; outcome?: string },
): Promise<void> {
  const answer = stack.upstream.sent(testId)!;
  expect(row.Method).toBe(expected.method);
  expect(row.Path).toBe(expected.path);
  expect(row.Authority).toBe(expected.authority ?? 'upstream.test');
  expect(row.Scheme).toBe('http');
  expect(row.StatusCode).toBe(answer.status);
  expect(row.Outcome).toBe(expected.outcome ?? 'complete');
  expect(row.RequestHeaders['x-test-id']).toBe(testId);
  // The upstream's headers as Envoy's filter saw them: every one the upstream set is there.
  for (const [name, value] of Object.entries(answer.headers)) expect([name, row.ResponseHeaders[name]]).toEqual([name, value]);
  if (answer.trailers) expect(row.ResponseTrailers).toEqual(answer.trailers);

  const requestBody = expected.requestBody ?? Buffer.alloc(0);
  expect(Number(row.RequestBodySize)).toBe(requestBody.length);
  if (expected.requestBodyKept ?? requestBody.length > 0) {
    expect(row.RequestBodyCaptured).toBe(true);
    expect(row.RequestBody).toBe(requestBody.toString('utf8'));
    expect(row.RequestBodySha256).toBe(sha256(requestBody));
  }
  const responseBody = expected.method === 'HEAD' ? Buffer.alloc(0) : answer.body;
  expect(Number(row.ResponseBodySize)).toBe(responseBody.length);
  if (expected.responseBodyKept ?? responseBody.length > 0) {
    expect(row.ResponseBodyCaptured).toBe(true);
    expect(row.ResponseBodySha256).toBe(sha256(responseBody));
    if (!answer.headers['content-encoding']) expect(row.ResponseBody).toBe(responseBody.toString('utf8'));
  }
  expect(row.RequestBodyTruncated).toBe(false);
  expect(row.ResponseBodyTruncated).toBe(false);
  expectSaneTiming(row);
}

/** Timing columns in the order things happen. */
export function expectSaneTiming(row: Row): void {
  expect(row.DurationMs).toBeGreaterThanOrEqual(0);
  expect(row.DurationMs).toBeLessThan(60_000);
  if (row.StatusCode > 0) {
    expect(row.ResponseHeadersMs).toBeGreaterThanOrEqual(0);
    expect(row.ResponseHeadersMs).toBeLessThanOrEqual(row.DurationMs);
  }
  if (Number(row.ResponseBodySize) > 0) {
    expect(row.ResponseFirstChunkMs).toBeGreaterThanOrEqual(row.ResponseHeadersMs);
    expect(row.ResponseFirstChunkMs).toBeLessThanOrEqual(row.DurationMs);
  }
}

/** Envoy's own view: no failed stream, timeout, spurious message or fail-open event on this listener. */
export async function expectCleanExtProc(stack: EnvoyStack, listener: string, atLeastStreams = 1): Promise<Record<string, number>> {
  const stats = await stack.envoy.extProcStats(listener);
  expect({
    listener,
    streams_failed: stats.streams_failed,
    message_timeouts: stats.message_timeouts,
    spurious_msgs_received: stats.spurious_msgs_received,
    failure_mode_allowed: stats.failure_mode_allowed,
  }).toEqual({ listener, streams_failed: 0, message_timeouts: 0, spurious_msgs_received: 0, failure_mode_allowed: 0 });
  expect(stats.streams_started).toBeGreaterThanOrEqual(atLeastStreams);
  return stats;
}

/** Sum of a Prometheus counter's samples whose labels include `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.eE+-]+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      (match[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((pair) => {
          const [key, value] = pair.split('=');
          return [key, value!.replace(/^"|"$/g, '')];
        }),
    );
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) total += Number(match[3]);
  }
  return total;
}
