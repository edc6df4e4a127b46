/**
 * One HTTP exchange through the emulated ext_proc filter: drives the request
 * and the response through their DirectionFilters on the spec's timeline,
 * owns the ext_proc call (opened lazily at the first message), applies Envoy's
 * error handling (timeouts, spurious replies, gRPC errors) and close rules, and
 * assembles the ExchangeResult.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { BodySendMode, type ProcessingRequest, type ProcessingResponse, type ProtoStruct } from '../../src/extproc/wire/protocol';
import { ATTRIBUTES_KEY, EMULATOR_DEFAULTS } from './emulator-defaults';
import type { BodySendModeName, HeaderSendMode, ResolvedExchangeOptions } from './emulator-options';
import type { CloseReason, ExchangeFailure, ExchangeResult, FailureKind, ProtocolViolation, TimedMessage, ViolationKind } from './exchange-result';
import { DirectionFilter, type Direction, type FilterHost, type MessagePart } from './direction-filter';
import { hcmMutateRequestHeaders, normalizeHeaders, toHeaderMap } from './header-encoding';
import { EMPTY_OK_RESPONSE, toBodyChunk, type AttributeValue, type HeaderList, type HttpExchangeSpec, type HttpMessageSpec } from './http-exchange-spec';

type ProcessCall = grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

const PART_FIELD: Record<Direction, Record<MessagePart, keyof ProcessingRequest>> = {
  request: { headers: 'request_headers', body: 'request_body', trailers: 'request_trailers' },
  response: { headers: 'response_headers', body: 'response_body', trailers: 'response_trailers' },
};

const REPLY_ROUTE: Record<string, [Direction, MessagePart]> = {
  request_headers: ['request', 'headers'],
  response_headers: ['response', 'headers'],
  request_body: ['request', 'body'],
  response_body: ['response', 'body'],
  request_trailers: ['request', 'trailers'],
  response_trailers: ['response', 'trailers'],
};

/** An Envoy local reply as the encoder filters see it: status, content-length, text/plain, the body in one piece. */
function localReplySpec(status: number, text: string): HttpMessageSpec {
  return {
    headers: [
      [':status', String(status)],
      ['content-length', String(Buffer.byteLength(text))],
      ['content-type', 'text/plain'],
    ],
    body: [text],
  };
}

function toStruct(values: Record<string, AttributeValue>): ProtoStruct {
  const fields: ProtoStruct['fields'] = {};
  for (const [key, value] of Object.entries(values)) {
    // Envoy's CEL mapping: bool → bool_value, ints → number_value, everything else printed.
    // protobufjs names the well-known types' fields in camelCase whatever keepCase says.
    fields[key] = typeof value === 'boolean' ? { boolValue: value } : typeof value === 'number' ? { numberValue: value } : { stringValue: value };
  }
  return { fields };
}

/** BodySendMode numbers back to names (a mode_override carries numbers). */
const BODY_MODE_NAME = Object.fromEntries(Object.entries(BodySendMode).map(([name, value]) => [value, name])) as Record<number, BodySendModeName | undefined>;

export class ExchangeRun implements FilterHost {
  readonly options: ResolvedExchangeOptions;
  private readonly req: DirectionFilter;
  private readonly res: DirectionFilter;
  private readonly t0 = performance.now();
  private readonly abort = new AbortController();
  private readonly metadataContext: { filter_metadata?: Record<string, ProtoStruct> };

  private call?: ProcessCall;
  private firstMessageSent = false;
  private closedByEnvoy = false;
  private endedByServer = false;
  private processingComplete = false;
  private httpFinished = false;
  private deferredCloseTimer?: NodeJS.Timeout;
  private localResponse?: { spec: HttpMessageSpec; details: string };
  private httpFinishedAtMs?: number;
  private idleTimer?: NodeJS.Timeout;
  private resolveResult!: (result: ExchangeResult) => void;

  private readonly sent: Array<TimedMessage<ProcessingRequest>> = [];
  private readonly received: Array<TimedMessage<ProcessingResponse>> = [];
  private readonly violations: ProtocolViolation[] = [];
  /** mode_override replies, and whether Envoy would have applied each. */
  private readonly modeOverrides: Array<{ accepted: boolean; mode: NonNullable<ProcessingResponse['mode_override']> }> = [];
  private failure?: ExchangeFailure;
  private grpcStatus?: { code: number; details: string };
  private closeInfo?: { reason: CloseReason; atMs: number };
  private continuedUnprocessed = false;
  private ignoredReplies = 0;
  private downstreamStatus: number | 'reset' = 0;
  private downstreamDetails = '';
  private downstreamHeaders?: HeaderList;
  private downstreamTrailers?: HeaderList;
  private readonly downstreamBody: Buffer[] = [];
  private downstreamComplete = false;
  private upstreamHeaders?: HeaderList;
  private upstreamTrailers?: HeaderList;
  private readonly upstreamBody: Buffer[] = [];
  private upstreamComplete = false;

  constructor(
    private readonly client: grpc.Client,
    private readonly spec: HttpExchangeSpec,
    options: ResolvedExchangeOptions,
  ) {
    this.options = options;
    this.req = new DirectionFilter('request', this);
    this.res = new DirectionFilter('response', this);
    const forwarded: Record<string, ProtoStruct> = {};
    for (const ns of options.forwardingNamespaces) {
      const values = spec.dynamicMetadata?.[ns];
      if (values) forwarded[ns] = toStruct(values);
    }
    this.metadataContext = Object.keys(forwarded).length > 0 ? { filter_metadata: forwarded } : {};
  }

  run(): Promise<ExchangeResult> {
    const result = new Promise<ExchangeResult>((resolve) => (this.resolveResult = resolve));
    this.armIdleTimer();
    this.drive().catch((err: unknown) => {
      if (!this.httpFinished) throw err;
    });
    return result;
  }

  get active(): boolean {
    return !this.processingComplete && !this.closedByEnvoy && !this.endedByServer && !this.httpFinished;
  }

  // ---- the HTTP timeline -----------------------------------------------------

  private async drive(): Promise<void> {
    const request = this.spec.request;
    const response = this.spec.response ?? EMPTY_OK_RESPONSE;
    let headers = normalizeHeaders(request.headers);
    if (this.options.hcmRequestMutation) headers = hcmMutateRequestHeaders(headers);
    if (!(await this.feed(this.req, request, headers))) return;
    await this.req.finished;
    if (this.httpFinished) return;

    // Envoy closes in encodeHeaders, i.e. when the response headers arrive (after the upstream's
    // latency), not as soon as the request is over: in observability mode the request's messages
    // are still draining then.
    // In observability mode that close is deferred like every other (seen on Envoy 1.39/1.40).
    const closeBeforeResponse = () => {
      if (this.res.noExternalProcess && this.call && !this.options.observabilityMode) this.closeCall('no-response-processing');
    };
    // A request Envoy answered itself (413) is not sent upstream; its local reply takes the response's place.
    const answer = this.localResponse?.spec ?? response;
    if (!(await this.feed(this.res, answer, normalizeHeaders(answer.headers), closeBeforeResponse))) return;
    await this.res.finished;
    this.finishHttp('end-of-exchange');
  }

  /** Delivers one HTTP message to its filter; false when the exchange stopped on the way. */
  private async feed(filter: DirectionFilter, message: HttpMessageSpec, headers: HeaderList, onHeadersArrive?: () => void): Promise<boolean> {
    const chunks = (message.body ?? []).map(toBodyChunk);
    const trailers = message.trailers && message.trailers.length > 0 ? normalizeHeaders(message.trailers) : undefined;
    // Envoy's HTTP/1 codec reports the end of a body on its own, as an empty data callback.
    // An explicitly empty last chunk is that end (e.g. a chunked terminator arriving on its own, later).
    const separateEnd = message.codec === 'http1' && chunks.length > 0 && trailers === undefined && chunks[chunks.length - 1].data.length > 0;
    if (!(await this.wait(message.delayMs))) return false;
    onHeadersArrive?.();
    filter.onHeaders(headers, chunks.length === 0 && trailers === undefined);
    if (await this.resetPoint(filter.dir, 0)) return false;
    for (let i = 0; i < chunks.length; i++) {
      if (!(await this.wait(chunks[i].delayMs))) return false;
      const backPressure = filter.writable();
      if (backPressure) await backPressure;
      if (this.httpFinished) return false;
      filter.onData(chunks[i].data, !separateEnd && i === chunks.length - 1 && trailers === undefined);
      if (await this.resetPoint(filter.dir, i + 1)) return false;
      if (filter.abandoned) return !this.httpFinished;
    }
    if (separateEnd) filter.onData(Buffer.alloc(0), true);
    if (trailers) {
      if (!(await this.wait(message.trailersDelayMs))) return false;
      filter.onTrailers(trailers);
    }
    return !this.httpFinished;
  }

  private async wait(ms: number | undefined): Promise<boolean> {
    if (ms !== undefined && ms > 0) {
      try {
        await sleep(ms, undefined, { signal: this.abort.signal });
      } catch {
        return false;
      }
    }
    return !this.httpFinished;
  }

  private async resetPoint(dir: Direction, chunks: number): Promise<boolean> {
    const reset = this.spec.clientReset;
    if (!reset || reset.direction !== dir || reset.afterChunks !== chunks) return this.httpFinished;
    if (!(await this.wait(reset.delayMs))) return true;
    this.downstreamStatus = 'reset';
    this.downstreamDetails = 'downstream_remote_reset';
    this.finishHttp('client-reset');
    return true;
  }

  // ---- FilterHost: sending ----------------------------------------------------

  send(dir: Direction, part: MessagePart, payload: { headers?: HeaderList; trailers?: HeaderList }): void {
    if (!this.call) this.openCall();
    const body: Record<string, unknown> = { ...payload };
    if (payload.headers) body.headers = toHeaderMap(payload.headers, this.options.headerValueField);
    if (payload.trailers) body.trailers = toHeaderMap(payload.trailers, this.options.headerValueField);
    const field = PART_FIELD[dir][part] as ProcessingRequest['request'] & string;
    // `request` names the oneof member as proto-loader does on decode (ignored when encoding).
    const message: ProcessingRequest = { request: field, [field]: body, metadata_context: this.metadataContext };
    if (this.options.observabilityMode) {
      message.observability_mode = true;
    } else if (!this.firstMessageSent && this.options.features.protocolConfig) {
      message.protocol_config = {
        request_body_mode: BodySendMode[this.options.modes.requestBodyMode],
        response_body_mode: BodySendMode[this.options.modes.responseBodyMode],
        send_body_without_waiting_for_header_response: this.options.sendBodyWithoutWaiting,
      };
    }
    this.firstMessageSent = true;
    const filter = dir === 'request' ? this.req : this.res;
    const configured = dir === 'request' ? this.options.requestAttributes : this.options.responseAttributes;
    if (configured && !filter.attributesSent) {
      filter.attributesSent = true;
      const values = (dir === 'request' ? this.spec.requestAttributes : this.spec.responseAttributes) ?? configured;
      message.attributes = { [ATTRIBUTES_KEY]: toStruct(values) };
    }
    this.sent.push({ atMs: this.now(), message });
    this.activity();
    this.call!.write(message);
  }

  private openCall(): void {
    const metadata = new grpc.Metadata();
    // Envoy's gRPC client marks its side calls as internal and names its own address (traces, 1.39/1.40).
    metadata.set('x-envoy-internal', 'true');
    metadata.set('x-forwarded-for', '127.0.0.1');
    const initial = this.options.initialMetadata;
    const entries = typeof initial === 'function' ? initial(this.spec) : initial;
    if (entries) for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
    const call = (this.client as unknown as { Process(md: grpc.Metadata): ProcessCall }).Process(metadata);
    this.call = call;
    call.on('data', (reply: ProcessingResponse) => this.onReply(reply));
    call.on('status', (status: grpc.StatusObject) => this.onCallStatus(status));
    // Errors are reported through 'status' too; without a listener grpc-js would throw.
    call.on('error', () => undefined);
  }

  // ---- replies and call status ---------------------------------------------------

  private onReply(reply: ProcessingResponse): void {
    this.received.push({ atMs: this.now(), message: reply });
    if (this.options.observabilityMode) {
      this.ignoredReplies++;
      this.violation('reply-in-observability-mode', `${reply.response ?? 'empty'} reply in observability mode`);
      return;
    }
    if (!this.active) {
      this.ignoredReplies++;
      return;
    }
    this.activity();
    if ((reply as { override_message_timeout?: unknown }).override_message_timeout !== undefined) {
      // Without max_message_timeout configured Envoy drops the whole message.
      this.ignoredReplies++;
      this.violation('active-reply', 'override_message_timeout sent (ignored: max_message_timeout is not configured)');
      return;
    }
    const kind = reply.response;
    if (kind === 'immediate_response') {
      this.violation('active-reply', 'immediate_response sent');
      this.processingComplete = true;
      this.closeCall('error');
      this.fail('immediate-response', reply.immediate_response?.details ?? '', true);
      this.localReply(200, reply.immediate_response?.details ?? 'immediate_response');
      return;
    }
    const route = kind === undefined ? undefined : REPLY_ROUTE[kind];
    if (!route) {
      this.spurious('request', 'spurious-reply', `reply with no known oneof (${String(kind)})`);
      return;
    }
    const [dir, part] = route;
    if (reply.mode_override !== undefined) this.applyModeOverride(kind!, reply.mode_override);
    const payload = reply[kind as keyof ProcessingResponse] as { response?: never } | undefined;
    (dir === 'request' ? this.req : this.res).onReply(part, reply, payload);
  }

  /**
   * Envoy takes a mode_override only in the request headers reply, only with
   * allow_mode_override, and not when bodies go out before that reply;
   * elsewhere it is ignored. The request body mode applies to what is still
   * held, so it is set before the reply releases the held data. The request
   * header mode cannot change any more (ignored by Envoy too).
   */
  private applyModeOverride(kind: string, mode: NonNullable<ProcessingResponse['mode_override']>): void {
    this.modeOverrides.push({ accepted: false, mode });
    if (kind !== 'request_headers' || !this.options.allowModeOverride || this.options.sendBodyWithoutWaiting || !this.options.features.protocolConfig) return;
    this.modeOverrides[this.modeOverrides.length - 1]!.accepted = true;
    const header = (value: number | undefined): HeaderSendMode | undefined => (value === 1 ? 'SEND' : value === 2 ? 'SKIP' : undefined);
    this.req.overrideModes({ body: BODY_MODE_NAME[mode.request_body_mode ?? 0] ?? 'NONE' });
    this.res.overrideModes({ header: header(mode.response_header_mode), body: BODY_MODE_NAME[mode.response_body_mode ?? 0] ?? 'NONE' });
  }

  private onCallStatus(status: grpc.StatusObject): void {
    if (this.closedByEnvoy) return; // our own cancel
    this.endedByServer = true;
    this.grpcStatus = { code: status.code, details: status.details };
    clearTimeout(this.deferredCloseTimer);
    if (!this.httpFinished && !this.processingComplete) {
      if (status.code === grpc.status.OK) {
        this.continueUnprocessed();
      } else if (this.failureModeAllow()) {
        this.fail('grpc-error', `ext_proc_error_gRPC_error_${status.code}{${status.details}}`, false, status.code);
        this.continueUnprocessed();
      } else {
        this.processingComplete = true;
        this.stopTimers();
        this.fail('grpc-error', `ext_proc_error_gRPC_error_${status.code}{${status.details}}`, true, status.code);
        this.localReply(this.options.statusOnErrorCode, this.failure!.details);
      }
    }
    this.maybeResolve();
  }

  // ---- FilterHost: outcomes ----------------------------------------------------------

  acceptedReply(dir: Direction, part: MessagePart, isLastBody: boolean): void {
    if (!this.options.features.earlyClose || this.options.observabilityMode || !this.call || !this.active) return;
    const filter = dir === 'request' ? this.req : this.res;
    let last: boolean;
    if (part === 'headers') {
      last = !filter.hasBody || (filter.bodyMode === 'NONE' && !filter.trailerSend);
      if (dir === 'request') last &&= this.res.noExternalProcess;
    } else if (part === 'body') {
      last = isLastBody && (dir === 'response' || this.res.noExternalProcess);
    } else {
      last = dir === 'response' || this.res.noExternalProcess;
    }
    if (last) this.closeCall('last-reply');
  }

  spurious(_dir: Direction, kind: ViolationKind, detail: string): void {
    this.violation(kind, detail);
    if (!this.active) return;
    if (this.options.features.spuriousFailsClosed && !this.failureModeAllow()) {
      this.processingComplete = true;
      this.closeCall('error');
      this.fail('spurious-reply', 'spurious message', true);
      this.localReply(this.options.statusOnErrorCode, detail);
    } else {
      this.fail('spurious-reply', 'spurious message', false);
      this.continueUnprocessed();
    }
  }

  violation(kind: ViolationKind, detail: string): void {
    this.violations.push({ kind, detail, atMs: this.now() });
  }

  messageTimeout(_dir: Direction): void {
    if (!this.active) return;
    const details = 'ext_proc_error_per-message_timeout_exceeded';
    if (this.failureModeAllow()) {
      this.fail('message-timeout', details, false);
      this.continueUnprocessed();
    } else {
      this.processingComplete = true;
      this.closeCall('error');
      this.fail('message-timeout', details, true);
      this.localReply(EMULATOR_DEFAULTS.messageTimeoutStatusCode, details);
    }
  }

  bufferOverflow(dir: Direction): void {
    const request = dir === 'request';
    const details = request ? 'request_payload_too_large' : 'response_payload_too_large';
    if (request && this.res.headerSend && this.active) {
      // Envoy's 413 runs through the encoder filters: ext_proc sends it as response headers (and body,
      // per the response body mode) like an upstream answer (Envoy 1.39/1.40 traces).
      this.fail('buffer-overflow', details, true);
      this.req.abandon();
      this.localResponse = { spec: localReplySpec(EMULATOR_DEFAULTS.requestTooLargeStatusCode, 'Payload Too Large'), details };
      return;
    }
    // The stream is closed when the filter is destroyed at the end of the exchange, not as an error.
    this.processingComplete = true;
    this.stopTimers();
    this.fail('buffer-overflow', details, true);
    this.localReply(request ? EMULATOR_DEFAULTS.requestTooLargeStatusCode : EMULATOR_DEFAULTS.responseTooLargeStatusCode, details);
  }

  activity(): void {
    this.idleTimer?.refresh();
  }

  forwardHeaders(dir: Direction, headers: HeaderList): void {
    if (this.httpFinished) return;
    if (dir === 'request') {
      this.upstreamHeaders = headers;
    } else {
      this.downstreamHeaders = headers;
      const status = headers.find(([name]) => name === ':status');
      this.downstreamStatus = status ? Number(String(status[1])) : 0;
      this.downstreamDetails = this.localResponse?.details ?? 'via_upstream';
    }
  }

  forwardData(dir: Direction, data: Buffer): void {
    if (this.httpFinished) return;
    (dir === 'request' ? this.upstreamBody : this.downstreamBody).push(data);
  }

  forwardTrailers(dir: Direction, trailers: HeaderList): void {
    if (this.httpFinished) return;
    if (dir === 'request') this.upstreamTrailers = trailers;
    else this.downstreamTrailers = trailers;
  }

  forwardEnd(dir: Direction): void {
    if (this.httpFinished) return;
    if (dir === 'request') this.upstreamComplete = true;
    else this.downstreamComplete = true;
  }

  // ---- failure and close machinery ------------------------------------------------------

  /** Envoy's failureModeAllow(): off once body data went out in an FDS direction. */
  private failureModeAllow(): boolean {
    return this.options.failureModeAllow && !this.req.fdsBodySent && !this.res.fdsBodySent;
  }

  private fail(kind: FailureKind, details: string, failedClosed: boolean, grpcCode?: number): void {
    this.failure ??= { kind, details, failedClosed, grpcCode, atMs: this.now() };
  }

  /** Processing is over; the rest of the exchange flows through untouched. */
  private continueUnprocessed(): void {
    this.processingComplete = true;
    this.continuedUnprocessed = true;
    this.closeCall('error');
    this.req.releaseAll();
    this.res.releaseAll();
  }

  /** Envoy's local reply; once the client has response headers it can only reset the stream. */
  private localReply(status: number, details: string): void {
    if (this.httpFinished) return;
    if (this.downstreamHeaders) {
      this.downstreamStatus = 'reset';
    } else {
      this.downstreamStatus = status;
      this.downstreamBody.length = 0;
    }
    this.downstreamDetails = details;
    this.downstreamComplete = this.downstreamStatus !== 'reset';
    this.finishHttp('end-of-exchange');
  }

  private finishHttp(reason: CloseReason): void {
    if (this.httpFinished) return;
    this.httpFinished = true;
    this.httpFinishedAtMs = this.now();
    this.abort.abort();
    this.stopTimers();
    clearTimeout(this.idleTimer);
    this.req.stop();
    this.res.stop();
    if (this.call && !this.closedByEnvoy && !this.endedByServer) {
      if (this.options.observabilityMode) {
        // Handed to the deferred-close manager so queued messages can drain.
        this.deferredCloseTimer = setTimeout(() => {
          this.closeCall('deferred');
          this.maybeResolve();
        }, this.options.deferredCloseTimeoutMs);
      } else {
        this.closeCall(reason);
      }
    }
    this.maybeResolve();
  }

  /** Envoy's close(): half-close (END_STREAM) immediately followed by a reset (RST_STREAM). */
  private closeCall(reason: CloseReason): void {
    const call = this.call;
    if (!call || this.closedByEnvoy || this.endedByServer) return;
    this.closedByEnvoy = true;
    this.closeInfo = { reason, atMs: this.now() };
    this.stopTimers();
    call.end();
    call.cancel();
  }

  private stopTimers(): void {
    this.req.stopTimer();
    this.res.stopTimer();
  }

  private armIdleTimer(): void {
    this.idleTimer = setTimeout(() => {
      if (this.httpFinished) return;
      for (const filter of [this.req, this.res]) {
        const incomplete = filter.fdsIncomplete();
        if (incomplete) this.violation('fds-end-of-stream', incomplete);
      }
      this.processingComplete = true;
      this.fail('stream-idle-timeout', 'stream_idle_timeout', true);
      this.localReply(504, 'stream_idle_timeout');
    }, this.options.streamIdleTimeoutMs);
  }

  private maybeResolve(): void {
    if (!this.httpFinished) return;
    if (this.call && !this.closedByEnvoy && !this.endedByServer) return;
    clearTimeout(this.deferredCloseTimer);
    this.resolveResult(this.buildResult());
  }

  private buildResult(): ExchangeResult {
    return {
      name: this.spec.name,
      downstream: {
        status: this.downstreamStatus,
        details: this.downstreamDetails,
        headers: this.downstreamHeaders,
        body: Buffer.concat(this.downstreamBody),
        trailers: this.downstreamTrailers,
        complete: this.downstreamComplete && this.downstreamStatus !== 'reset',
      },
      upstream: {
        requestStarted: this.upstreamHeaders !== undefined,
        headers: this.upstreamHeaders,
        body: Buffer.concat(this.upstreamBody),
        trailers: this.upstreamTrailers,
        complete: this.upstreamComplete,
      },
      sent: this.sent,
      received: this.received,
      violations: this.violations,
      failure: this.failure,
      streamOpened: this.call !== undefined,
      grpcStatus: this.grpcStatus,
      close: this.closeInfo,
      continuedUnprocessed: this.continuedUnprocessed,
      ignoredReplies: this.ignoredReplies,
      modeOverrides: this.modeOverrides,
      httpFinishedAtMs: this.httpFinishedAtMs ?? this.now(),
      durationMs: this.now(),
    };
  }

  private now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }
}
