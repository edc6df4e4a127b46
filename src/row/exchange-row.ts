/**
 * The row: one HTTP exchange as it is stored, spooled and exported. This
 * table is its only definition. Each column says once its ClickHouse type,
 * its value when the exchange has nothing for it, what it means, and where it
 * goes in the OTLP log record; from it come the `ExchangeRow` type, the DDL
 * (sinks/clickhouse/schema.ts), the empty GenAI columns of a plain HTTP row,
 * and the test that holds the OTLP mapper and the README to it.
 *
 * Adding a column: one entry here (in the place it should take in the table),
 * its value in processing/build-row.ts (the compiler asks for it), its mapping
 * in the OTLP mapper if it is exported, and its line in the README (the test
 * asks for both). Existing tables gain it at the next start (ADD COLUMN IF
 * NOT EXISTS); rows spooled before it was added are stored with its default.
 *
 * Names follow the OpenTelemetry ClickHouse exporter's PascalCase style.
 */

/** Where a column's value goes in the OTLP log record (sinks/otlp/log-record-mapper.ts). */
export type OtlpPlacement =
  /** Attributes the column fills when it has a value; a name ending in `.*` is one attribute per map entry. */
  | { readonly attributes: readonly string[] }
  /** A field of the record itself rather than an attribute. */
  | { readonly record: 'timestamp' | 'span_context' }
  /** Not exported, and why. */
  | { readonly omitted: string };

export interface ColumnSpec<Value> {
  /** ClickHouse type with codec, as the DDL declares it. */
  readonly type: string;
  /** The value of a row that has nothing for this column (and of a row spooled before the column existed). */
  readonly empty: Value;
  readonly doc: string;
  readonly otlp: OtlpPlacement;
}

const ZSTD = 'CODEC(ZSTD(1))';
const attrs = (...attributes: string[]): OtlpPlacement => ({ attributes });
const omitted = (why: string): OtlpPlacement => ({ omitted: why });

// One constructor per TypeScript shape; the row test checks each ClickHouse type against its shape.
const text = (type: string, doc: string, otlp: OtlpPlacement): ColumnSpec<string> => ({ type, empty: '', doc, otlp });
const num = (type: string, doc: string, otlp: OtlpPlacement): ColumnSpec<number> => ({ type, empty: 0, doc, otlp });
const flag = (doc: string, otlp: OtlpPlacement): ColumnSpec<boolean> => ({ type: 'Bool', empty: false, doc, otlp });
const usage = (doc: string, otlp: OtlpPlacement): ColumnSpec<number | null> => ({ type: 'Nullable(UInt64)', empty: null, doc, otlp });
const textMap = (doc: string, otlp: OtlpPlacement): ColumnSpec<Record<string, string>> => ({
  type: `Map(LowCardinality(String), String) ${ZSTD}`,
  empty: {},
  doc,
  otlp,
});
const countMap = (doc: string, otlp: OtlpPlacement): ColumnSpec<Record<string, number>> => ({ type: 'Map(LowCardinality(String), UInt32)', empty: {}, doc, otlp });
const textList = (doc: string, otlp: OtlpPlacement): ColumnSpec<string[]> => ({ type: 'Array(LowCardinality(String))', empty: [], doc, otlp });

const STRING = `String ${ZSTD}`;
const LOW = 'LowCardinality(String)';
const LOW_STRING = `LowCardinality(String) ${ZSTD}`;
const UINT64 = `UInt64 ${ZSTD}`;
const MS = `Float64 ${ZSTD}`;

const HEADERS_DOC = 'lower-cased names; a repeated header keeps every value, joined by "\\n"; redacted values replaced by their marker';

/** The columns, in table order. */
export const ROW_COLUMNS = {
  Timestamp: text("DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1))", "exchange start, UTC, 'YYYY-MM-DD hh:mm:ss.nnnnnnnnn'", { record: 'timestamp' }),
  CaptureId: text(STRING, 'unique per exchange, time-ordered (UUIDv7 layout)', attrs('egress_capture.capture_id')),
  RequestId: text(STRING, 'x-request-id header, else the request.id attribute', attrs('egress_capture.request_id')),
  TraceId: text(STRING, "from the request's traceparent ('' when absent or malformed)", { record: 'span_context' }),
  SpanId: text(STRING, "from the request's traceparent", { record: 'span_context' }),
  SourceAddress: text(LOW_STRING, 'source.address attribute: the downstream peer as Envoy saw it', attrs('client.address', 'client.port')),
  Method: text(LOW_STRING, ':method', attrs('http.request.method', 'http.request.method_original')),
  Scheme: text(LOW_STRING, ':scheme', attrs('url.scheme', 'url.full')),
  Authority: text(LOW_STRING, ':authority, else host', attrs('server.address', 'server.port', 'url.full')),
  Path: text(STRING, ':path, credential query values redacted', attrs('url.path', 'url.query', 'url.full')),
  StatusCode: num(`UInt16 ${ZSTD}`, ':status; 0 when no response was seen', attrs('http.response.status_code', 'error.type')),
  RequestHeaders: textMap(HEADERS_DOC, attrs('http.request.header.*', 'user_agent.original')),
  ResponseHeaders: textMap(HEADERS_DOC, attrs('http.response.header.*')),
  RequestTrailers: textMap(HEADERS_DOC, attrs('egress_capture.request.trailer.*')),
  ResponseTrailers: textMap(HEADERS_DOC, attrs('egress_capture.response.trailer.*')),
  RequestContentType: text(LOW_STRING, 'first content-type of the request', omitted('in http.request.header.content-type')),
  ResponseContentType: text(LOW_STRING, 'first content-type of the response', omitted('in http.response.header.content-type')),
  RequestContentEncoding: text(LOW_STRING, 'first content-encoding of the request', omitted('in http.request.header.content-encoding')),
  ResponseContentEncoding: text(LOW_STRING, 'first content-encoding of the response', omitted('in http.response.header.content-encoding')),
  RequestBody: text(STRING, "decoded body, head + tail of maxBytes with a skip marker, secrets redacted; '' when not kept", attrs('http.request.body.content')),
  ResponseBody: text(STRING, "decoded body, head + tail of maxBytes with a skip marker, secrets redacted; '' when not kept", attrs('http.response.body.content')),
  RequestBodyCaptured: flag('the request body is in the row', attrs('egress_capture.request.body.captured')),
  ResponseBodyCaptured: flag('the response body is in the row', attrs('egress_capture.response.body.captured')),
  RequestBodySize: num(UINT64, 'full size on the wire (encoded), counted even when not kept', attrs('http.request.body.size')),
  ResponseBodySize: num(UINT64, 'full size on the wire (encoded), counted even when not kept', attrs('http.response.body.size')),
  RequestBodyDecodedSize: num(UINT64, 'size after Content-Encoding was undone; 0 when not processed', attrs('egress_capture.request.body.decoded_size')),
  ResponseBodyDecodedSize: num(UINT64, 'size after Content-Encoding was undone; 0 when not processed', attrs('egress_capture.response.body.decoded_size')),
  RequestBodySha256: text(STRING, "SHA-256 (hex) of the full body as it crossed the wire; '' when not processed", attrs('egress_capture.request.body.sha256')),
  ResponseBodySha256: text(STRING, "SHA-256 (hex) of the full body as it crossed the wire; '' when not processed", attrs('egress_capture.response.body.sha256')),
  RequestBodyTruncated: flag('the request body was cut', attrs('egress_capture.request.body.truncated')),
  ResponseBodyTruncated: flag('the response body was cut', attrs('egress_capture.response.body.truncated')),
  RequestBodyNote: text(LOW, "why the body is absent or raw ('' when kept as text)", attrs('egress_capture.request.body.note')),
  ResponseBodyNote: text(LOW, "why the body is absent or raw ('' when kept as text)", attrs('egress_capture.response.body.note')),
  DurationMs: num(MS, 'first to last ext_proc message', attrs('egress_capture.duration_ms')),
  ResponseHeadersMs: num(MS, 'start to the response headers; -1 when none', attrs('egress_capture.response_headers_ms')),
  ResponseFirstChunkMs: num(MS, 'start to the first response body chunk (time to first token); -1 when none', attrs('egress_capture.response.first_chunk_ms', 'gen_ai.response.time_to_first_chunk')),
  ResponseMaxChunkGapMs: num(MS, 'largest gap between response body chunks (a stalled stream)', attrs('egress_capture.response.max_chunk_gap_ms')),
  Outcome: text(LOW, 'how the exchange ended', attrs('egress_capture.outcome', 'error.type')),
  GenAiProvider: text(LOW, 'gen_ai.provider.name', attrs('gen_ai.provider.name')),
  GenAiOperation: text(LOW, 'gen_ai.operation.name', attrs('gen_ai.operation.name')),
  GenAiApi: text(LOW, 'the wire format folded (openai_chat_completions, anthropic_messages, ...)', attrs('egress_capture.gen_ai.api')),
  GenAiRequestModel: text(LOW, 'from the request body or the path', attrs('gen_ai.request.model')),
  GenAiResponseModel: text(LOW, 'from the response', attrs('gen_ai.response.model')),
  GenAiResponseId: text(STRING, 'from the response', attrs('gen_ai.response.id')),
  GenAiStreaming: flag('the response was a stream (SSE, NDJSON or AWS eventstream)', attrs('gen_ai.request.stream')),
  GenAiInputTokens: usage('gen_ai.usage.input_tokens, cached input included; null when not reported', attrs('gen_ai.usage.input_tokens')),
  GenAiOutputTokens: usage('gen_ai.usage.output_tokens, reasoning included', attrs('gen_ai.usage.output_tokens')),
  GenAiCachedInputTokens: usage('gen_ai.usage.cache_read.input_tokens', attrs('gen_ai.usage.cache_read.input_tokens')),
  GenAiCacheCreationInputTokens: usage('gen_ai.usage.cache_creation.input_tokens', attrs('gen_ai.usage.cache_creation.input_tokens')),
  GenAiReasoningTokens: usage('gen_ai.usage.reasoning.output_tokens', attrs('gen_ai.usage.reasoning.output_tokens')),
  GenAiUsageSource: text(LOW, "where the usage came from: provider, envoy, envoy_partial, envoy_failed, missing; '' for no model call", attrs('egress_capture.gen_ai.usage_source')),
  GenAiFinishReasons: textList('gen_ai.response.finish_reasons as the provider sent them', attrs('gen_ai.response.finish_reasons')),
  GenAiOutputText: text(STRING, 'the folded answer, cut at maxBytes, secrets redacted', attrs('egress_capture.gen_ai.output_text')),
  GenAiOutputTextTruncated: flag('the folded answer was cut', attrs('egress_capture.gen_ai.output_text_truncated')),
  GenAiToolCalls: text(STRING, "JSON array of {id, name, arguments, argumentsTruncated}; '' when none", attrs('egress_capture.gen_ai.tool_calls')),
  GenAiEventCount: num('UInt32', 'stream events folded', attrs('egress_capture.gen_ai.event_count')),
  GenAiErrorType: text(LOW, "the provider's error type", attrs('error.type')),
  GenAiErrorMessage: text(STRING, "the provider's error message", attrs('egress_capture.gen_ai.error_message')),
  GenAiComplete: flag('the stream reached its own end marker and the exchange completed', attrs('egress_capture.gen_ai.complete')),
  BodyRedactions: countMap('secrets redacted from bodies and folded text, per rule', attrs('egress_capture.body_redactions')),
  Metadata: textMap('forwarded dynamic metadata, "namespace.key"', attrs('egress_capture.metadata')),
  Attributes: textMap('ext_proc attributes as strings', omitted('the ones with a convention are exported from their columns (source.address, request.id)')),
  ObservabilityMode: flag('Envoy sent in observability mode', attrs('egress_capture.observability_mode')),
  BodyModes: text(LOW, "effective body modes 'REQUEST/RESPONSE' from protocol_config ('' when not sent)", omitted('describes the gateway configuration, not the exchange')),
  CapturedBy: text(LOW, 'capture replica that recorded the exchange: its pod name (POD_NAME), else its host name', attrs('egress_capture.captured_by')),
  CaptureLevel: text(LOW, "what the capture policy kept: full, headers or usage ('' in rows stored before the policy existed: full)", attrs('egress_capture.capture.level')),
  CaptureRule: text(LOW, "the policy rule that decided the level; 'default' when none matched", attrs('egress_capture.capture.rule')),
  CaptureOptOut: text(
    LOW,
    "what became of the workload's x-egress-capture header: '' (not sent), applied, refused_not_allowed, ignored_not_lower, ignored_invalid",
    attrs('egress_capture.capture.opt_out'),
  ),
  RetentionDays: num('UInt16', "days the store keeps the row, from the policy; 0: the store's --ttl-days", omitted("the store's own housekeeping; an OTLP backend keeps records by its own rules")),
} satisfies Record<string, ColumnSpec<unknown>>;

type Columns = typeof ROW_COLUMNS;
export type ColumnName = keyof Columns;
type ValueOf<Spec> = Spec extends ColumnSpec<infer Value> ? Value : never;

/** One row of the http_exchanges table, exactly as it is serialized into JSONEachRow (and spooled, and mapped to OTLP). */
export type ExchangeRow = { [Name in ColumnName]: ValueOf<Columns[Name]> };

export const COLUMN_NAMES = Object.keys(ROW_COLUMNS) as ColumnName[];

export type GenAiColumn = Extract<ColumnName, `GenAi${string}`>;

/** The GenAI columns of a row that is not a recognised model call, from each column's empty value. */
export const EMPTY_GENAI: Readonly<Pick<ExchangeRow, GenAiColumn>> = Object.freeze(
  Object.fromEntries(COLUMN_NAMES.filter((name) => name.startsWith('GenAi')).map((name) => [name, ROW_COLUMNS[name].empty])) as Pick<ExchangeRow, GenAiColumn>,
);
