/**
 * Self-tests of FULL_DUPLEX_STREAMED echo checking and observability mode.
 */
import { waitFor } from './wait-for';
import { EnvoyEmulator } from './envoy-emulator';
import { emulatorFixtures } from './emulator-fixtures';
import { receivedNotation, sentNotation } from './message-notation';
import type { HttpExchangeSpec } from './http-exchange-spec';

const fixtures = emulatorFixtures();
const setup = fixtures.setup;

const UPLOAD: HttpExchangeSpec = {
  request: {
    headers: [
      [':method', 'POST'],
      [':path', '/v1/embeddings'],
      [':scheme', 'https'],
      [':authority', 'api'],
      ['content-type', 'application/json'],
    ],
    body: ['{"input":', { data: '"hello"', delayMs: 5 }, { data: '}', delayMs: 5 }],
  },
  response: {
    headers: [
      [':status', '200'],
      ['content-type', 'application/json'],
    ],
    body: ['{"data":[]}'],
  },
};

const FDS_REQUEST = { requestBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'SEND' } as const;

describe('FULL_DUPLEX_STREAMED', () => {
  test('S25 a server that echoes every byte: body forwarded verbatim, sent before the headers reply', async () => {
    const { emulator } = await setup({}, { processingMode: FDS_REQUEST });
    const result = await emulator.runExchange(UPLOAD);
    expect(result.violations).toEqual([]);
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(9)', 'RB(7)', 'RB(1,eos)', 'SH']);
    expect(receivedNotation(result)).toEqual(['rh', 'rb.sr(9)', 'rb.sr(7)', 'rb.sr(1,eos)', 'sh']);
    expect(result.upstream.body.toString()).toBe('{"input":"hello"}');
    expect(result.upstream.complete).toBe(true);
    expect(result.downstream.status).toBe(200);
    expect(result.sent[0].message.protocol_config?.request_body_mode).toBe(4);
  });

  test('S26 with trailers: trailers sent at once, end_of_stream stays false, trailers reply last', async () => {
    const { emulator } = await setup({}, { processingMode: FDS_REQUEST });
    const result = await emulator.runExchange({ ...UPLOAD, request: { ...UPLOAD.request, trailers: [['x-trailer-foo', 'yes']] } });
    expect(result.violations).toEqual([]);
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(9)', 'RB(7)', 'RB(1)', 'RT', 'SH']);
    expect(result.upstream.trailers).toEqual([['x-trailer-foo', 'yes']]);
  });

  test('a server that drops bytes is caught, and a missing end_of_stream ends in the idle timeout', async () => {
    const { emulator } = await setup({ fdsDropBytes: 1 }, { processingMode: FDS_REQUEST });
    const result = await emulator.runExchange(UPLOAD);
    expect(result.violations.map((v) => v.kind)).toEqual(['fds-echo-mismatch']);
    // Each echo lost its first byte: '{"input":' → '"input":', '"hello"' → 'hello"', '}' → ''.
    expect(result.upstream.body.toString()).toBe('"input":hello"');

    const { emulator: noEos } = await setup({ decide: (req) => (req.request_body?.end_of_stream ? { kind: 'silent' } : undefined) }, { processingMode: FDS_REQUEST, streamIdleTimeoutMs: 150 });
    const hung = await noEos.runExchange(UPLOAD);
    expect(hung.violations.map((v) => v.kind)).toEqual(['fds-end-of-stream']);
    expect(hung.downstream).toMatchObject({ status: 504, details: 'stream_idle_timeout' });
  });

  test('S27 a plain body reply, or a streamed body before the headers reply, is spurious: 500', async () => {
    const { emulator } = await setup(
      { decide: (req) => (req.request === 'request_body' ? { kind: 'reply', reply: { request_body: {} } } : undefined) },
      { processingMode: FDS_REQUEST, failureModeAllow: true },
    );
    const plain = await emulator.runExchange(UPLOAD);
    // failure_mode_allow cannot rescue an FDS direction once body data went out.
    expect(plain.downstream.status).toBe(500);
    expect(plain.violations.map((v) => v.kind)).toEqual(['fds-out-of-order']);

    const { emulator: early } = await setup(
      {
        decide: (req) =>
          req.request === 'request_headers' ? { kind: 'reply', reply: { request_body: { response: { body_mutation: { streamed_response: { body: Buffer.from('x') } } } } } } : undefined,
      },
      { processingMode: FDS_REQUEST },
    );
    const outOfOrder = await early.runExchange(UPLOAD);
    expect(outOfOrder.downstream.status).toBe(500);
    expect(outOfOrder.violations.map((v) => v.kind)).toEqual(['fds-out-of-order']);
  });

  test('FDS is refused by profiles before 1.34 and without trailer SEND', () => {
    expect(() => new EnvoyEmulator({ target: '127.0.0.1:1', envoyVersion: '1.32', processingMode: FDS_REQUEST })).toThrow(/1\.34/);
    expect(() => new EnvoyEmulator({ target: '127.0.0.1:1', processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED' } })).toThrow(/SEND/);
  });
});

describe('observability mode', () => {
  const OBS = { observabilityMode: true, deferredCloseTimeoutMs: 100, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } } as const;

  test('S21/S22 send-and-go: every message flagged, no protocol_config, no waiting, deferred close', async () => {
    const { emulator, processor } = await setup({}, OBS);
    const result = await emulator.runExchange(UPLOAD);
    expect(sentNotation(result)).toEqual(['RH+obs', 'RB(9)+obs', 'RB(7)+obs', 'RB(1,eos)+obs', 'SH+obs', 'SB(11,eos)+obs']);
    expect(result.received).toEqual([]);
    expect(result.downstream.status).toBe(200);
    expect(result.close?.reason).toBe('deferred');
    const httpEnd = result.sent[result.sent.length - 1].atMs;
    expect(result.close!.atMs - httpEnd).toBeGreaterThanOrEqual(90);
    await waitFor(() => processor.calls[0].cancelled);
    expect(processor.calls[0].closeEvents).toEqual(['end', 'cancelled']);
  });

  test('a silent server that never answers does not slow the exchange; replies are flagged and ignored', async () => {
    const { emulator } = await setup({ decide: () => ({ kind: 'reply', reply: { request_headers: {} } }) }, OBS);
    const result = await emulator.runExchange(UPLOAD);
    expect(result.downstream.status).toBe(200);
    expect(result.violations.every((v) => v.kind === 'reply-in-observability-mode')).toBe(true);
    expect(result.violations.length).toBeGreaterThan(0);
  });

  test('the server may end the call first; BUFFERED bodies are not sent in observability mode', async () => {
    const { emulator } = await setup(
      { decide: (req) => (req.request === 'response_headers' ? { kind: 'end-ok' } : undefined) },
      { ...OBS, deferredCloseTimeoutMs: 5000, processingMode: { requestBodyMode: 'BUFFERED' } },
    );
    const result = await emulator.runExchange(UPLOAD);
    expect(sentNotation(result)).toEqual(['RH+obs', 'SH+obs']);
    expect(result.grpcStatus?.code).toBe(0);
    expect(result.close).toBeUndefined();
    // Ended by the server, not by the 5 s deferred-close timeout.
    expect(result.durationMs).toBeLessThan(4000);
  });
});
