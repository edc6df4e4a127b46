/**
 * What the in-flight journal (src/spool/inflight-journal.ts) keeps of an
 * exchange while a worker builds its row, and the row rebuilt from it when a
 * crash lost the worker's work.
 *
 * Only what the event loop already has at hand and what identifies and
 * places the exchange: id, start, outcome, timings, status, body sizes,
 * the pseudo-headers, x-request-id and traceparent, and the request.id and
 * source.address attributes. Never bodies, never a header named in
 * --redact-headers, and :path with its credential query values already
 * redacted (redaction/path-redactor.ts): nothing else in the journal is redacted.
 * Built with one JSON.stringify, on the event loop, once per exchange.
 *
 * The rebuilt row says what it is: both body notes are LOST_IN_CRASH
 * (bodies and the other headers are gone); everything it does carry is
 * what the original row would have said.
 */
import type { DirectionSnapshot, ExchangeSnapshot, HeaderList } from '../capture/exchange-snapshot';
import type { ExchangeOutcome } from '../capture/exchange-outcome';
import { buildRow } from './build-row';
import { FULL_DEFAULT_DECISION, type CaptureDecision } from '../policy/capture-decision';
import { redactPath } from './redaction/path-redactor';
import type { BodyContext, RowBuildOptions } from './worker-contract';

/** Body note of a row rebuilt from the in-flight journal after a crash. */
export const LOST_IN_CRASH = 'lost_in_crash';

/** Request headers that identify an exchange beyond its pseudo-headers. */
const KEPT_HEADERS: ReadonlySet<string> = new Set(['x-request-id', 'traceparent']);
const KEPT_ATTRIBUTES = ['request.id', 'source.address'] as const;

/** One journal entry. */
export interface InflightEntry {
  /** CaptureId. */
  id: string;
  /** startedAtNs. */
  ts: string;
  outcome: string;
  durationMs: number;
  responseHeadersMs: number;
  status: number;
  requestBytes: number;
  responseBytes: number;
  /** Pseudo-headers and KEPT_HEADERS, latin1 values as received. */
  headers: HeaderList;
  attributes: Record<string, string>;
  observabilityMode: boolean;
  bodyModes: string;
  /** The capture decision (level, rule, opt-out, retention); absent in entries written before the capture policy. */
  capture?: CaptureDecision;
}

/** The journal entry of a finished exchange, as JSON. */
export function inflightEntryJson(snapshot: ExchangeSnapshot, context: BodyContext, redactHeaders: ReadonlySet<string>, redactionKey?: string): string {
  const headers: HeaderList = [];
  for (const pair of snapshot.request.headers) {
    const name = pair[0];
    if (name === ':path') headers.push([name, redactPath(pair[1], redactionKey)]);
    else if ((name.charCodeAt(0) === 58 /* ':' */ || KEPT_HEADERS.has(name)) && !redactHeaders.has(name)) headers.push(pair);
  }
  const attributes: Record<string, string> = {};
  for (const key of KEPT_ATTRIBUTES) {
    const value = snapshot.attributes[key];
    if (value !== undefined) attributes[key] = value;
  }
  const entry: InflightEntry = {
    id: snapshot.captureId,
    ts: snapshot.startedAtNs,
    outcome: snapshot.outcome,
    durationMs: snapshot.durationMs,
    responseHeadersMs: snapshot.responseHeadersMs,
    status: context.statusCode,
    requestBytes: snapshot.request.bodySize,
    responseBytes: snapshot.response.bodySize,
    headers,
    attributes,
    observabilityMode: snapshot.observabilityMode,
    bodyModes: snapshot.bodyModes,
    capture: snapshot.capture,
  };
  return JSON.stringify(entry);
}

/** The row of an exchange the journal kept and no worker finished, as a spool payload line. */
export function rebuildRowLine(entry: InflightEntry, options: RowBuildOptions): string {
  const direction = (headers: HeaderList, bodySize: number): DirectionSnapshot => ({
    headers,
    trailers: [],
    headersSeen: headers.length > 0,
    bodyStreamed: false,
    streamAbandoned: false,
    bodySize,
    bodyChunks: 0,
    bodyAbsentReason: LOST_IN_CRASH,
    ended: true,
    firstBodyChunkMs: -1,
    maxBodyGapMs: 0,
  });
  const snapshot: ExchangeSnapshot = {
    captureId: entry.id,
    startedAtNs: entry.ts,
    durationMs: entry.durationMs,
    responseHeadersMs: entry.responseHeadersMs,
    outcome: entry.outcome as ExchangeOutcome,
    observabilityMode: entry.observabilityMode,
    bodyModes: entry.bodyModes,
    extProcMessages: 0,
    capture: entry.capture ?? FULL_DEFAULT_DECISION,
    attributes: entry.attributes,
    metadata: {},
    request: direction(entry.headers, entry.requestBytes),
    response: direction(entry.status > 0 ? [[':status', String(entry.status)]] : [], entry.responseBytes),
  };
  const { row } = buildRow(snapshot, options);
  row.RequestBodyNote = LOST_IN_CRASH;
  row.ResponseBodyNote = LOST_IN_CRASH;
  return JSON.stringify(row) + '\n';
}
