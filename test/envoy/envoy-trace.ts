/**
 * The recorded-trace format: what a real Envoy sent to an ext_proc server in
 * one scenario, normalised so that a re-run gives the same JSON. Values that
 * change per run (ports, dates, request ids, timings) keep their shape: every
 * digit becomes `#`, UUID hex becomes `x`, day and month names become `Ddd`
 * and `Mmm` — the format is part of what the traces document.
 *
 * Used by the recorder (test/envoy/traces.test.ts) and, without Envoy, by the
 * emulator's conformance test, so nothing here starts a process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { HeaderMap, ProcessingRequest, ProtoStruct, ProtoValue } from '../../src/extproc/wire/protocol';
import { requestNotation } from '../emulator/message-notation';
import type { RecordedCall } from './recording-processor';

/** The fixtures live in the source tree (tests run from dist/). */
export const TRACE_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'envoy-traces');

export type Pair = [string, string];

export interface TraceBody {
  bytes: number;
  /** First 16 hex digits of the SHA-256 of the bytes. */
  sha256: string;
  /** The bytes as text when short and printable. */
  text?: string;
}

export interface TraceValue {
  type: 'string' | 'number' | 'bool' | 'other';
  value: string;
}

export interface TraceMessage {
  /** Compact notation (test/emulator/message-notation.ts), e.g. `RH(eos)+pc`, `SB(120,eos)+obs`. */
  notation: string;
  headers?: Pair[];
  /** Which HeaderValue fields carried the values (`raw_value`, `value`). */
  headerValueFields?: string[];
  body?: TraceBody;
  trailers?: Pair[];
  protocolConfig?: { requestBodyMode: string; responseBodyMode: string; sendBodyWithoutWaitingForHeaderResponse: boolean };
  /** attributes[key][expression] = printed value. */
  attributes?: Record<string, Record<string, TraceValue>>;
  /** metadata_context: null when the field was absent, else namespace → key → value. */
  metadataContext: Record<string, Record<string, TraceValue>> | null;
  observabilityMode?: boolean;
}

export interface TraceClose {
  /** grpc-js events on the server side, in order ('end' = half-close, 'cancelled' = reset). */
  events: string[];
  /** Time from 'end' to 'cancelled', bucketed. */
  endToCancel?: string;
  /** When the call was closed, relative to the HTTP client receiving the whole response. */
  point: string;
  /** What the HTTP/2 stream under the call saw: END_STREAM from Envoy (half-close), and the RST_STREAM code. */
  wire?: { endStream: boolean; reset: string };
}

/** One thing that happened on the call, as the processor saw it, in ms since the call's first message. */
export interface TimelineEntry {
  atMs: number;
  /** A message (`RB(100)#2`: its notation and its ordinal among messages of that kind), `reply RB#2`, `withheld` (no reply from here on), `end`/`cancelled` (grpc-js), `client-done` (the HTTP client had its whole answer or gave up). */
  event: string;
}

/** Where Envoy's message timer ran out, for scenarios about it (ms measured at the processor). */
export interface TraceTimer {
  messageTimeoutMs: number;
  /** For each message still unanswered when Envoy closed the call: ms from its arrival to the close. Varies per run. */
  closeAfterMs: Record<string, number>;
  /**
   * The send that armed the timer which fired: of the messages unanswered at the close, the one
   * whose arrival plus message_timeout is closest to the close (and within −100/+200 ms of it).
   * null: no timer ran out.
   */
  timedOutAfter: string | null;
}

export interface TraceCall {
  metadata: Record<string, string>;
  messages: TraceMessage[];
  close: TraceClose;
  /** Messages that arrived before the first reply was written (scenarios with a delayed headers reply). */
  messagesBeforeFirstReply?: number;
  /** Scenarios about the message timer: what happened when, as the processor saw it. */
  timeline?: TimelineEntry[];
  timer?: TraceTimer;
}

export interface TraceHttp {
  status?: number;
  protocol?: string;
  headers: Pair[];
  body: TraceBody;
  trailers?: Pair[];
  error?: string;
}

export interface EnvoyTrace {
  scenario: string;
  envoyVersion: string;
  description: string;
  /** The ext_proc filter configuration of the scenario's listener (Envoy field names). */
  extProcConfig: object;
  client: string;
  calls: TraceCall[];
  /** What the client received. */
  downstream: TraceHttp;
  /** What the upstream received (null: the request never reached it). */
  upstream: TraceHttp | null;
  /** Non-zero `http.<listener>.ext_proc.*` counters after the exchange. */
  envoyStats: Record<string, number>;
}

const BODY_MODES = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED', 'GRPC'];

/** Header names whose values change per run. */
const VARIABLE_HEADERS = new Set(['date', 'x-request-id', 'x-envoy-upstream-service-time', 'user-agent', 'x-forwarded-for', 'grpc-timeout', 'traceparent']);
/** Attribute expressions whose values change per run. */
const VARIABLE_ATTRIBUTE = /^(request\.(id|time|duration|headers)|response\.(headers|backend_latency)|source\.|destination\.|connection\.id|upstream\.)/;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const DAYS = /\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b/g;
const MONTHS = /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/g;

/** Keeps the format of a per-run value and drops the value; `collapse` also drops the number of digits (counters, durations). */
export function shape(value: string, collapse = false): string {
  const masked = value.replace(UUID, 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx').replace(DAYS, 'Ddd').replace(MONTHS, 'Mmm');
  const shaped = collapse ? masked.replace(/[0-9]+/g, '#') : masked.replace(/[0-9]/g, '#');
  // Envoy prints a time's fraction without its trailing zeros (`…:11.12345+00:00` about one run in ten): microseconds.
  return shaped.replace(/(T##:##:##)\.#{1,6}(?=[+-]##:##|Z)/g, '$1.######');
}

/** Values whose digit count varies between runs. */
const VARIABLE_LENGTH_HEADERS = new Set(['x-envoy-upstream-service-time']);

export function traceBody(bytes: Buffer): TraceBody {
  const out: TraceBody = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 16) };
  const text = bytes.toString('utf8');
  if (bytes.length > 0 && bytes.length <= 200 && /^[\x20-\x7e\r\n\t]*$/.test(text)) out.text = text;
  return out;
}

export function headerPair(name: string, value: string): Pair {
  const lower = name.toLowerCase();
  return [lower, VARIABLE_HEADERS.has(lower) ? shape(value, VARIABLE_LENGTH_HEADERS.has(lower)) : value];
}

function headerPairs(map: HeaderMap | undefined): { pairs: Pair[]; fields: Set<string> } {
  const fields = new Set<string>();
  const pairs: Pair[] = [];
  for (const h of map?.headers ?? []) {
    if (h.raw_value !== undefined && h.raw_value.length > 0) fields.add('raw_value');
    if (h.value !== undefined && h.value !== '') fields.add('value');
    const value = h.raw_value !== undefined && h.raw_value.length > 0 ? h.raw_value.toString('latin1') : (h.value ?? '');
    pairs.push(headerPair(h.key ?? '', value));
  }
  return { pairs, fields };
}

function traceValue(value: ProtoValue, variable: boolean): TraceValue {
  const vary = (text: string) => (variable ? shape(text) : text);
  if (value.stringValue !== undefined) return { type: 'string', value: vary(value.stringValue) };
  if (value.numberValue !== undefined) return { type: 'number', value: variable ? shape(String(value.numberValue), true) : String(value.numberValue) };
  if (value.boolValue !== undefined) return { type: 'bool', value: String(value.boolValue) };
  return { type: 'other', value: vary(JSON.stringify(value)) };
}

function structValues(struct: ProtoStruct | undefined, variable: (key: string) => boolean): Record<string, TraceValue> {
  const out: Record<string, TraceValue> = {};
  for (const key of Object.keys(struct?.fields ?? {}).sort()) out[key] = traceValue(struct!.fields![key]!, variable(key));
  return out;
}

export function traceMessage(message: ProcessingRequest): TraceMessage {
  const out: TraceMessage = { notation: requestNotation(message), metadataContext: null };
  const kind = message.request!;
  const part = message[kind] as { headers?: HeaderMap; body?: Buffer; trailers?: HeaderMap } | undefined;
  if (part?.headers) {
    const { pairs, fields } = headerPairs(part.headers);
    out.headers = pairs;
    out.headerValueFields = [...fields].sort();
  }
  if (kind.endsWith('_body')) out.body = traceBody(part?.body ?? Buffer.alloc(0));
  if (part?.trailers) out.trailers = headerPairs(part.trailers).pairs;
  const pc = message.protocol_config;
  if (pc) {
    out.protocolConfig = {
      requestBodyMode: BODY_MODES[pc.request_body_mode ?? 0] ?? String(pc.request_body_mode),
      responseBodyMode: BODY_MODES[pc.response_body_mode ?? 0] ?? String(pc.response_body_mode),
      sendBodyWithoutWaitingForHeaderResponse: pc.send_body_without_waiting_for_header_response ?? false,
    };
  }
  if (message.attributes) {
    out.attributes = {};
    for (const [key, struct] of Object.entries(message.attributes)) out.attributes[key] = structValues(struct, (k) => VARIABLE_ATTRIBUTE.test(k));
  }
  if (message.metadata_context) {
    out.metadataContext = {};
    for (const [ns, struct] of Object.entries(message.metadata_context.filter_metadata ?? {})) out.metadataContext[ns] = structValues(struct, () => false);
  }
  if (message.observability_mode) out.observabilityMode = true;
  return out;
}

const H2_ERRORS: Record<number, string> = { 0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 7: 'REFUSED_STREAM', 8: 'CANCEL' };

export function resetName(code: number | undefined): string {
  if (code === undefined) return 'none';
  return H2_ERRORS[code] ?? `code ${code}`;
}

/** Buckets a duration so that re-runs agree: the order of magnitude is what matters. */
export function bucketMs(ms: number): string {
  if (ms < 50) return '<50ms';
  if (ms < 500) return '<500ms';
  return `~${Math.round(ms / 1000)}s`;
}

/** Where a close happened relative to the client receiving the whole response (both in performance.now() ms). */
export function closePoint(closeAt: number | undefined, clientDoneAt: number): string {
  if (closeAt === undefined) return 'never';
  const delta = closeAt - clientDoneAt;
  if (delta < -150) return 'before-response-complete';
  if (delta <= 500) return 'with-response-complete';
  return `${bucketMs(delta)}-after-response-complete`;
}

/**
 * How far from message_timeout after a message's arrival a close may be and still count as that
 * message's timer: Envoy's timer is never early, but the processor may see a message late on a
 * loaded machine, which makes the timer look early.
 */
const TIMER_EARLY_MS = 100;
const TIMER_LATE_MS = 200;

const MESSAGE_CODE = /^(RH|RB|RT|SH|SB|ST)/;

/** The call's events with message labels (`RB(100)#2`) and replies paired FIFO per kind (`reply RB#2`). */
function timelineOf(call: RecordedCall, clientDoneAt: number): { timeline: TimelineEntry[]; sentAt: Map<string, number>; answered: Set<string> } {
  const counts = new Map<string, number>();
  const labels: string[] = [];
  const sentAt = new Map<string, number>();
  const awaiting: string[] = [];
  const answered = new Set<string>();
  const timeline: TimelineEntry[] = [];
  for (const event of call.events) {
    if (event.type === 'message') {
      const notation = requestNotation(call.messages[event.index!]!);
      const code = MESSAGE_CODE.exec(notation)?.[1] ?? '?';
      const n = (counts.get(code) ?? 0) + 1;
      counts.set(code, n);
      const label = `${code}#${n}`;
      labels.push(label);
      sentAt.set(label, event.atMs);
      if (!call.messages[event.index!]!.observability_mode) awaiting.push(label);
      timeline.push({ atMs: event.atMs, event: `${notation.replace(/\+.*$/, '')}#${n}` });
    } else if (event.type === 'reply') {
      const label = awaiting.shift();
      if (label) answered.add(label);
      timeline.push({ atMs: event.atMs, event: `reply ${label ?? event.reply}` });
    } else {
      timeline.push({ atMs: event.atMs, event: event.type });
    }
  }
  const clientAt = Math.round((clientDoneAt - call.startedAt) * 10) / 10;
  timeline.push({ atMs: clientAt, event: 'client-done' });
  timeline.sort((a, b) => a.atMs - b.atMs);
  return { timeline, sentAt, answered };
}

/** Where the call was closed relative to each unanswered message, and which send's timer that was. */
function timerOf(call: RecordedCall, sentAt: Map<string, number>, answered: Set<string>, messageTimeoutMs: number): TraceTimer {
  const closes = call.events.filter((e) => e.type === 'end' || e.type === 'cancelled').map((e) => e.atMs);
  if (call.wire) closes.push(call.wire.atMs);
  const closeAt = closes.length > 0 ? Math.min(...closes) : undefined;
  const closeAfterMs: Record<string, number> = {};
  let timedOutAfter: string | null = null;
  if (closeAt !== undefined) {
    for (const [label, at] of sentAt) {
      if (answered.has(label) || at > closeAt) continue;
      const after = Math.round(closeAt - at);
      closeAfterMs[label] = after;
      if (after < messageTimeoutMs - TIMER_EARLY_MS || after > messageTimeoutMs + TIMER_LATE_MS) continue;
      if (timedOutAfter === null || Math.abs(after - messageTimeoutMs) < Math.abs(closeAfterMs[timedOutAfter]! - messageTimeoutMs)) timedOutAfter = label;
    }
  }
  return { messageTimeoutMs, closeAfterMs, timedOutAfter };
}

/**
 * One recorded call in trace form; `clientDoneAt` (performance.now()) places the close. With
 * `messageTimeoutMs` (scenarios about the message timer) the timeline and the timer's verdict are added.
 */
export function traceCall(call: RecordedCall, clientDoneAt: number, withReplyOrder: boolean, messageTimeoutMs?: number): TraceCall {
  const end = call.events.find((e) => e.type === 'end');
  const cancelled = call.events.find((e) => e.type === 'cancelled');
  const first = end ?? cancelled;
  const metadata: Record<string, string> = {};
  for (const key of Object.keys(call.metadata).sort()) metadata[key] = headerPair(key, call.metadata[key]!.join(','))[1];
  const out: TraceCall = {
    metadata,
    messages: call.messages.map(traceMessage),
    close: {
      events: call.events.filter((e) => e.type === 'end' || e.type === 'cancelled').map((e) => e.type),
      ...(end && cancelled ? { endToCancel: bucketMs(cancelled.atMs - end.atMs) } : {}),
      point: closePoint(first === undefined ? undefined : call.startedAt + first.atMs, clientDoneAt),
      ...(call.wire ? { wire: { endStream: call.wire.endStreamReceived, reset: resetName(call.wire.rstCode) } } : {}),
    },
  };
  if (withReplyOrder) {
    const firstReply = call.events.findIndex((e) => e.type === 'reply');
    out.messagesBeforeFirstReply = call.events.slice(0, firstReply < 0 ? undefined : firstReply).filter((e) => e.type === 'message').length;
  }
  if (messageTimeoutMs !== undefined) {
    const { timeline, sentAt, answered } = timelineOf(call, clientDoneAt);
    out.timeline = timeline;
    out.timer = timerOf(call, sentAt, answered, messageTimeoutMs);
  }
  return out;
}

/**
 * What a re-run must reproduce of a timeline: the order of messages, replies and withholding
 * (our timings keep those ≥ 100 ms apart). Times, the close events and the client's end are left
 * out: the close and the client's answer race each other, and the times vary.
 */
export function timelineOrder(timeline: TimelineEntry[] | undefined): string[] | undefined {
  return timeline?.filter((e) => /^(R|S)[HBT]|^reply |^withheld/.test(e.event)).map((e) => e.event);
}

/** The timer's verdict without the per-run times. */
export function timerVerdict(timer: TraceTimer | undefined): object | undefined {
  return timer && { messageTimeoutMs: timer.messageTimeoutMs, timedOutAfter: timer.timedOutAfter };
}

// ---- comparing a live run with a recording ----------------------------------------

/**
 * How exact body chunk boundaries are between runs: `exact` (timed so every
 * read is its own message), `merged` (consecutive body messages of one
 * direction are compared as one: total bytes, eos of the last), `kinds`
 * (only that body messages came, and the eos flag of the last).
 */
export type Chunking = 'exact' | 'merged' | 'kinds';

interface BodyRun {
  code: string;
  bytes: number;
  count: number;
  eos: boolean;
  suffix: string;
}

/** Notation of a call's messages with body messages merged as `chunking` says. */
export function chunkedNotation(messages: TraceMessage[], chunking: Chunking): string[] {
  if (chunking === 'exact') return messages.map((m) => m.notation);
  const out: Array<string | BodyRun> = [];
  for (const m of messages) {
    const body = /^(RB|SB)\((\d+)(,eos)?\)(.*)$/.exec(m.notation);
    if (!body) {
      out.push(m.notation);
      continue;
    }
    const [, code, bytes, eos, suffix] = body;
    const last = out[out.length - 1];
    if (typeof last === 'object' && last.code === code && !last.eos) {
      last.bytes += Number(bytes);
      last.count++;
      last.eos = eos !== undefined;
      // Attributes/pc ride on the first message of a run.
      continue;
    }
    out.push({ code: code!, bytes: Number(bytes), count: 1, eos: eos !== undefined, suffix: suffix ?? '' });
  }
  return out.map((entry) => (typeof entry === 'string' ? entry : `${entry.code}(${chunking === 'merged' ? `${entry.bytes}` : '*'}${entry.eos ? ',eos' : ''})${entry.suffix}`));
}

/** The parts of a trace a re-run must reproduce exactly, with body boundaries reduced per `chunking`. */
export function comparableTrace(recorded: EnvoyTrace, chunking: Chunking): object {
  const trace = {
    ...recorded,
    // Whether grpc-js emits 'end' before 'cancelled' is a race inside grpc-js (Envoy's half-close and reset
    // arrive together while the call is paused); the HTTP/2 view in `wire` is what Envoy did.
    // Timelines keep their order and the timer its verdict; the times vary per run.
    calls: recorded.calls.map(({ timeline, timer, ...call }) => ({
      ...call,
      close: { point: call.close.point, wire: call.close.wire },
      ...(timeline ? { timeline: timelineOrder(timeline) } : {}),
      ...(timer ? { timer: timerVerdict(timer) } : {}),
    })),
    // Envoy adds `connection: close` to an HTTP/1.1 local reply only when the request body was still arriving.
    downstream: { ...recorded.downstream, headers: recorded.downstream.headers.filter(([name]) => name !== 'connection') },
  };
  if (chunking === 'exact') return trace;
  const isBody = (m: TraceMessage) => /^(RB|SB)\(/.test(m.notation);
  return {
    ...trace,
    calls: trace.calls.map((call) => ({
      ...call,
      messages: chunkedNotation(call.messages, chunking),
      others: call.messages.filter((m) => !isBody(m)),
      // Every body message's fields besides the bytes, once per distinct value.
      bodyFields: [
        ...new Set(
          call.messages.filter(isBody).map((m) => {
            const { body: _body, notation: _notation, ...rest } = m;
            return JSON.stringify(rest);
          }),
        ),
      ].sort(),
    })),
    // Message counters follow the boundaries.
    envoyStats: Object.fromEntries(Object.entries(trace.envoyStats).filter(([name]) => !/msgs/.test(name))),
  };
}

export function fixturePath(scenario: string, version: string): string {
  return path.join(TRACE_FIXTURES, `${scenario}.envoy-${version}.json`);
}

export function readTrace(scenario: string, version: string): EnvoyTrace | undefined {
  const file = fixturePath(scenario, version);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as EnvoyTrace) : undefined;
}

export function writeTrace(trace: EnvoyTrace): void {
  fs.mkdirSync(TRACE_FIXTURES, { recursive: true });
  fs.writeFileSync(fixturePath(trace.scenario, trace.envoyVersion), `${JSON.stringify(trace, null, 2)}\n`);
}
