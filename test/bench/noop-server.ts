/**
 * The bench's baseline: an ext_proc server that does nothing but what Envoy
 * requires of any processor, so "capture CPU / no-op CPU" isolates what
 * capturing costs. It runs as its own process (the bench spawns
 * `node dist/test/bench/noop-server.js --listen 127.0.0.1:0`) and prints
 * `noop ext_proc listening on :PORT` once bound.
 *
 * It is written the way a Node ext_proc server conventionally is: grpc-js and
 * proto-loader, with the acknowledgments encoded once. The capture server is
 * not (its own gRPC transport, src/extproc/transport/), so the ratio also
 * shows what that buys. To be fair it shares the rest: the proto definitions,
 * the message size limits, the HTTP/2 rapid-reset settings, the health
 * service on the same port, the same shared frozen acknowledgments, and the
 * same end-of-call rule (end the call ourselves once both directions reached
 * their end marker, so Envoy's closing reset finds a finished stream).
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { DEFAULTS } from '../../src/config/defaults';
import { BodySendMode, EXT_PROC_SERVICE, extProcServiceDefinition, type ProcessingRequest, type ProcessingResponse } from '../../src/extproc/wire/protocol';
import { acknowledgment, withEncodedAcknowledgments } from '../../src/extproc/replies';

type Call = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/**
 * grpc-js builds its http2 server from a private options object and exposes
 * no way to pass Node's rapid-reset guard settings (streamResetBurst /
 * streamResetRate). Envoy ends every ext_proc call with RST_STREAM, so with
 * the defaults (burst 1000, 33/s) a busy Envoy connection gets GOAWAY and
 * every in-flight call on it fails. We add the two settings to that object
 * before binding; if a grpc-js upgrade moves it, start-up fails loudly
 * instead of silently running with the guard at its defaults.
 */
function applyHttp2ServerOptions(server: grpc.Server, extra: { streamResetBurst: number; streamResetRate: number }): void {
  const internals = server as unknown as { commonServerOptions?: Record<string, unknown> };
  if (internals.commonServerOptions === undefined || typeof internals.commonServerOptions !== 'object') {
    throw new Error('grpc-js Server has no commonServerOptions; cannot set the HTTP/2 rapid-reset limits');
  }
  internals.commonServerOptions.streamResetBurst = extra.streamResetBurst;
  internals.commonServerOptions.streamResetRate = extra.streamResetRate;
}

/** One call: acknowledge in arrival order, end the call when the exchange is complete. */
function onCall(call: Call): void {
  let requestEnded = false;
  let responseEnded = false;
  let requestHeadersSeen = false;
  let requestBodyMode: number | undefined;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    if (call.cancelled || call.destroyed) return;
    try {
      call.end();
    } catch {
      // The peer closed first; nothing to end.
    }
  };
  call.on('data', (message: ProcessingRequest) => {
    if (ended) return;
    const part = message.request;
    if (part === undefined) return;
    if (message.protocol_config != null) requestBodyMode = message.protocol_config.request_body_mode ?? BodySendMode.NONE;
    // The same end markers the capture server's assembler recognises.
    switch (part) {
      case 'request_headers':
        requestHeadersSeen = true;
        if (message.request_headers?.end_of_stream === true) requestEnded = true;
        break;
      case 'request_body':
        if (message.request_body?.end_of_stream === true) requestEnded = true;
        break;
      case 'request_trailers':
        requestEnded = true;
        break;
      case 'response_headers':
        if (message.response_headers?.end_of_stream === true) responseEnded = true;
        break;
      case 'response_body':
        if (message.response_body?.end_of_stream === true) responseEnded = true;
        break;
      case 'response_trailers':
        responseEnded = true;
        break;
    }
    if (message.observability_mode !== true) {
      try {
        call.write(acknowledgment(part));
      } catch {
        // Envoy already reset the call.
      }
    }
    const requestDone = requestEnded || (requestHeadersSeen && requestBodyMode === BodySendMode.NONE);
    if (requestDone && responseEnded) end();
  });
  call.on('end', end);
  call.on('cancelled', end);
  call.on('error', end);
}

function parseListen(argv: string[]): { host: string; port: number } {
  const at = argv.indexOf('--listen');
  const raw = at >= 0 ? argv[at + 1] : '127.0.0.1:0';
  const match = /^(.*):(\d+)$/.exec(raw ?? '');
  if (!match) throw new Error(`--listen expects HOST:PORT, got ${raw}`);
  return { host: match[1], port: Number(match[2]) };
}

async function main(): Promise<void> {
  const { host, port } = parseListen(process.argv.slice(2));
  const server = new grpc.Server({
    'grpc.max_receive_message_length': DEFAULTS.grpcMaxReceiveMessageBytes,
    'grpc.max_send_message_length': DEFAULTS.grpcMaxReceiveMessageBytes,
  });
  applyHttp2ServerOptions(server, { streamResetBurst: DEFAULTS.http2StreamResetBurst, streamResetRate: DEFAULTS.http2StreamResetRate });
  server.addService(withEncodedAcknowledgments(extProcServiceDefinition()), { Process: onCall });
  const health = new HealthImplementation({ '': 'SERVING', [EXT_PROC_SERVICE]: 'SERVING' });
  health.addToServer(server);
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  process.stdout.write(`noop ext_proc listening on :${bound}\n`);
  const stop = (): void => {
    server.tryShutdown(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`noop-server: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
