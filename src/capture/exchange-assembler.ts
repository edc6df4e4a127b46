/**
 * Assembles one exchange from the messages of one ext_proc stream.
 *
 * It only records and forwards: which headers arrived, sizes, timings and end
 * markers; the bytes of kept bodies are handed to the exchange's worker in
 * chunks of `shipChunkBytes` while they stream (so memory per stream stays
 * bounded by that, whatever the body's size), the rest with the snapshot.
 * Everything costly (decoding, folding, cutting, redaction, serialization)
 * happens in the worker. The outcome is inferred at the end from what the
 * stream showed, because Envoy has no explicit "done" message in several
 * cases (trailers in SKIP mode, client resets, local replies): see
 * exchange-outcome.ts.
 */
import { performance } from 'node:perf_hooks';
import { newCaptureId } from './capture-id';
import { PendingBody } from './pending-body';
import type { ContentTypeFilter } from './content-type-filter';
import { ExchangeOutcome } from './exchange-outcome';
import type { DirectionSnapshot, ExchangeSnapshot, HeaderList } from './exchange-snapshot';
import type { BodyContext, ChunkDirection } from './body-context';
import { GATEWAY_METADATA_KEY, workloadMetadataKey } from './gateway-identity';
import { decideCapture, OPT_OUT_HEADER, type CaptureDecision } from '../policy/capture-decision';
import { FULL_CAPTURE_POLICY, type CapturePolicy } from '../policy/capture-policy';
import { LEVEL_ABSENT_REASON } from '../policy/capture-level';
import { BodySendMode, EXT_PROC_ATTRIBUTES_KEY, type HeaderMap, type ProcessingRequest, type ProtoAny, type ProtoStruct, type ProtoValue } from '../extproc/wire/protocol';
import { decodeTokenUsage, TOKEN_USAGE_TYPE_URL } from '../extproc/wire/token-usage-decoder';
import type { EnvoyUsage } from '../extproc/wire/token-usage-decoder';

export interface AssemblerLimits {
  maxBytes: number;
  /** Longest header value kept, in bytes; longer values are cut with a marker. */
  headerValueMaxBytes: number;
  /**
   * Header and trailer bytes kept per exchange (both directions); entries past
   * it are counted and replaced by one HEADERS_CUT_NAME entry saying how many.
   */
  headerBytesMaxPerExchange: number;
  /** A kept body is handed to the worker in chunks of about this size while it streams. */
  shipChunkBytes: number;
}

/**
 * Hands body chunks of a still-open exchange to its worker. Returns false
 * when the workers are too far behind to take more (the body's remaining
 * bytes are then counted, not processed).
 */
export type BodyShipper = (captureId: string, direction: ChunkDirection, bytes: Uint8Array, context: BodyContext) => boolean;

/** The capture policy as one exchange sees it: the policy in force when its request headers arrive. */
export interface PolicyView {
  /** The policy in force now (a reload swaps it between exchanges, never within one). */
  current(): CapturePolicy;
  /** gen_ai.provider.name of a model call to this authority and path; '' for anything else. */
  detectProvider(authority: string, path: string): string;
}

/** No policy file: every exchange in full. */
export const NO_POLICY: PolicyView = Object.freeze({ current: () => FULL_CAPTURE_POLICY, detectProvider: () => '' });

/** The entry that stands in a header list for the entries the per-exchange bound left out. */
export const HEADERS_CUT_NAME = 'x-egress-capture-headers-cut';

const WORKLOAD_NAMESPACE = workloadMetadataKey('namespace');
const WORKLOAD_NAME = workloadMetadataKey('name');
const WORKLOAD_KIND = workloadMetadataKey('kind');

const BODY_MODE_NAMES = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED', 'GRPC'];

/** Wall clock at process start in epoch ns, paired with the monotonic clock, so start times keep ns resolution. */
const WALL_BASE_NS = BigInt(Date.now()) * 1_000_000n - BigInt(Math.round(performance.now() * 1e6));

/** An open exchange as the in-flight view shows it. */
export interface ExchangeProgress {
  captureId: string;
  ageMs: number;
  method: string;
  authority: string;
  path: string;
  /** 0 until the response headers arrive. */
  statusCode: number;
  requestBytes: number;
  responseBytes: number;
  /** Response body messages so far (one per read: the events of a stream, roughly). */
  responseChunks: number;
  /** Milliseconds since the last response chunk (-1: none yet). */
  lastChunkAgoMs: number;
}

class DirectionState {
  headers: HeaderList = [];
  trailers: HeaderList = [];
  headersSeen = false;
  /** The headers said a body follows (no end_of_stream on them). */
  bodyAnnounced = false;
  /** The last content-type header of the direction, as the body filter reads it. */
  contentType: string | undefined;
  ended = false;
  keepBody = false;
  absentReason = 'no_body';
  /** Header and trailer bytes kept for this direction, against half of limits.headerBytesMaxPerExchange. */
  headerBytesKept = 0;
  contentLength = -1;
  firstChunkMs = -1;
  lastChunkMs = -1;
  maxGapMs = 0;
  totalBytes = 0;
  chunks = 0;
  streamed = false;
  abandoned = false;
  readonly pending = new PendingBody();

  snapshot(): DirectionSnapshot {
    const bodyPending = this.keepBody && !this.abandoned ? this.pending.take() : undefined;
    this.pending.clear();
    let bodyAbsentReason = '';
    // A body the level kept Envoy from sending was still announced by its headers: it is absent by choice, not empty.
    if (this.totalBytes === 0) bodyAbsentReason = this.bodyAnnounced && this.absentReason === LEVEL_ABSENT_REASON ? LEVEL_ABSENT_REASON : 'no_body';
    else if (!this.keepBody) bodyAbsentReason = this.absentReason;
    return {
      headers: this.headers,
      trailers: this.trailers,
      headersSeen: this.headersSeen,
      bodyPending,
      bodyStreamed: this.streamed,
      streamAbandoned: this.abandoned,
      bodySize: this.totalBytes,
      bodyChunks: this.chunks,
      bodyAbsentReason,
      ended: this.ended,
      firstBodyChunkMs: this.firstChunkMs,
      maxBodyGapMs: this.maxGapMs,
    };
  }
}

export class ExchangeAssembler {
  readonly captureId: string;
  private readonly startMono: number;
  private readonly request: DirectionState;
  private readonly response: DirectionState;
  private responseHeadersMs = -1;
  private messages = 0;
  private observability = false;
  private requestBodyMode: number | undefined;
  private responseBodyMode: number | undefined;
  private readonly attributes: Record<string, string> = {};
  private readonly metadata: Record<string, string> = {};
  private envoyUsage: EnvoyUsage | undefined;
  /** The capture decision, taken at the request headers (or at the first message when those are skipped). */
  private decision: CaptureDecision | undefined;
  /** The model provider detected when the policy needed it ('' for no model call). */
  private provider = '';
  private optOutValue: string | undefined;
  /** The usage level's allow-listed header names, from the policy the exchange was decided with. */
  private usageHeaderNames: readonly string[] = [];
  /** Body modes from protocol_config, before any mode_override: restored when Envoy ignores an override. */
  private configuredModes: [request: number, response: number] | undefined;
  private sendsBodyBeforeReply = false;
  /** Header and trailer entries left out by the per-exchange bound, and their bytes. */
  headersCut = 0;
  headerBytesCut = 0;

  /** What the worker needs to know about this exchange, filled in as headers arrive. */
  readonly context: BodyContext = {
    method: '',
    authority: '',
    path: '',
    requestContentType: '',
    requestContentEncoding: '',
    statusCode: 0,
    responseContentType: '',
    responseContentEncoding: '',
    awsErrorType: '',
    maxBytes: 0,
  };

  constructor(
    private readonly limits: AssemblerLimits,
    private readonly contentTypes: ContentTypeFilter,
    private readonly shipBody: BodyShipper,
    private readonly policy: PolicyView,
  ) {
    this.context.maxBytes = limits.maxBytes;
    this.startMono = performance.now();
    this.captureId = newCaptureId();
    this.request = new DirectionState();
    this.response = new DirectionState();
  }

  get messageCount(): number {
    return this.messages;
  }

  /**
   * Where a still-open exchange stands (the capture browser's in-flight
   * view). The path loses its query string: the stored row's path is
   * redacted by the worker, which has not seen this one yet.
   */
  progress(): ExchangeProgress {
    const context = this.context;
    return {
      captureId: this.captureId,
      ageMs: performance.now() - this.startMono,
      method: context.method,
      authority: context.authority,
      path: context.path.split('?')[0]!,
      statusCode: context.statusCode,
      requestBytes: this.request.totalBytes,
      responseBytes: this.response.totalBytes,
      responseChunks: this.response.chunks,
      lastChunkAgoMs: this.response.lastChunkMs < 0 ? -1 : performance.now() - this.startMono - this.response.lastChunkMs,
    };
  }

  /** Full-duplex streaming request or response body: the server must echo the bytes. */
  isFullDuplex(direction: 'request' | 'response'): boolean {
    const mode = direction === 'request' ? this.requestBodyMode : this.responseBodyMode;
    return mode === BodySendMode.FULL_DUPLEX_STREAMED;
  }

  /** Records one message. Returns false if it carried no known part (the caller logs and counts it). */
  accept(message: ProcessingRequest): boolean {
    this.messages += 1;
    if (message.observability_mode === true) this.observability = true;
    if (message.protocol_config !== undefined && message.protocol_config !== null) {
      this.requestBodyMode = message.protocol_config.request_body_mode ?? BodySendMode.NONE;
      this.responseBodyMode = message.protocol_config.response_body_mode ?? BodySendMode.NONE;
      this.configuredModes = [this.requestBodyMode, this.responseBodyMode];
      this.sendsBodyBeforeReply = message.protocol_config.send_body_without_waiting_for_header_response === true;
    }
    if (message.attributes !== undefined) this.takeAttributes(message.attributes);
    const namespaces = message.metadata_context?.filter_metadata;
    if (namespaces !== undefined) this.takeMetadata(namespaces);
    const typed = message.metadata_context?.typed_filter_metadata;
    if (typed !== undefined) this.takeTypedMetadata(typed);

    switch (message.request) {
      case 'request_headers': {
        const part = message.request_headers!;
        this.takeHeaders(this.request, part.headers);
        this.takeRequestContext();
        this.decide();
        if (part.end_of_stream === true) this.request.ended = true;
        else this.request.bodyAnnounced = true;
        return true;
      }
      case 'response_headers': {
        const part = message.response_headers!;
        this.responseHeadersMs = performance.now() - this.startMono;
        this.decide();
        this.takeHeaders(this.response, part.headers);
        this.takeResponseContext();
        // Read for the context first (content type, encoding), then cut to what the level keeps.
        this.response.headers = this.levelHeaders(this.response.headers);
        if (part.end_of_stream === true) this.response.ended = true;
        else this.response.bodyAnnounced = true;
        return true;
      }
      case 'request_body':
        this.takeBody('request', this.request, message.request_body!.body, message.request_body!.end_of_stream === true);
        return true;
      case 'response_body':
        this.takeBody('response', this.response, message.response_body!.body, message.response_body!.end_of_stream === true);
        return true;
      case 'request_trailers':
        this.decide();
        this.request.trailers = this.levelHeaders(this.headerList(this.request, message.request_trailers!.trailers));
        this.request.ended = true;
        return true;
      case 'response_trailers':
        this.decide();
        this.response.trailers = this.levelHeaders(this.headerList(this.response, message.response_trailers!.trailers));
        this.response.ended = true;
        return true;
      default:
        return false;
    }
  }

  /** The request reached its end (marker, or a body mode that sends no body after headers). */
  get requestEnded(): boolean {
    return this.request.ended || (this.request.headersSeen && this.requestBodyMode === BodySendMode.NONE);
  }

  /** The response reached an end marker: nothing more will come for this exchange. */
  get responseEnded(): boolean {
    return this.response.ended;
  }

  /**
   * How this exchange is captured. Taken when the request headers arrive:
   * everything a rule matches on is known then, and deciding before any body
   * is what lets a lighter level skip the body work (and tell Envoy not to
   * send bodies at all). Without request headers (header mode SKIP) it is
   * taken at the first message that needs it, from what little is known.
   */
  get captureDecision(): CaptureDecision {
    return this.decide();
  }

  private decide(): CaptureDecision {
    if (this.decision !== undefined) return this.decision;
    const policy = this.policy.current();
    const context = this.context;
    const metadata = this.metadata;
    if (policy.needsProvider) this.provider = this.policy.detectProvider(context.authority, context.path);
    const decision = decideCapture(policy, {
      authority: context.authority,
      path: context.path,
      method: context.method,
      workload: { namespace: metadata[WORKLOAD_NAMESPACE], name: metadata[WORKLOAD_NAME], kind: metadata[WORKLOAD_KIND] },
      provider: this.provider,
      optOut: this.optOutValue,
    });
    this.decision = decision;
    // The policy may be reloaded while the exchange runs: it keeps the allow-list it was decided with.
    this.usageHeaderNames = policy.usageHeaders;
    if (decision.maxBytes !== undefined) context.maxBytes = decision.maxBytes;
    const request = this.request;
    if (request.headersSeen) this.chooseBody(request);
    request.headers = this.levelHeaders(request.headers);
    return decision;
  }

  /** Whether the decided level keeps this direction's body (usage: only the answer of a model call, folded for its usage, never stored). */
  private levelKeeps(direction: ChunkDirection): boolean {
    switch (this.decision?.level) {
      case undefined:
      case 'full':
        return true;
      case 'usage':
        return direction === 'response' && this.provider !== '';
      default:
        return false;
    }
  }

  /** The headers the decided level keeps: all of them, except at usage. */
  private levelHeaders(list: HeaderList): HeaderList {
    return this.decision?.level === 'usage' ? this.usageHeaders(list) : list;
  }

  /** A usage-level header list: pseudo-headers and the policy's allow-listed names only. */
  private usageHeaders(list: HeaderList): HeaderList {
    const allowed = this.usageHeaderNames;
    return list.filter(([name]) => name.charCodeAt(0) === 58 /* ':' */ || allowed.includes(name));
  }

  /**
   * The mode_override to send with the request headers reply, when the
   * decided level needs fewer bodies than Envoy is configured to send:
   * bodies a level drops are then never sent (Envoy honours it when the
   * filter has allow_mode_override). Only with Envoy's protocol_config at
   * hand (1.34+: the configured modes, so a kept body keeps its mode) and
   * never in FULL_DUPLEX_STREAMED (Envoy refuses overrides there) or when
   * bodies are sent before the reply (the override would come too late).
   */
  modeOverride(): { request_body_mode: number; response_body_mode: number } | undefined {
    const modes = this.configuredModes;
    if (modes === undefined || this.sendsBodyBeforeReply || this.observability) return undefined;
    if (modes[0] === BodySendMode.FULL_DUPLEX_STREAMED || modes[1] === BodySendMode.FULL_DUPLEX_STREAMED) return undefined;
    this.decide();
    const request = this.levelKeeps('request') ? modes[0] : BodySendMode.NONE;
    const response = this.levelKeeps('response') ? modes[1] : BodySendMode.NONE;
    if (request === modes[0] && response === modes[1]) return undefined;
    // What Envoy will do if it honours the override; a body message for a direction set to NONE says it did not (takeBody).
    this.requestBodyMode = request;
    this.responseBodyMode = response;
    return { request_body_mode: request, response_body_mode: response };
  }

  /** Builds the snapshot for the worker; `closeReason` says what ended the stream when no end marker did. */
  finish(closeReason: 'ended' | 'error' | 'idle' | 'shutdown'): ExchangeSnapshot {
    const capture = this.decide();
    const durationMs = performance.now() - this.startMono;
    const startedAtNs = (WALL_BASE_NS + BigInt(Math.round(this.startMono * 1e6))).toString();
    return {
      captureId: this.captureId,
      startedAtNs,
      durationMs,
      responseHeadersMs: this.responseHeadersMs,
      outcome: this.inferOutcome(closeReason),
      observabilityMode: this.observability,
      bodyModes: this.requestBodyMode === undefined ? '' : `${BODY_MODE_NAMES[this.requestBodyMode] ?? this.requestBodyMode}/${BODY_MODE_NAMES[this.responseBodyMode ?? 0] ?? this.responseBodyMode}`,
      extProcMessages: this.messages,
      capture,
      attributes: this.attributes,
      metadata: this.metadata,
      ...(this.envoyUsage === undefined ? {} : { envoyUsage: this.envoyUsage }),
      request: this.request.snapshot(),
      response: this.response.snapshot(),
    };
  }

  private inferOutcome(closeReason: 'ended' | 'error' | 'idle' | 'shutdown'): ExchangeOutcome {
    const response = this.response;
    // BUFFERED holds the request back until its whole body has been processed, so a response that
    // comes before any request body message is Envoy's own answer — the 413 for a body over the
    // buffer limit, which Envoy (1.39, 1.40) passes through ext_proc like an upstream response.
    // (A request of headers and trailers only, with trailers SKIP, would look the same; rare.)
    if (this.requestBodyMode === BodySendMode.BUFFERED && response.headersSeen && !this.request.ended && this.request.chunks === 0) {
      return ExchangeOutcome.request_incomplete;
    }
    if (response.ended) return ExchangeOutcome.complete;
    if (closeReason === 'idle') return ExchangeOutcome.idle_timeout;
    if (closeReason === 'shutdown') return ExchangeOutcome.shutdown;

    if (response.headersSeen) {
      const bodyBytes = response.totalBytes;
      if (this.responseBodyMode === BodySendMode.NONE) return ExchangeOutcome.complete;
      if (response.contentLength >= 0 && bodyBytes < response.contentLength && (bodyBytes > 0 || this.responseBodyMode !== undefined)) {
        return closeReason === 'error' ? ExchangeOutcome.stream_error : ExchangeOutcome.response_incomplete;
      }
      if (closeReason === 'error') return ExchangeOutcome.stream_error;
      if (response.contentLength >= 0 && bodyBytes >= response.contentLength) return ExchangeOutcome.complete;
      // Body data with no end marker and no size to compare: trailers in SKIP
      // mode look exactly like this, and so does a reset mid-body.
      if (response.chunks > 0) return ExchangeOutcome.closed_without_end;
      // The headers said a body follows (no end_of_stream) and the body mode
      // sends one, yet no body message came: the response was cut off before
      // its body (client reset, Envoy's buffer-limit 500), it is not complete.
      // (Headers then trailers with no data and trailers SKIP look the same; rare.)
      if (this.responseBodyMode !== undefined) return ExchangeOutcome.response_incomplete;
      // Headers only and no body message, body mode unknown without
      // protocol_config (observability mode, Envoy < 1.34): assume an empty body.
      return ExchangeOutcome.complete;
    }
    if (closeReason === 'error') return ExchangeOutcome.stream_error;
    if (this.requestEnded) return ExchangeOutcome.no_response;
    return ExchangeOutcome.request_incomplete;
  }

  private takeHeaders(state: DirectionState, map: HeaderMap | undefined): void {
    state.headersSeen = true;
    state.headers = this.headerList(state, map);
    let contentType: string | undefined;
    for (const [name, value] of state.headers) {
      if (name === 'content-type') contentType = value;
      else if (name === 'content-length') {
        const parsed = Number(value);
        if (Number.isSafeInteger(parsed) && parsed >= 0) state.contentLength = parsed;
      }
    }
    state.contentType = contentType;
    this.chooseBody(state);
  }

  /** Whether a direction's body is kept, from its content type and (once decided) the capture level and its body cap. */
  private chooseBody(state: DirectionState): void {
    const direction: ChunkDirection = state === this.request ? 'request' : 'response';
    let reason: string;
    if (this.decision !== undefined && !this.levelKeeps(direction)) reason = LEVEL_ABSENT_REASON;
    else if (this.context.maxBytes === 0) reason = 'max_bytes_zero';
    else reason = this.contentTypes.reasonToSkip(state.contentType);
    state.keepBody = reason === '';
    state.absentReason = reason;
  }

  private takeBody(direction: ChunkDirection, state: DirectionState, body: Buffer | undefined, endOfStream: boolean): void {
    const now = performance.now() - this.startMono;
    if (state.firstChunkMs < 0) state.firstChunkMs = now;
    else if (now - state.lastChunkMs > state.maxGapMs) state.maxGapMs = now - state.lastChunkMs;
    state.lastChunkMs = now;
    if (!state.headersSeen) {
      // Headers in SKIP mode: the content type is unknown, so the body is not kept.
      state.absentReason = 'content_type_unknown';
    }
    const configured = this.configuredModes;
    if (configured !== undefined) {
      // A body after a mode_override that set this direction to NONE: Envoy did not honour it
      // (no allow_mode_override), so the configured mode still holds for the outcome.
      if (direction === 'request' && this.requestBodyMode === BodySendMode.NONE) this.requestBodyMode = configured[0];
      else if (direction === 'response' && this.responseBodyMode === BodySendMode.NONE) this.responseBodyMode = configured[1];
    }
    const length = body?.length ?? 0;
    state.chunks += 1;
    state.totalBytes += length;
    if (endOfStream) state.ended = true;
    if (!state.keepBody || state.abandoned || length === 0) return;
    state.pending.push(body!);
    if (state.pending.bytes >= this.limits.shipChunkBytes) {
      const bytes = state.pending.take()!;
      if (this.shipBody(this.captureId, direction, bytes, this.context)) {
        state.streamed = true;
      } else {
        state.abandoned = true;
      }
    }
  }

  private takeRequestContext(): void {
    const context = this.context;
    for (const [name, value] of this.request.headers) {
      if (name === ':method') context.method = value;
      else if (name === ':authority') context.authority = value;
      else if (name === ':path') context.path = value;
      else if (name === 'host' && context.authority === '') context.authority = value;
      else if (name === 'content-type' && context.requestContentType === '') context.requestContentType = value;
      else if (name === 'content-encoding' && context.requestContentEncoding === '') context.requestContentEncoding = value;
      else if (name === OPT_OUT_HEADER) this.optOutValue = value;
    }
  }

  private takeResponseContext(): void {
    const context = this.context;
    for (const [name, value] of this.response.headers) {
      if (name === ':status') context.statusCode = Number(value) || 0;
      else if (name === 'content-type' && context.responseContentType === '') context.responseContentType = value;
      else if (name === 'content-encoding' && context.responseContentEncoding === '') context.responseContentEncoding = value;
      else if (name === 'x-amzn-errortype' && context.awsErrorType === '') context.awsErrorType = value;
    }
  }

  /**
   * Header names lower-cased (Envoy already does), values from raw_value with
   * value as the pre-1.27 fallback. Each direction keeps at most half of
   * headerBytesMaxPerExchange (so a huge request cannot crowd out the
   * response's :status); past it, the rest of the list is counted and marked.
   */
  private headerList(state: DirectionState, map: HeaderMap | undefined): HeaderList {
    const list: HeaderList = [];
    const entries = map?.headers;
    if (entries === undefined) return list;
    const maxValue = this.limits.headerValueMaxBytes;
    const maxTotal = Math.floor(this.limits.headerBytesMaxPerExchange / 2);
    let cut = 0;
    let cutBytes = 0;
    for (const entry of entries) {
      const key = entry.key ?? '';
      if (cut > 0 || state.headerBytesKept >= maxTotal) {
        // Past the bound: counted from the wire sizes, nothing of it copied.
        cut += 1;
        cutBytes += key.length + (entry.raw_value !== undefined && entry.raw_value.length > 0 ? entry.raw_value.length : Buffer.byteLength(entry.value ?? ''));
        continue;
      }
      const name = key.toLowerCase();
      let value: string;
      const raw = entry.raw_value;
      if (raw !== undefined && raw.length > 0) {
        value = raw.length > maxValue ? raw.toString('latin1', 0, maxValue) + `...[${raw.length - maxValue} bytes cut]` : raw.toString('latin1');
      } else {
        // `value` is a JS (UTF-16) string; re-express it as latin1 bytes so both paths agree.
        const bytes = Buffer.from(entry.value ?? '', 'utf8');
        value = bytes.length > maxValue ? bytes.toString('latin1', 0, maxValue) + `...[${bytes.length - maxValue} bytes cut]` : bytes.toString('latin1');
      }
      if (state.headerBytesKept + name.length + value.length > maxTotal) {
        cut += 1;
        cutBytes += name.length + value.length;
        continue;
      }
      state.headerBytesKept += name.length + value.length;
      list.push([name, value]);
    }
    if (cut > 0) {
      this.headersCut += cut;
      this.headerBytesCut += cutBytes;
      list.push([HEADERS_CUT_NAME, `${cut} entries (${cutBytes} bytes) not kept: over the ${maxTotal}-byte header limit per direction`]);
    }
    return list;
  }

  private takeAttributes(attributes: Record<string, ProtoStruct>): void {
    const fields = attributes[EXT_PROC_ATTRIBUTES_KEY]?.fields;
    if (fields === undefined) return;
    for (const [key, value] of Object.entries(fields)) this.attributes[key] = protoValueToString(value);
  }

  /** The gateway the call came from (gateway-identity.ts), as the call's initial metadata named it. */
  setGateway(gateway: string): void {
    this.metadata[GATEWAY_METADATA_KEY] = gateway;
  }

  /** Envoy's own token usage, in whichever namespace it was written (the type says what it is); the latest wins. */
  private takeTypedMetadata(namespaces: Record<string, ProtoAny>): void {
    for (const value of Object.values(namespaces)) {
      if (value.type_url !== TOKEN_USAGE_TYPE_URL || value.value === undefined) continue;
      const usage = decodeTokenUsage(value.value);
      if (usage !== undefined) this.envoyUsage = usage;
    }
  }

  private takeMetadata(namespaces: Record<string, ProtoStruct>): void {
    for (const [namespace, struct] of Object.entries(namespaces)) {
      const fields = struct.fields;
      if (fields === undefined) continue;
      for (const [key, value] of Object.entries(fields)) this.metadata[`${namespace}.${key}`] = protoValueToString(value);
    }
  }
}

/** Struct values as strings: scalars as themselves, nested values as JSON. */
export function protoValueToString(value: ProtoValue): string {
  switch (value.kind) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'numberValue':
      return String(value.numberValue ?? 0);
    case 'boolValue':
      return String(value.boolValue ?? false);
    case 'nullValue':
      return '';
    case 'structValue':
    case 'listValue':
      return JSON.stringify(protoValueToJson(value));
    default:
      return '';
  }
}

function protoValueToJson(value: ProtoValue): unknown {
  switch (value.kind) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'numberValue':
      return value.numberValue ?? 0;
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue': {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value.structValue?.fields ?? {})) out[key] = protoValueToJson(inner);
      return out;
    }
    case 'listValue':
      return (value.listValue?.values ?? []).map(protoValueToJson);
    default:
      return null;
  }
}
