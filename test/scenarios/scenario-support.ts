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
import { EnvoyEmulator, type EnvoyEmulatorOptions, type ExchangeResult, type HeaderList, type HttpExchangeSpec } from '../emulator';
import type { RuntimeConfig } from '../../src/config/runtime-config';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';

/** A stored row: Map columns as objects, Bool as booleans, body sizes as numbers (normalized: UInt64 may come back quoted). */
export interface StoredRow {
  Timestamp: string;
  CaptureId: string;
  RequestId: string;
  TraceId: string;
  SpanId: string;
  SourceAddress: string;
  Method: string;
  Scheme: string;
  Authority: string;
  Path: string;
  StatusCode: number;
  RequestHeaders: Record<string, string>;
  ResponseHeaders: Record<string, string>;
  RequestTrailers: Record<string, string>;
  ResponseTrailers: Record<string, string>;
  RequestContentType: string;
  ResponseContentType: string;
  RequestContentEncoding: string;
  ResponseContentEncoding: string;
  RequestBody: string;
  ResponseBody: string;
  RequestBodyCaptured: boolean;
  ResponseBodyCaptured: boolean;
  RequestBodySize: number;
  ResponseBodySize: number;
  RequestBodyTruncated: boolean;
  ResponseBodyTruncated: boolean;
  RequestBodyNote: string;
  ResponseBodyNote: string;
  DurationMs: number;
  ResponseHeadersMs: number;
  Outcome: string;
  Metadata: Record<string, string>;
  Attributes: Record<string, string>;
  ObservabilityMode: boolean;
  BodyModes: string;
  CapturedBy: string;
}

export interface Scenarios {
  harness: CaptureHarness;
  /** An emulator on its own connection to the capture server (closed in teardown). */
  envoy(options?: Omit<EnvoyEmulatorOptions, 'target'>): EnvoyEmulator;
  /** The one row stored for this request id (fails the test if there is not exactly one). */
  row(requestId: string): Promise<StoredRow>;
  rowsWhere(condition: string): Promise<StoredRow[]>;
  count(): Promise<number>;
  stop(): Promise<void>;
}

export async function startScenarios(overrides: Partial<RuntimeConfig> = {}): Promise<Scenarios> {
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
  return {
    harness,
    envoy(options = {}) {
      const emulator = new EnvoyEmulator({ target: harness.grpcAddress, ...options });
      emulators.push(emulator);
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
