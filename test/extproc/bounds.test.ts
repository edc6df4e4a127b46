/**
 * What one client can make the gRPC port hold: concurrent streams per
 * connection (HTTP/2 max_concurrent_streams), header bytes per exchange, and
 * body bytes waiting for a worker (the pending-work bound, the last piece of
 * each body included). Real server, real client, real workers and store.
 */
import * as grpc from '@grpc/grpc-js';
import { HEADERS_CUT_NAME } from '../../src/capture/exchange-assembler';
import type { ExchangeSnapshot } from '../../src/capture/exchange-snapshot';
import { DEFAULTS } from '../../src/config/defaults';
import type { CaptureServer } from '../../src/extproc/capture-server';
import { pathsOf, startBareCaptureServer } from '../support/bare-capture-server';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { exchange, headers, rawClient, type RawCall } from '../support/raw-extproc-client';

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('max_concurrent_streams', () => {
  const LIMIT = 4;
  let server: CaptureServer;
  const finished: ExchangeSnapshot[] = [];

  beforeAll(async () => {
    server = await startBareCaptureServer(finished, { maxConcurrentStreams: LIMIT });
  });

  afterAll(async () => {
    await server.drain(100);
  });

  it('a client opening more streams than the limit gets at most the limit served at once; the rest wait their turn', async () => {
    const client = rawClient(`127.0.0.1:${server.boundPort}`);
    const calls: RawCall[] = [];
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, server.activeStreams)), 2);
    try {
      for (let i = 0; i < 3 * LIMIT; i++) {
        const call = client.Process();
        call.on('error', () => undefined);
        call.write({
          request_headers: {
            headers: headers([
              [':method', 'GET'],
              [':path', `/stream-${i}`],
            ]),
            end_of_stream: true,
          },
        });
        calls.push(call);
      }
      await waitFor(() => server.activeStreams === LIMIT);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.activeStreams).toBe(LIMIT);
      // Ending the served calls lets the waiting ones in, a limit's worth at a time.
      for (const call of calls) call.end();
      await waitFor(() => finished.length === 3 * LIMIT);
      expect(most).toBeLessThanOrEqual(LIMIT);
      expect(pathsOf(finished).sort()).toEqual(Array.from({ length: 3 * LIMIT }, (_, i) => `/stream-${i}`).sort());
    } finally {
      clearInterval(sampler);
      client.close();
    }
  });
});

interface Row {
  Path: string;
  StatusCode: number;
  RequestHeaders: Record<string, string>;
  ResponseHeaders: Record<string, string>;
  RequestBody: string;
  RequestBodyNote: string;
  ResponseBody: string;
  ResponseBodyNote: string;
}

describe('header bytes and pending work on a real service', () => {
  const BACKLOG = 50_000;
  let harness: CaptureHarness;
  let client: ReturnType<typeof rawClient>;

  beforeAll(async () => {
    harness = await startCaptureHarness({ processingBacklogMaxBytes: BACKLOG });
    client = rawClient(harness.grpcAddress);
  });

  afterAll(async () => {
    client.close();
    await harness.stop();
  });

  const rowFor = (path: string): Promise<Row> => harness.rowAt<Row>(path);

  it('an exchange with 1,000 headers of 8 KiB stores at most the bound, marked and counted, and keeps the response', async () => {
    const many: Array<[string, string]> = Array.from({ length: 1000 }, (_, i) => [`x-filler-${String(i).padStart(4, '0')}`, 'h'.repeat(8 * 1024)]);
    const result = await exchange(
      client,
      [
        { request_headers: { headers: headers([[':method', 'GET'], [':path', '/many-headers'], [':authority', 'bounds.test'], ...many]), end_of_stream: true } },
        { response_headers: { headers: headers([[':status', '200']]), end_of_stream: true } },
      ],
      { timeoutMs: 10_000 },
    );
    expect(result.status?.code).toBe(grpc.status.OK);
    const row = await rowFor('/many-headers');
    const kept = Object.entries(row.RequestHeaders).filter(([name]) => name.startsWith('x-filler-'));
    const keptBytes = kept.reduce((sum, [name, value]) => sum + name.length + value.length, 0);
    expect(keptBytes).toBeLessThanOrEqual(DEFAULTS.headerBytesMaxPerExchange / 2);
    expect(kept.length).toBeGreaterThan(0);
    // The kept ones are the first, in order; the count in the marker is the rest.
    expect(kept.map(([name]) => name).sort()).toEqual(many.slice(0, kept.length).map(([name]) => name));
    const cut = 1000 - kept.length;
    expect(row.RequestHeaders[HEADERS_CUT_NAME]).toMatch(new RegExp(`^${cut} entries \\(\\d+ bytes\\) not kept: over the ${DEFAULTS.headerBytesMaxPerExchange / 2}-byte header limit`));
    expect(row.StatusCode).toBe(200);
    expect(await harness.metric('egress_capture_errors_total', { kind: 'headers_over_limit' })).toBe(1);
  });

  it('the last piece of each body counts against the pending-work bound', async () => {
    // Both bodies are below the ship chunk size, so each arrives at the worker only as the
    // finish task's last piece: 40 kB fits the 50 kB bound, the second 40 kB does not.
    const body = Buffer.from(JSON.stringify({ pad: 'b'.repeat(40_000) }));
    const before = await harness.metric('egress_capture_errors_total', { kind: 'processing_backlog' });
    const result = await exchange(client, [
      {
        request_headers: {
          headers: headers([
            [':method', 'POST'],
            [':path', '/last-piece'],
            ['content-type', 'application/json'],
          ]),
          end_of_stream: false,
        },
      },
      { request_body: { body, end_of_stream: true } },
      {
        response_headers: {
          headers: headers([
            [':status', '200'],
            ['content-type', 'application/json'],
          ]),
          end_of_stream: false,
        },
      },
      { response_body: { body, end_of_stream: true } },
    ]);
    expect(result.status?.code).toBe(grpc.status.OK);
    const row = await rowFor('/last-piece');
    expect(row.RequestBody).toBe(body.toString());
    expect(row.ResponseBody).toBe('');
    expect(row.ResponseBodyNote).toBe('processing_backlog');
    expect((await harness.metric('egress_capture_errors_total', { kind: 'processing_backlog' })) - before).toBe(1);
    // Everything counted in is counted out once the worker is done with it.
    expect(await harness.metric('egress_capture_processing_backlog_bytes')).toBe(0);
  });
});
