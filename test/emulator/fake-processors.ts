/**
 * Small ext_proc servers for the emulator's self-tests (and a no-op baseline
 * for the bench): a correct passive processor whose behaviour can be bent per
 * message (delay, wrong oneof, drop FDS bytes, end the call) to provoke each
 * Envoy failure path.
 */
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition, type ProcessingRequest, type ProcessingResponse } from '../../src/extproc/wire/protocol';

type ServerCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

/** What the processor does with one message; `undefined` = the correct passive reply. */
export type ProcessorAction = { kind: 'reply'; reply: ProcessingResponse; delayMs?: number } | { kind: 'silent' } | { kind: 'end-ok' } | { kind: 'end-error'; code: grpc.status; details?: string };

export interface FakeProcessorOptions {
  /** Per message: override the correct reply. `index` counts messages on this call. */
  decide?: (request: ProcessingRequest, index: number) => ProcessorAction | undefined;
  /** Delay every correct reply by this much. */
  replyDelayMs?: number;
  /** FULL_DUPLEX_STREAMED: echo body bytes (true) as streamed_response, dropping `fdsDropBytes` from each echo. */
  fdsDropBytes?: number;
}

/** What a server observed on one call, for assertions about Envoy's side of the wire. */
export interface ObservedCall {
  requests: ProcessingRequest[];
  metadata: grpc.Metadata;
  /** The client half-closed (readable end). */
  halfClosed: boolean;
  /** The client reset the stream (grpc-js 'cancelled'). */
  cancelled: boolean;
  /** Order in which 'end' and 'cancelled' were seen. */
  closeEvents: string[];
}

/** The correct passive reply to one message: the matching oneof, empty (CONTINUE); FDS echoes. */
export function passiveReply(request: ProcessingRequest, fdsDropBytes = 0): ProcessingResponse | undefined {
  if (request.observability_mode) return undefined;
  const fds = (body: { body?: Buffer; end_of_stream?: boolean }) => ({
    response: {
      body_mutation: {
        streamed_response: { body: (body.body ?? Buffer.alloc(0)).subarray(fdsDropBytes), end_of_stream: body.end_of_stream ?? false },
      },
    },
  });
  const config = request.protocol_config;
  switch (request.request) {
    case 'request_headers':
      return { request_headers: {} };
    case 'response_headers':
      return { response_headers: {} };
    case 'request_body':
      return { request_body: isFds(config?.request_body_mode) ? fds(request.request_body!) : {} };
    case 'response_body':
      return { response_body: isFds(config?.response_body_mode) ? fds(request.response_body!) : {} };
    case 'request_trailers':
      return { request_trailers: {} };
    case 'response_trailers':
      return { response_trailers: {} };
    default:
      return undefined;
  }
}

function isFds(mode: number | undefined): boolean {
  return mode === 4;
}

export class FakeProcessor {
  readonly server = new grpc.Server();
  readonly calls: ObservedCall[] = [];
  port = 0;

  constructor(private readonly options: FakeProcessorOptions = {}) {
    this.server.addService(extProcServiceDefinition(), { Process: (call: ServerCall) => this.handle(call) });
  }

  async start(): Promise<string> {
    this.port = await new Promise<number>((resolve, reject) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
    return `127.0.0.1:${this.port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.forceShutdown();
      resolve();
    });
  }

  private handle(call: ServerCall): void {
    const observed: ObservedCall = { requests: [], metadata: call.metadata, halfClosed: false, cancelled: false, closeEvents: [] };
    this.calls.push(observed);
    // protocol_config only arrives on the first message; FDS echoing needs it later too.
    let protocolConfig: ProcessingRequest['protocol_config'];
    let finished = false;
    call.on('data', (request: ProcessingRequest) => {
      observed.requests.push(request);
      protocolConfig ??= request.protocol_config;
      if (finished) return;
      const index = observed.requests.length - 1;
      const action = this.options.decide?.(request, index);
      if (action?.kind === 'silent') return;
      if (action?.kind === 'end-ok') {
        finished = true;
        call.end();
        return;
      }
      if (action?.kind === 'end-error') {
        finished = true;
        call.emit('error', { code: action.code, details: action.details ?? 'failed by test' });
        return;
      }
      const reply = action?.kind === 'reply' ? action.reply : passiveReply({ ...request, protocol_config: protocolConfig }, this.options.fdsDropBytes ?? 0);
      if (!reply) return;
      const delayMs = action?.kind === 'reply' ? action.delayMs : this.options.replyDelayMs;
      if (delayMs) setTimeout(() => !call.cancelled && call.write(reply), delayMs);
      else call.write(reply);
    });
    call.on('end', () => {
      observed.halfClosed = true;
      observed.closeEvents.push('end');
    });
    call.on('cancelled', () => {
      observed.cancelled = true;
      observed.closeEvents.push('cancelled');
    });
    call.on('error', () => undefined);
  }
}
