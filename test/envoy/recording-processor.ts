/**
 * A passive ext_proc server that writes down everything Envoy does on each
 * call: every ProcessingRequest in arrival order (decoded with the service's
 * own protocol definitions), the call's initial metadata, and how the call
 * ended as grpc-js saw it ('end' = Envoy's half-close, 'cancelled' = its
 * reset), with times relative to the call's start.
 *
 * It answers like a capture server would: the matching empty reply at once
 * (optionally delayed for headers, to show what Envoy sends meanwhile, or
 * for the k-th body message, late or never, to run Envoy's message timer),
 * nothing in observability mode, and an echo of every body byte as
 * streamed_response in FULL_DUPLEX_STREAMED. It never ends a call itself, so
 * what is recorded is Envoy's own close.
 */
import type { ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition, type ProcessingRequest, type ProcessingResponse } from '../../src/extproc/wire/protocol';
import { passiveReply } from '../emulator/fake-processors';

type ServerCall = grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>;

export interface RecordedEvent {
  /** ms since the call started (its first message). */
  atMs: number;
  /** 'message' = a ProcessingRequest arrived; 'reply' = we wrote one; 'withheld' = we decided never to reply from here on; 'end'/'cancelled' = grpc-js call events. */
  type: 'message' | 'reply' | 'withheld' | 'end' | 'cancelled';
  /** Index into `messages` (message) or the reply's oneof (reply). */
  index?: number;
  reply?: string;
}

export interface RecordedCall {
  /** performance.now() when the call arrived. */
  startedAt: number;
  metadata: Record<string, string[]>;
  messages: ProcessingRequest[];
  events: RecordedEvent[];
  /** The HTTP/2 stream under the call when it closed: did END_STREAM arrive, and the RST_STREAM code (undefined if none). */
  wire?: { endStreamReceived: boolean; rstCode?: number; atMs: number };
}

export interface RecordingProcessorOptions {
  /** Delay the reply to request_headers by this much (to see what Envoy sends before it). */
  requestHeadersReplyDelayMs?: number;
  /**
   * Replies to body messages (request_body and response_body counted together, the first is
   * entry 0): that many ms after the message arrived (still in order behind earlier replies), or
   * 'never', which withholds that reply and every reply after it. Messages past the end of the
   * list are answered at once.
   */
  bodyReplies?: Array<number | 'never'>;
  /** End the call with this gRPC status when a message of this kind arrives (the server failing). */
  failOn?: { part: NonNullable<ProcessingRequest['request']>; code: grpc.status };
}

export class RecordingProcessor {
  readonly calls: RecordedCall[] = [];
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  private port = 0;

  constructor(private readonly options: RecordingProcessorOptions = {}) {
    this.server.addService(extProcServiceDefinition(), { Process: (call: ServerCall) => this.handle(call) });
  }

  async start(): Promise<number> {
    this.port = await new Promise<number>((resolve, reject) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
    return this.port;
  }

  stop(): void {
    this.server.forceShutdown();
  }

  /** Resolves when `count` calls exist and each has seen 'cancelled' or 'end' followed by quiet (or the deadline passed). */
  async settled(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const done = (c: RecordedCall) => c.events.some((e) => e.type === 'cancelled');
    while (Date.now() < deadline) {
      if (this.calls.length >= count && this.calls.every(done)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A reset right behind a half-close arrives in the same read; give a late one a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private handle(call: ServerCall): void {
    const metadata: Record<string, string[]> = {};
    for (const [key, values] of Object.entries(call.metadata.getMap())) metadata[key] = [String(values)];
    const recorded: RecordedCall = { startedAt: performance.now(), metadata, messages: [], events: [] };
    this.calls.push(recorded);
    const at = () => Math.round((performance.now() - recorded.startedAt) * 10) / 10;
    let protocolConfig: ProcessingRequest['protocol_config'];
    let chain: Promise<void> | undefined;
    let bodyMessages = 0;
    let withheld = false;
    const write = (reply: ProcessingResponse) => {
      if (call.cancelled || call.writableEnded) return;
      recorded.events.push({ atMs: at(), type: 'reply', reply: reply.response ?? Object.keys(reply)[0] });
      call.write(reply);
    };
    call.on('data', (request: ProcessingRequest) => {
      recorded.messages.push(request);
      recorded.events.push({ atMs: at(), type: 'message', index: recorded.messages.length - 1 });
      protocolConfig ??= request.protocol_config;
      const fail = this.options.failOn;
      if (fail && request.request === fail.part && !call.cancelled) {
        recorded.events.push({ atMs: at(), type: 'reply', reply: `status ${fail.code}` });
        call.emit('error', { code: fail.code, details: 'failed by the recording processor' });
        return;
      }
      const reply = passiveReply({ ...request, protocol_config: protocolConfig });
      if (!reply || withheld) return;
      let delay = request.request === 'request_headers' ? this.options.requestHeadersReplyDelayMs : undefined;
      if (request.request === 'request_body' || request.request === 'response_body') {
        const planned = this.options.bodyReplies?.[bodyMessages++];
        if (planned === 'never') {
          // Envoy pairs replies FIFO: nothing after a withheld reply could be answered either.
          withheld = true;
          recorded.events.push({ atMs: at(), type: 'withheld' });
          return;
        }
        delay = planned;
      }
      if (!delay && !chain) return write(reply);
      // Replies stay in order behind a delayed one (Envoy pairs them FIFO); a delay counts from the message's arrival.
      const due = performance.now() + (delay ?? 0);
      chain = (chain ?? Promise.resolve()).then(async () => {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        write(reply);
      });
    });
    // grpc-js reports a reset as 'cancelled' and may never emit 'end' for a half-close that came just
    // before it (the stream is paused): the HTTP/2 stream itself tells what arrived.
    const h2 = (call as unknown as { call?: { stream?: ServerHttp2Stream } }).call?.stream;
    h2?.once('close', () => {
      const state = (h2 as unknown as { _readableState?: { ended?: boolean } })._readableState;
      recorded.wire = { endStreamReceived: state?.ended === true, rstCode: h2.rstCode, atMs: at() };
    });
    call.on('end', () => recorded.events.push({ atMs: at(), type: 'end' }));
    call.on('cancelled', () => recorded.events.push({ atMs: at(), type: 'cancelled' }));
    call.on('error', () => undefined);
  }
}
