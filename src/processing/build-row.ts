/**
 * ExchangeSnapshot → ExchangeRow: the body work done in worker threads
 * (decode, cut, render, redact headers, serialize). Pure apart from hashing;
 * the main thread also calls it, with bodies left out, as the fallback when a
 * worker fails, so a failed worker costs the bodies, never the record.
 */
import { hostname } from 'node:os';
import type { DirectionSnapshot, ExchangeSnapshot, HeaderList } from '../capture/exchange-snapshot';
import { EMPTY_GENAI, type ExchangeRow, type GenAiColumn } from '../row/exchange-row';
import type { BodyStreamResult } from './body-stream-processor';
import type { ProcessedBodies } from './exchange-processor';
import type { DirectionStats, RowBuildOptions } from './worker-contract';
import type { BodyRedactor } from './redaction/body-redactor';
import type { GenAiSummary } from './genai/genai-summary';
import { redactPath, URL_HEADERS } from './redaction/path-redactor';
import { redactionMarker } from './redaction/redaction-marker';
import { isUtf8Prefix, renderHeaderValue, utf8CutLength } from './text-rendering';
import { keepLevelColumns } from './level-columns';
import { LEVEL_ABSENT_REASON } from '../policy/capture-level';

export interface RowBuildResult {
  row: ExchangeRow;
  request: DirectionStats;
  response: DirectionStats;
  /** Body secrets redacted, per rule. */
  redactions: Record<string, number>;
}

/**
 * Which replica captured the row: the pod name the manifests pass down (a StatefulSet's
 * egress-capture-0, -1 …, stable across restarts), else the host name.
 */
const CAPTURED_BY = process.env['POD_NAME']?.trim() || hostname();

interface RenderedHeaders {
  map: Record<string, string>;
  pseudo: Record<string, string>;
  first: Record<string, string>;
}

/**
 * Pseudo-headers become columns, the rest a map. A header that appears more
 * than once keeps every value, joined by "\n" (a character header values
 * cannot contain, so the join is reversible).
 */
function renderHeaders(list: HeaderList, redact: ReadonlySet<string>, key: string | undefined, shapes: BodyRedactor | undefined, counts: Record<string, number>): RenderedHeaders {
  const map: Record<string, string> = {};
  const pseudo: Record<string, string> = {};
  const first: Record<string, string> = {};
  for (const [name, raw] of list) {
    if (name.startsWith(':')) {
      pseudo[name] = renderHeaderValue(raw);
      continue;
    }
    // A redacted value keeps its length and a keyed hash, so equal secrets still correlate across rows.
    const value = redact.has(name) ? redactionMarker(raw, key, 'latin1') : URL_HEADERS.has(name) ? redactPath(renderHeaderValue(raw), key, shapes, counts) : renderHeaderValue(raw);
    if (!(name in first)) first[name] = value;
    map[name] = name in map ? `${map[name]}\n${value}` : value;
  }
  return { map, pseudo, first };
}

interface RenderedBody {
  text: string;
  captured: boolean;
  truncated: boolean;
  note: string;
  capturedBytes: number;
  decodedSize: number;
  sha256: string;
}

const NOT_PROCESSED = { decodedSize: 0, sha256: '' };

/** Body text for the row from what the worker's stream processor kept (undefined: not kept, or the worker is gone). */
function renderBody(direction: DirectionSnapshot, processed: BodyStreamResult | undefined, maxBytes: number, redactor: BodyRedactor | undefined, redactions: Record<string, number>): RenderedBody {
  if (processed === undefined) {
    const note = direction.bodySize === 0 ? 'no_body' : direction.bodyAbsentReason !== '' ? direction.bodyAbsentReason : 'body_processing_failed';
    return { text: '', captured: false, truncated: false, note, capturedBytes: 0, ...NOT_PROCESSED };
  }
  const common = { decodedSize: processed.decodedBytes, sha256: processed.sha256 };
  const backlog = direction.streamAbandoned;
  switch (processed.decodeStatus) {
    case 'failed':
    case 'unsupported': {
      // Stored raw (base64, since JSON cannot carry arbitrary bytes) and flagged.
      const note = processed.decodeStatus === 'failed' ? 'undecodable_stored_base64' : 'unsupported_encoding_stored_base64';
      return { ...base64Body(processed.rawHead, maxBytes, processed.wireBytes > processed.rawHead.length, note, redactor, redactions), ...common };
    }
    default:
      break;
  }
  const bytes = processed.rendered;
  if (!isUtf8Prefix(bytes)) return { ...base64Body(bytes, maxBytes, processed.truncated, 'binary_stored_base64', redactor, redactions), ...common };
  let cut = utf8CutLength(bytes, maxBytes);
  while (cut > 0 && cut === bytes.length && !isCompleteUtf8End(bytes)) cut = utf8CutLength(bytes, cut - 1);
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, cut).toString('utf8');
  if (redactor !== undefined) {
    const result = redactor.redact(text);
    text = result.text;
    for (const [rule, count] of Object.entries(result.redactions)) redactions[rule] = (redactions[rule] ?? 0) + count;
  }
  const note = processed.decodeStatus === 'bomb_stopped' ? 'decompression_stopped' : backlog ? 'processing_backlog' : '';
  return { text, captured: true, truncated: processed.truncated || cut < bytes.length || backlog, note, capturedBytes: Buffer.byteLength(text), ...common };
}

/** A body the capture level does not keep: only its size on the wire stays. */
function bodyLeftOut(direction: DirectionSnapshot): RenderedBody {
  const note = direction.bodyAbsentReason !== '' ? direction.bodyAbsentReason : direction.bodySize === 0 ? 'no_body' : LEVEL_ABSENT_REASON;
  return { text: '', captured: false, truncated: false, note, capturedBytes: 0, ...NOT_PROCESSED };
}

function isCompleteUtf8End(bytes: Uint8Array): boolean {
  // Walk back to the last lead byte and check its sequence fits.
  let i = bytes.length - 1;
  let continuation = 0;
  while (i >= 0 && (bytes[i]! & 0xc0) === 0x80 && continuation < 3) {
    i -= 1;
    continuation += 1;
  }
  if (i < 0) return true;
  const lead = bytes[i]!;
  const expected = lead < 0x80 ? 0 : lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return continuation === expected;
}

/**
 * Bytes stored as base64 (undecodable, unsupported encoding, binary). Base64
 * would hide a secret from every later look, so the bytes are scanned first,
 * read as latin1 (one character per byte: ASCII key shapes match as in
 * text), and each secret's bytes are replaced by its marker.
 */
function base64Body(
  input: Uint8Array,
  maxBytes: number,
  alreadyTruncated: boolean,
  note: string,
  redactor: BodyRedactor | undefined,
  redactions: Record<string, number>,
): Omit<RenderedBody, 'decodedSize' | 'sha256'> {
  let bytes = input;
  if (redactor !== undefined) {
    const view = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
    const result = redactor.redact(view);
    if (result.text !== view) {
      bytes = Buffer.from(result.text, 'latin1');
      for (const [rule, count] of Object.entries(result.redactions)) redactions[rule] = (redactions[rule] ?? 0) + count;
    }
  }
  // base64 grows 4/3: keep the stored text within maxBytes.
  const rawLimit = Math.floor(maxBytes / 4) * 3;
  const kept = bytes.length > rawLimit ? bytes.subarray(0, rawLimit) : bytes;
  const text = Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString('base64');
  return { text, captured: true, truncated: alreadyTruncated || kept.length < bytes.length, note, capturedBytes: text.length };
}

function parseTraceparent(value: string | undefined): { traceId: string; spanId: string } {
  if (value === undefined) return { traceId: '', spanId: '' };
  const match = /^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/.exec(value);
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return { traceId: '', spanId: '' };
  return { traceId: match[2]!, spanId: match[3]! };
}

/** Plain epoch nanoseconds from 1970-01-01 00:00:01 on: its seconds and fraction are the digits before and after the last 9. */
const PLAIN_EPOCH_NS = /^[1-9][0-9]{9,18}$/;
/** The date and time of the last second formatted: rows of one second share it. */
let lastSeconds = '';
let lastSecondsText = '';

/** 'YYYY-MM-DD hh:mm:ss.nnnnnnnnn' in UTC, the DateTime64(9) text form. */
export function formatTimestampNs(epochNs: string): string {
  if (PLAIN_EPOCH_NS.test(epochNs)) {
    const seconds = epochNs.slice(0, -9);
    if (seconds !== lastSeconds) {
      const iso = new Date(Number(seconds) * 1000).toISOString();
      lastSecondsText = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
      lastSeconds = seconds;
    }
    return `${lastSecondsText}.${epochNs.slice(-9)}`;
  }
  const ns = BigInt(epochNs);
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2026-11-21T23:44:54.123Z
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`;
}

function capText(text: string, redactor: BodyRedactor | undefined, redactions: Record<string, number>): string {
  if (redactor === undefined || text === '') return text;
  const result = redactor.redact(text);
  for (const [rule, count] of Object.entries(result.redactions)) redactions[rule] = (redactions[rule] ?? 0) + count;
  return result.text;
}

/** GenAI columns; all empty when the exchange is not a recognised model call. */
function genAiColumns(summary: GenAiSummary | undefined, redactor: BodyRedactor | undefined, redactions: Record<string, number>): Pick<ExchangeRow, GenAiColumn> {
  if (summary === undefined) return EMPTY_GENAI;
  const toolCalls = summary.toolCalls.map((call) => ({ ...call, arguments: capText(call.arguments, redactor, redactions) }));
  return {
    GenAiProvider: summary.provider,
    GenAiOperation: summary.operation,
    GenAiApi: summary.api,
    GenAiRequestModel: summary.requestModel ?? '',
    GenAiResponseModel: summary.responseModel ?? '',
    GenAiResponseId: summary.responseId ?? '',
    GenAiStreaming: summary.streaming,
    GenAiInputTokens: summary.inputTokens,
    GenAiOutputTokens: summary.outputTokens,
    GenAiCachedInputTokens: summary.cachedInputTokens,
    GenAiCacheCreationInputTokens: summary.cacheCreationInputTokens,
    GenAiReasoningTokens: summary.reasoningTokens,
    GenAiUsageSource: summary.usageSource,
    GenAiFinishReasons: summary.finishReasons,
    GenAiOutputText: capText(summary.outputText, redactor, redactions),
    GenAiOutputTextTruncated: summary.outputTextTruncated,
    GenAiToolCalls: toolCalls.length === 0 ? '' : JSON.stringify(toolCalls),
    GenAiEventCount: summary.eventCount,
    GenAiErrorType: summary.errorType ?? '',
    GenAiErrorMessage: summary.errorMessage ?? '',
    GenAiComplete: summary.complete,
  };
}

/** The header names to redact as a set, made once per list (a worker's settings hold one for its lifetime). */
const redactSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function redactSet(names: readonly string[]): ReadonlySet<string> {
  let set = redactSets.get(names);
  if (set === undefined) {
    set = new Set(names);
    redactSets.set(names, set);
  }
  return set;
}

/**
 * Builds the row. `processed` is what the worker's stream processors kept;
 * without it (a failed worker) the row keeps everything but the bodies.
 */
export function buildRow(snapshot: ExchangeSnapshot, options: RowBuildOptions, processed?: ProcessedBodies, redactor?: BodyRedactor): RowBuildResult {
  const redact = redactSet(options.redactHeaders);
  const key = options.redactionKey;
  const redactions: Record<string, number> = {};
  const request = renderHeaders(snapshot.request.headers, redact, key, redactor, redactions);
  const response = renderHeaders(snapshot.response.headers, redact, key, redactor, redactions);
  const requestTrailers = renderHeaders(snapshot.request.trailers, redact, key, redactor, redactions);
  const responseTrailers = renderHeaders(snapshot.response.trailers, redact, key, redactor, redactions);

  const capture = snapshot.capture;
  // A body the level does not keep is not rendered (nor scanned for secrets): usage folds a model call's answer and throws its text away.
  const keepsBodies = capture.level === 'full';
  const maxBytes = capture.maxBytes ?? options.maxBytes;
  const requestBody = keepsBodies ? renderBody(snapshot.request, processed?.request, maxBytes, redactor, redactions) : bodyLeftOut(snapshot.request);
  const responseBody = keepsBodies ? renderBody(snapshot.response, processed?.response, maxBytes, redactor, redactions) : bodyLeftOut(snapshot.response);
  const genAi = genAiColumns(processed?.genAi, redactor, redactions);
  const trace = parseTraceparent(request.first['traceparent']);
  const status = Number(response.pseudo[':status'] ?? '0');

  const row: ExchangeRow = {
    Timestamp: formatTimestampNs(snapshot.startedAtNs),
    CaptureId: snapshot.captureId,
    RequestId: request.first['x-request-id'] ?? snapshot.attributes['request.id'] ?? '',
    TraceId: trace.traceId,
    SpanId: trace.spanId,
    SourceAddress: snapshot.attributes['source.address'] ?? '',
    Method: request.pseudo[':method'] ?? '',
    Scheme: request.pseudo[':scheme'] ?? '',
    Authority: request.pseudo[':authority'] ?? request.first['host'] ?? '',
    Path: redactPath(request.pseudo[':path'] ?? '', key, redactor, redactions),
    StatusCode: Number.isInteger(status) && status >= 0 && status <= 65535 ? status : 0,
    RequestHeaders: request.map,
    ResponseHeaders: response.map,
    RequestTrailers: requestTrailers.map,
    ResponseTrailers: responseTrailers.map,
    RequestContentType: request.first['content-type'] ?? '',
    ResponseContentType: response.first['content-type'] ?? '',
    RequestContentEncoding: request.first['content-encoding'] ?? '',
    ResponseContentEncoding: response.first['content-encoding'] ?? '',
    RequestBody: requestBody.text,
    ResponseBody: responseBody.text,
    RequestBodyCaptured: requestBody.captured,
    ResponseBodyCaptured: responseBody.captured,
    RequestBodySize: snapshot.request.bodySize,
    ResponseBodySize: snapshot.response.bodySize,
    RequestBodyDecodedSize: requestBody.decodedSize,
    ResponseBodyDecodedSize: responseBody.decodedSize,
    RequestBodySha256: requestBody.sha256,
    ResponseBodySha256: responseBody.sha256,
    RequestBodyTruncated: requestBody.truncated,
    ResponseBodyTruncated: responseBody.truncated,
    RequestBodyNote: requestBody.note,
    ResponseBodyNote: responseBody.note,
    DurationMs: roundMs(snapshot.durationMs),
    ResponseHeadersMs: snapshot.responseHeadersMs < 0 ? -1 : roundMs(snapshot.responseHeadersMs),
    ResponseFirstChunkMs: snapshot.response.firstBodyChunkMs < 0 ? -1 : roundMs(snapshot.response.firstBodyChunkMs),
    ResponseMaxChunkGapMs: roundMs(snapshot.response.maxBodyGapMs),
    Outcome: snapshot.outcome,
    ...genAi,
    BodyRedactions: redactions,
    Metadata: snapshot.metadata,
    Attributes: snapshot.attributes,
    ObservabilityMode: snapshot.observabilityMode,
    BodyModes: snapshot.bodyModes,
    CapturedBy: CAPTURED_BY,
    CaptureLevel: capture.level,
    CaptureRule: capture.rule,
    CaptureOptOut: capture.optOut === 'none' ? '' : capture.optOut,
    RetentionDays: capture.retentionDays ?? 0,
  };
  keepLevelColumns(row, capture.level);
  return {
    row,
    request: { capturedBytes: requestBody.capturedBytes, truncated: requestBody.truncated, note: requestBody.note },
    response: { capturedBytes: responseBody.capturedBytes, truncated: responseBody.truncated, note: responseBody.note },
    redactions,
  };
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
