/**
 * Shared plumbing for the §9 scenario files: one real capture service (real
 * gRPC server, workers and embedded ClickHouse) per test file, Envoy emulators
 * pointed at it, and the stored row of an exchange looked up by the
 * x-request-id the test put on the request.
 *
 * Each scenario asserts two things: what Envoy saw (the emulator's result) and
 * what landed in ClickHouse (the row), because a capture server can be wrong
 * in either place without the other showing it.
 */
import { randomUUID } from 'node:crypto';
import { EnvoyEmulator, requestNotation, type EnvoyEmulatorOptions, type ExchangeResult, type HeaderList, type HttpExchangeSpec } from '../emulator';
import type { ExchangeRow } from '../../src/row/exchange-row';
import type { ConfigInput } from '../../src/config/runtime-config';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';

/** A stored row as read back: the row type itself, with UInt64 sizes normalized to numbers (they may come back quoted). */
export type StoredRow = ExchangeRow;

export interface Scenarios {
  harness: CaptureHarness;
  /** An emulator on its own connection to the capture server (closed in teardown). */
  envoy(options?: Omit<EnvoyEmulatorOptions, 'target'>): EnvoyEmulator;
  /** The same, with its connection up, for scenarios whose message boundaries depend on reply timing. */
  warmEnvoy(options?: Omit<EnvoyEmulatorOptions, 'target'>): Promise<EnvoyEmulator>;
  /** The one row stored for this request id (fails the test if there is not exactly one). */
  row(requestId: string): Promise<StoredRow>;
  rowsWhere(condition: string): Promise<StoredRow[]>;
  count(): Promise<number>;
  stop(): Promise<void>;
}

export async function startScenarios(overrides: Partial<ConfigInput> = {}): Promise<Scenarios> {
  const harness = await startCaptureHarness(overrides);
  const emulators: EnvoyEmulator[] = [];
  const rowsWhere = async (condition: string) => {
    const rows = await harness.rows<StoredRow>(`SELECT * FROM http_exchanges WHERE ${condition} ORDER BY Timestamp`);
    // JSONEachRow may quote 64-bit integers depending on settings; compare sizes as numbers.
    for (const row of rows) {
      row.RequestBodySize = Number(row.RequestBodySize);
      row.ResponseBodySize = Number(row.ResponseBodySize);
    }
    return rows;
  };
  const envoy = (options: Omit<EnvoyEmulatorOptions, 'target'> = {}) => {
    const emulator = new EnvoyEmulator({ target: harness.grpcAddress, messageTimeoutMs: SCENARIO_MESSAGE_TIMEOUT_MS, ...options });
    emulators.push(emulator);
    return emulator;
  };
  return {
    harness,
    envoy,
    async warmEnvoy(options = {}) {
      const emulator = envoy(options);
      await emulator.waitForReady();
      return emulator;
    },
    async row(requestId) {
      const rows = await rowsWhere(`RequestId = '${requestId.replace(/'/g, "\\'")}'`);
      if (rows.length !== 1) throw new Error(`expected exactly one row for request id ${requestId}, found ${rows.length}`);
      return rows[0]!;
    },
    rowsWhere,
    async count() {
      const [result] = await harness.rows<{ n: string }>('SELECT count() AS n FROM http_exchanges');
      return Number(result?.n ?? 0);
    },
    async stop() {
      for (const emulator of emulators) emulator.close();
      await harness.stop();
    },
  };
}

/**
 * The emulator's message timeout in these scenarios, unless a test asks for
 * Envoy's 200 ms. The emulator, the server and its store share one Node
 * process here, so on a loaded machine (CI, parallel jest workers) the event
 * loop can stall for a few hundred milliseconds and a 200 ms timer would fail
 * exchanges the server answered in about a millisecond. These scenarios check
 * what the server replies and stores; reply latency is the bench's business.
 * Tests about the timer itself (S15, S43) set 200 ms explicitly.
 */
export const SCENARIO_MESSAGE_TIMEOUT_MS = 2000;

/** Envoy's default per-message timeout, for the scenarios that are about the timer. */
export const ENVOY_MESSAGE_TIMEOUT_MS = 200;

/**
 * Delay of a first body read meant to arrive after the headers reply. Reads
 * that arrive while the headers reply is pending are coalesced into one body
 * message (reference §3.3), which would change the message sequence a test
 * asserts; the server answers in about a millisecond, this leaves room for a
 * loaded machine.
 */
export const AFTER_HEADERS_REPLY_MS = 60;

/** A fresh id per exchange, so each test finds its own row whatever ran before. */
export function newRequestId(label: string): string {
  return `${label}-${randomUUID()}`;
}

export function requestHeaders(method: string, path: string, requestId: string, extra: HeaderList = []): HeaderList {
  return [[':method', method], [':path', path], [':scheme', 'https'], ['host', 'api.example.com'], ...extra, ['x-request-id', requestId]];
}

/** A JSON POST of the given body reads, answered by the given response. */
export function jsonPost(path: string, requestId: string, chunks: HttpExchangeSpec['request']['body'], response?: HttpExchangeSpec['response'], extra: HeaderList = []): HttpExchangeSpec {
  return {
    name: requestId,
    request: { headers: requestHeaders('POST', path, requestId, [['content-type', 'application/json'], ...extra]), body: chunks },
    response,
  };
}

/** What every exchange against a correct passive server must show on Envoy's side. */
export function expectCleanExchange(result: ExchangeResult): void {
  expect(result.violations).toEqual([]);
  expect(result.failure).toBeUndefined();
  expect(result.continuedUnprocessed).toBe(false);
  expect(result.ignoredReplies).toBe(0);
}

/** Every reply a passive server sends is an empty acknowledgment (FDS echoes aside). */
export function expectOnlyEmptyAcks(result: ExchangeResult): void {
  for (const { message } of result.received) {
    const part = message[message.response as keyof typeof message] as { response?: { status?: number; header_mutation?: unknown; body_mutation?: unknown } } | undefined;
    expect(part?.response?.status ?? 0).toBe(0);
    expect(part?.response?.header_mutation ?? null).toBeNull();
    expect(part?.response?.body_mutation ?? null).toBeNull();
  }
}

/**
 * STREAMED chunking as Envoy does it (reference §3.3): reads that arrive while
 * the headers reply is pending go out as one coalesced message, every later
 * read as its own message. How many reads get coalesced depends on how fast
 * the reply came back, so this accepts any such prefix; everything else
 * (sizes, order, one end_of_stream at most and only on the last) is exact.
 */
export function expectStreamedReads(result: ExchangeResult, direction: 'request' | 'response', readSizes: number[], endOfStream: boolean, allReplied = true): void {
  const field = direction === 'request' ? 'request_body' : 'response_body';
  const parts = result.sent.filter(({ message }) => message.request === field).map(({ message }) => message[field]!);
  const sizes = parts.map((part) => part.body?.length ?? 0);
  const coalesced = readSizes.length - (sizes.length - 1);
  expect(coalesced).toBeGreaterThanOrEqual(1);
  expect(sizes).toEqual([readSizes.slice(0, coalesced).reduce((a, b) => a + b, 0), ...readSizes.slice(coalesced)]);
  expect(parts.map((part) => part.end_of_stream === true)).toEqual(parts.map((_, i) => endOfStream && i === parts.length - 1));
  // One empty acknowledgment per body message, whatever the chunking (after a client reset Envoy
  // closes the call at once, so replies still on the way are never read: then only "at most").
  const replies = result.received.filter(({ message }) => message.response === field);
  if (allReplied) expect(replies).toHaveLength(parts.length);
  else expect(replies.length).toBeLessThanOrEqual(parts.length);
}

/** The message sequence with body messages left out (their chunking is checked by expectStreamedReads). */
export function sentWithoutBodies(result: ExchangeResult): string[] {
  return result.sent.filter(({ message }) => message.request !== 'request_body' && message.request !== 'response_body').map(({ message }) => requestNotation(message));
}

/**
 * A body larger than maxBytes is stored as its start, a skip marker counting
 * every byte not shown, and its end (the end of an AI stream carries usage and
 * finish reason), within maxBytes in all, each cut on a UTF-8 character
 * boundary. Checks all of that against the original text.
 */
export function expectHeadAndTail(stored: string, original: string, maxBytes: number): void {
  expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(maxBytes);
  expect(stored).not.toContain('\ufffd');
  const match = /^([\s\S]*)\n\[… (\d+) bytes skipped …\]\n([\s\S]*)$/.exec(stored);
  expect(match).not.toBeNull();
  const [, head, skipped, tail] = match!;
  expect(original.startsWith(head!)).toBe(true);
  expect(original.endsWith(tail!)).toBe(true);
  expect(head!.length).toBeGreaterThan(0);
  // Nothing lost silently: what is shown plus what the marker counts is the whole body.
  expect(Buffer.byteLength(head!) + Number(skipped) + Buffer.byteLength(tail!)).toBe(Buffer.byteLength(original));
}
