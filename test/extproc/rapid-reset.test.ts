/**
 * Envoy closes every ext_proc call with a half-close immediately followed by
 * RST_STREAM. Node's HTTP/2 server counts incoming resets (nghttp2's
 * rapid-reset guard: burst 1000, then 33/s) and past that sends GOAWAY,
 * failing every call in flight on the connection. This test drives both a
 * plain grpc-js server and the capture server at a realistic rate through one
 * connection, the way Envoy's ext_proc cluster does, with calls the server
 * cannot end early (the request is still open when Envoy resets), and shows
 * the failure on the plain server and none on ours.
 */
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition, type ProcessingRequest, type ProcessingResponse } from '../../src/extproc/wire/protocol';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { headers, rawClient, type RawCall } from '../support/raw-extproc-client';

const EXCHANGES_PER_SECOND = 700;
const DURATION_MS = 3000;

interface RunResult {
  sent: number;
  acknowledged: number;
  failed: number;
}

/** One Envoy-like connection: open a call, send request headers, wait for the ack, then half-close + reset. */
async function driveEnvoyStyleCloses(address: string): Promise<RunResult> {
  const client = rawClient(address);
  const result: RunResult = { sent: 0, acknowledged: 0, failed: 0 };
  const pending: Array<Promise<void>> = [];
  const intervalMs = 1000 / EXCHANGES_PER_SECOND;
  const started = Date.now();
  let next = started;
  while (Date.now() - started < DURATION_MS) {
    const now = Date.now();
    while (next <= now) {
      next += intervalMs;
      result.sent += 1;
      pending.push(oneExchange(client, result));
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(pending);
  client.close();
  return result;
}

/**
 * Request headers, a body chunk 20 ms later, then response headers, each
 * acknowledged before the next: an exchange stays open ~25 ms, so at 700/s a
 * dozen or more are in flight on the connection, as with a real Envoy. The
 * response never ends, so the server cannot end the call before Envoy resets it.
 */
function oneExchange(client: { Process(): RawCall }, result: RunResult): Promise<void> {
  return new Promise((resolve) => {
    const call = client.Process();
    let settled = false;
    let acks = 0;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) result.acknowledged += 1;
      else result.failed += 1;
      resolve();
    };
    // A GOAWAY fails calls at once; the bound only catches a call that never ends, with room for a loaded machine.
    const timer = setTimeout(() => {
      call.cancel();
      settle(false);
    }, 15_000);
    call.on('data', () => {
      acks += 1;
      if (acks === 1) {
        setTimeout(() => call.write({ request_body: { body: Buffer.from('{"input":"hello"}'), end_of_stream: true }, metadata_context: {} }), 20);
      } else if (acks === 2) {
        call.write({
          response_headers: {
            headers: headers([
              [':status', '200'],
              ['content-type', 'application/json'],
            ]),
            end_of_stream: false,
          },
          metadata_context: {},
        });
      } else if (acks === 3) {
        // Envoy's close: END_STREAM then RST_STREAM, back to back.
        call.end();
        call.cancel();
        settle(true);
      }
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED || !settled) settle(false);
    });
    call.write({
      request_headers: {
        headers: headers([
          [':method', 'POST'],
          [':path', '/v1/x'],
          [':authority', 'api.example.com'],
          ['content-type', 'application/json'],
        ]),
        end_of_stream: false,
      },
      metadata_context: {},
    });
  });
}

describe('HTTP/2 rapid-reset guard under Envoy-style closes', () => {
  let plain: grpc.Server;
  let plainPort: number;
  let harness: CaptureHarness;

  beforeAll(async () => {
    plain = new grpc.Server();
    plain.addService(extProcServiceDefinition(), {
      // A passive server that acknowledges and leaves the close to Envoy.
      Process: (call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>) => {
        call.on('data', (message: ProcessingRequest) => {
          if (message.request_headers) call.write({ request_headers: { response: {} } });
          else if (message.request_body) call.write({ request_body: { response: {} } });
          else if (message.response_headers) call.write({ response_headers: { response: {} } });
        });
        call.on('error', () => undefined);
      },
    });
    plainPort = await new Promise<number>((resolve, reject) => plain.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
    harness = await startCaptureHarness();
  });

  afterAll(async () => {
    plain.forceShutdown();
    await harness.stop();
  });

  it('a plain grpc-js server tears the connection down and exchanges fail', async () => {
    const result = await driveEnvoyStyleCloses(`127.0.0.1:${plainPort}`);
    expect(result.sent).toBeGreaterThan(1500);
    expect(result.failed).toBeGreaterThan(0);
  }, 40_000);

  it('the capture server acknowledges every exchange and records each one', async () => {
    const result = await driveEnvoyStyleCloses(harness.grpcAddress);
    expect(result.failed).toBe(0);
    expect(result.acknowledged).toBe(result.sent);
    const [row] = await harness.rows<{ n: string }>("SELECT count() AS n FROM http_exchanges WHERE Authority = 'api.example.com'");
    expect(Number(row!.n)).toBe(result.sent);
  }, 40_000);
});
