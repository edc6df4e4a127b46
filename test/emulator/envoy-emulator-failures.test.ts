/**
 * Self-tests of the emulator's failure paths against misbehaving processors:
 * late replies, wrong oneofs, ended calls, gRPC errors — each must end the
 * exchange the way Envoy would for the chosen profile and failure mode.
 */
import * as grpc from '@grpc/grpc-js';
import type { FakeProcessorOptions } from './fake-processors';
import { emulatorFixtures } from './emulator-fixtures';
import { sentNotation } from './message-notation';
import type { HttpExchangeSpec } from './http-exchange-spec';

const GET: HttpExchangeSpec = {
  request: {
    headers: [
      [':method', 'GET'],
      [':path', '/'],
      [':scheme', 'http'],
      [':authority', 'svc'],
    ],
  },
  response: {
    headers: [
      [':status', '200'],
      ['content-type', 'application/json'],
    ],
    body: ['{"ok":true}'],
  },
};

const fixtures = emulatorFixtures();
const setup = fixtures.setup;

describe('message timeout', () => {
  const lateHeaders: FakeProcessorOptions = {
    decide: (req) => (req.request === 'request_headers' ? { kind: 'reply', reply: { request_headers: {} }, delayMs: 150 } : undefined),
  };

  test('S18 a late reply fails closed with 504 and closes the call; the late reply is ignored', async () => {
    const { emulator } = await setup(lateHeaders, { messageTimeoutMs: 50 });
    const result = await emulator.runExchange(GET);
    expect(result.downstream).toMatchObject({ status: 504, details: 'ext_proc_error_per-message_timeout_exceeded' });
    expect(result.failure).toMatchObject({ kind: 'message-timeout', failedClosed: true });
    expect(result.close?.reason).toBe('error');
    expect(result.upstream.requestStarted).toBe(false);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc']);
  });

  test('S19 with failure_mode_allow the request continues unprocessed and nothing more is sent', async () => {
    const { emulator } = await setup(lateHeaders, { messageTimeoutMs: 50, failureModeAllow: true });
    const result = await emulator.runExchange(GET);
    expect(result.downstream.status).toBe(200);
    expect(result.downstream.body.toString()).toBe('{"ok":true}');
    expect(result.failure).toMatchObject({ kind: 'message-timeout', failedClosed: false });
    expect(result.continuedUnprocessed).toBe(true);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc']);
  });

  test('S43 the timer is re-armed per STREAMED send; a chunk left unanswered fails the exchange', async () => {
    const { emulator } = await setup(
      { decide: (req, i) => (req.request === 'request_body' && i === 2 ? { kind: 'silent' } : undefined) },
      { messageTimeoutMs: 250, processingMode: { requestBodyMode: 'STREAMED' } },
    );
    // Gaps shorter than the timer, then a send left unanswered far longer than it. The margins are
    // wide because a loaded machine (two test files at once) delays timers by tens of ms.
    const result = await emulator.runExchange({
      request: {
        headers: [
          [':method', 'POST'],
          [':path', '/'],
          [':scheme', 'http'],
          [':authority', 'svc'],
        ],
        body: [
          { data: 'c1', delayMs: 80 },
          { data: 'c2', delayMs: 80 },
          { data: 'c3', delayMs: 800 },
        ],
      },
    });
    expect(sentNotation(result)).toEqual(['RH+pc', 'RB(2)', 'RB(2)']);
    expect(result.downstream.status).toBe(504);
    expect(result.upstream.body.toString()).toBe('c1');
  });

  test('a slow but timely server never trips the timer', async () => {
    const { emulator } = await setup({ replyDelayMs: 20 }, { messageTimeoutMs: 200 });
    const result = await emulator.runExchange(GET);
    expect(result.downstream.status).toBe(200);
    expect(result.failure).toBeUndefined();
  });
});

describe('spurious replies', () => {
  const wrongOneof: FakeProcessorOptions = {
    decide: (req) => (req.request === 'request_headers' ? { kind: 'reply', reply: { response_headers: {} } } : undefined),
  };

  test('S36 wrong oneof fails closed with 500 from 1.35 on', async () => {
    const { emulator } = await setup(wrongOneof, { envoyVersion: '1.35-1.36' });
    const result = await emulator.runExchange(GET);
    expect(result.downstream.status).toBe(500);
    expect(result.failure).toMatchObject({ kind: 'spurious-reply', failedClosed: true });
    expect(result.violations.map((v) => v.kind)).toEqual(['reply-for-unknown-message']);
  });

  test('S36 wrong oneof is ignored up to 1.34: the request continues unprocessed', async () => {
    const { emulator } = await setup(wrongOneof, { envoyVersion: '1.34' });
    const result = await emulator.runExchange(GET);
    expect(result.downstream.status).toBe(200);
    expect(result.continuedUnprocessed).toBe(true);
    expect(sentNotation(result)).toEqual(['RH(eos)+pc']);
    expect(result.violations).toHaveLength(1);
  });

  test('a reply with no oneof, and a body reply while headers await, are spurious', async () => {
    const { emulator } = await setup({ decide: (req) => (req.request === 'request_headers' ? { kind: 'reply', reply: {} } : undefined) });
    const none = await emulator.runExchange(GET);
    expect(none.downstream.status).toBe(500);
    expect(none.violations.map((v) => v.kind)).toEqual(['spurious-reply']);

    const { emulator: early } = await setup(
      { decide: (req) => (req.request === 'request_headers' ? { kind: 'reply', reply: { request_body: {} } } : undefined) },
      { processingMode: { requestBodyMode: 'STREAMED' }, sendBodyWithoutWaitingForHeaderResponse: true },
    );
    const wrongOrder = await early.runExchange({
      request: { headers: GET.request.headers, body: ['x'] },
    });
    expect(wrongOrder.violations.map((v) => v.kind)).toEqual(['wrong-order']);
    expect(wrongOrder.downstream.status).toBe(500);
  });

  test('replies carrying mutations are flagged as active', async () => {
    const { emulator } = await setup({
      decide: (req) => (req.request === 'request_headers' ? { kind: 'reply', reply: { request_headers: { response: { status: 1 } } } } : undefined),
    });
    const result = await emulator.runExchange(GET);
    expect(result.violations.map((v) => v.kind)).toEqual(['active-reply']);
  });
});

describe('the server ends the call', () => {
  test('S37 OK after the request headers reply: the rest goes through unprocessed', async () => {
    const { emulator, processor } = await setup({ decide: (req) => (req.request === 'response_headers' ? { kind: 'end-ok' } : undefined) }, { envoyVersion: '1.34' });
    const result = await emulator.runExchange(GET);
    expect(result.downstream.status).toBe(200);
    expect(result.downstream.body.toString()).toBe('{"ok":true}');
    expect(result.continuedUnprocessed).toBe(true);
    expect(result.grpcStatus?.code).toBe(grpc.status.OK);
    expect(result.close).toBeUndefined();
    expect(result.failure).toBeUndefined();
    expect(processor.calls[0].requests.map((r) => r.request)).toEqual(['request_headers', 'response_headers']);
  });

  test('S38 an error status fails closed with 500 (fail-open: 200)', async () => {
    const failing: FakeProcessorOptions = {
      decide: (req) => (req.request === 'request_headers' ? { kind: 'end-error', code: grpc.status.INTERNAL, details: 'boom' } : undefined),
    };
    const { emulator } = await setup(failing);
    const closed = await emulator.runExchange(GET);
    expect(closed.downstream).toMatchObject({ status: 500, details: 'ext_proc_error_gRPC_error_13{boom}' });
    expect(closed.failure).toMatchObject({ kind: 'grpc-error', grpcCode: grpc.status.INTERNAL, failedClosed: true });

    const open = await emulator.runExchange(GET, { failureModeAllow: true });
    expect(open.downstream.status).toBe(200);
    expect(open.failure).toMatchObject({ kind: 'grpc-error', failedClosed: false });
  });

  test('a connection that cannot be made fails the exchange with the gRPC status recorded', async () => {
    const emulator = fixtures.emulator({ target: '127.0.0.1:1', messageTimeoutMs: 1000 });
    const result = await emulator.runExchange(GET);
    expect(result.downstream.status).toBe(500);
    expect(result.failure).toMatchObject({ kind: 'grpc-error', grpcCode: grpc.status.UNAVAILABLE });
  });
});
