/**
 * ExchangeSnapshot → ExchangeRow: the body work done in worker threads
 * (decode, cut, render, redact headers, serialize). Pure apart from hashing;
 * the main thread also calls it, with bodies left out, as the fallback when a
 * worker fails, so a failed worker costs the bodies, never the record.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { DirectionSnapshot, ExchangeSnapshot, HeaderList } from '../capture/exchange-snapshot';
import type { ExchangeRow } from '../capture/exchange-row';
import { decodeBody } from './decode-body';
import { isUtf8Prefix, renderHeaderValue, utf8CutLength } from './text-rendering';

export interface RowBuildOptions {
  maxBytes: number;
  /** Lower-cased header names to redact. */
  redactHeaders: readonly string[];
}

export interface DirectionStats {
  capturedBytes: number;
  truncated: boolean;
  note: string;
}

export interface RowBuildResult {
  row: ExchangeRow;
  request: DirectionStats;
  response: DirectionStats;
}

const CAPTURED_BY = hostname();

/** A redacted value keeps its length and a short hash, so equal secrets still correlate across rows. */
export function redactionMarker(value: string): string {
  const digest = createHash('sha256').update(value, 'latin1').digest('hex').slice(0, 8);
  return `[REDACTED len=${Buffer.byteLength(value, 'latin1')} sha256=${digest}]`;
}

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
function renderHeaders(list: HeaderList, redact: ReadonlySet<string>): RenderedHeaders {
  const map: Record<string, string> = {};
  const pseudo: Record<string, string> = {};
  const first: Record<string, string> = {};
  for (const [name, raw] of list) {
    if (name.startsWith(':')) {
      pseudo[name] = renderHeaderValue(raw);
      continue;
    }
    const value = redact.has(name) ? redactionMarker(raw) : renderHeaderValue(raw);
    if (!(name in first)) first[name] = redact.has(name) ? value : renderHeaderValue(raw);
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
}

async function renderBody(direction: DirectionSnapshot, contentEncoding: string, maxBytes: number, includeBody: boolean): Promise<RenderedBody> {
  const head = direction.bodyHead;
  if (!includeBody && head !== undefined) {
    return { text: '', captured: false, truncated: false, note: 'body_processing_failed', capturedBytes: 0 };
  }
  if (head === undefined || head.length === 0) {
    return { text: '', captured: false, truncated: false, note: direction.bodyAbsentReason, capturedBytes: 0 };
  }
  const decoded = await decodeBody(head, contentEncoding, maxBytes);
  let bytes: Uint8Array;
  let truncated = direction.bodyOverCap;
  switch (decoded.kind) {
    case 'identity':
      bytes = decoded.data;
      break;
    case 'decoded':
      bytes = decoded.data;
      truncated = truncated || decoded.overCap;
      break;
    case 'failed':
    case 'unsupported': {
      // Stored raw (base64, since JSON cannot carry arbitrary bytes) and flagged.
      const note = decoded.kind === 'failed' ? 'undecodable_stored_base64' : 'unsupported_encoding_stored_base64';
      return base64Body(head, maxBytes, direction.bodyOverCap, note);
    }
  }
  if (!isUtf8Prefix(bytes)) return base64Body(bytes, maxBytes, truncated, 'binary_stored_base64');
  let cut = utf8CutLength(bytes, maxBytes);
  if (cut < bytes.length) truncated = true;
  // A sequence cut off by the capture cap itself is not valid text either.
  while (cut > 0 && cut === bytes.length && !isCompleteUtf8End(bytes)) cut = utf8CutLength(bytes, cut - 1);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, cut).toString('utf8');
  return { text, captured: true, truncated, note: '', capturedBytes: cut };
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

function base64Body(bytes: Uint8Array, maxBytes: number, alreadyTruncated: boolean, note: string): RenderedBody {
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

/** 'YYYY-MM-DD hh:mm:ss.nnnnnnnnn' in UTC, the DateTime64(9) text form. */
export function formatTimestampNs(epochNs: string): string {
  const ns = BigInt(epochNs);
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2026-11-21T23:44:54.123Z
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction}`;
}

export async function buildRow(snapshot: ExchangeSnapshot, options: RowBuildOptions, includeBodies = true): Promise<RowBuildResult> {
  const redact = new Set(options.redactHeaders);
  const request = renderHeaders(snapshot.request.headers, redact);
  const response = renderHeaders(snapshot.response.headers, redact);
  const requestTrailers = renderHeaders(snapshot.request.trailers, redact);
  const responseTrailers = renderHeaders(snapshot.response.trailers, redact);

  const requestEncoding = request.first['content-encoding'] ?? '';
  const responseEncoding = response.first['content-encoding'] ?? '';
  const [requestBody, responseBody] = await Promise.all([
    renderBody(snapshot.request, requestEncoding, options.maxBytes, includeBodies),
    renderBody(snapshot.response, responseEncoding, options.maxBytes, includeBodies),
  ]);
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
    Path: request.pseudo[':path'] ?? '',
    StatusCode: Number.isInteger(status) && status >= 0 && status <= 65535 ? status : 0,
    RequestHeaders: request.map,
    ResponseHeaders: response.map,
    RequestTrailers: requestTrailers.map,
    ResponseTrailers: responseTrailers.map,
    RequestContentType: request.first['content-type'] ?? '',
    ResponseContentType: response.first['content-type'] ?? '',
    RequestContentEncoding: requestEncoding,
    ResponseContentEncoding: responseEncoding,
    RequestBody: requestBody.text,
    ResponseBody: responseBody.text,
    RequestBodyCaptured: requestBody.captured,
    ResponseBodyCaptured: responseBody.captured,
    RequestBodySize: snapshot.request.bodySize,
    ResponseBodySize: snapshot.response.bodySize,
    RequestBodyTruncated: requestBody.truncated,
    ResponseBodyTruncated: responseBody.truncated,
    RequestBodyNote: requestBody.note,
    ResponseBodyNote: responseBody.note,
    DurationMs: Math.round(snapshot.durationMs * 1000) / 1000,
    ResponseHeadersMs: snapshot.responseHeadersMs < 0 ? -1 : Math.round(snapshot.responseHeadersMs * 1000) / 1000,
    Outcome: snapshot.outcome,
    Metadata: snapshot.metadata,
    Attributes: snapshot.attributes,
    ObservabilityMode: snapshot.observabilityMode,
    BodyModes: snapshot.bodyModes,
    CapturedBy: CAPTURED_BY,
  };
  return {
    row,
    request: { capturedBytes: requestBody.capturedBytes, truncated: requestBody.truncated, note: requestBody.note },
    response: { capturedBytes: responseBody.capturedBytes, truncated: responseBody.truncated, note: responseBody.note },
  };
}
