/**
 * One row of the http_exchanges table, exactly as it is serialized into
 * JSONEachRow (and spooled, and mapped to OTLP). Column names follow the
 * OpenTelemetry ClickHouse exporter's PascalCase style. The DDL lives in
 * src/sinks/clickhouse/schema.ts and must list the same columns.
 */
export interface ExchangeRow {
  /** Exchange start, UTC, 'YYYY-MM-DD hh:mm:ss.nnnnnnnnn' (DateTime64(9, 'UTC')). */
  Timestamp: string;
  /** Unique per exchange (UUIDv7-like: time-ordered). */
  CaptureId: string;
  /** x-request-id header, else the request.id attribute. */
  RequestId: string;
  /** From the request's traceparent header ('' when absent or malformed). */
  TraceId: string;
  SpanId: string;
  /** source.address attribute (the downstream peer as Envoy saw it). */
  SourceAddress: string;
  Method: string;
  Scheme: string;
  Authority: string;
  Path: string;
  /** 0 when no response was seen. */
  StatusCode: number;
  RequestHeaders: Record<string, string>;
  ResponseHeaders: Record<string, string>;
  RequestTrailers: Record<string, string>;
  ResponseTrailers: Record<string, string>;
  RequestContentType: string;
  ResponseContentType: string;
  RequestContentEncoding: string;
  ResponseContentEncoding: string;
  /** Decoded body, cut at maxBytes on a UTF-8 boundary; '' when not captured. */
  RequestBody: string;
  ResponseBody: string;
  RequestBodyCaptured: boolean;
  ResponseBodyCaptured: boolean;
  /** Full body size on the wire (encoded), whether captured or not. */
  RequestBodySize: number;
  ResponseBodySize: number;
  /** Body size after Content-Encoding was undone (0 when the body was not processed). */
  RequestBodyDecodedSize: number;
  ResponseBodyDecodedSize: number;
  /** SHA-256 (hex) of the full body as it crossed the wire, hashed while it streamed ('' when not processed). */
  RequestBodySha256: string;
  ResponseBodySha256: string;
  RequestBodyTruncated: boolean;
  ResponseBodyTruncated: boolean;
  /** Why the body is absent or raw ('' when captured normally). */
  RequestBodyNote: string;
  ResponseBodyNote: string;
  DurationMs: number;
  /** Milliseconds from exchange start to the response headers (-1 when none). */
  ResponseHeadersMs: number;
  /** Milliseconds from exchange start to the first response body chunk (-1 when none): time to first token for streams. */
  ResponseFirstChunkMs: number;
  /** Largest gap between response body chunks, ms (a stalled stream shows here). */
  ResponseMaxChunkGapMs: number;
  Outcome: string;
  /**
   * GenAI columns (OpenTelemetry GenAI semantic conventions): filled when the
   * exchange is a recognised model call, empty/null otherwise.
   */
  /** gen_ai.provider.name */
  GenAiProvider: string;
  /** gen_ai.operation.name */
  GenAiOperation: string;
  /** Wire format folded: openai_chat_completions, openai_responses, anthropic_messages, ollama_chat, bedrock_converse[_stream]. */
  GenAiApi: string;
  GenAiRequestModel: string;
  GenAiResponseModel: string;
  GenAiResponseId: string;
  /** The response was a stream (SSE, NDJSON or AWS eventstream). */
  GenAiStreaming: boolean;
  /** gen_ai.usage.input_tokens (cached input included); null when the provider did not report usage. */
  GenAiInputTokens: number | null;
  GenAiOutputTokens: number | null;
  GenAiCachedInputTokens: number | null;
  GenAiCacheCreationInputTokens: number | null;
  GenAiReasoningTokens: number | null;
  /** 'provider' (usage reported) | 'missing' | '' (not a model call). */
  GenAiUsageSource: string;
  /** gen_ai.response.finish_reasons as the provider sent them. */
  GenAiFinishReasons: string[];
  /** The model's text output, folded from the stream, cut at maxBytes, secrets redacted. */
  GenAiOutputText: string;
  GenAiOutputTextTruncated: boolean;
  /** JSON array of {id, name, arguments, argumentsTruncated} ('' when none). */
  GenAiToolCalls: string;
  /** Stream events folded. */
  GenAiEventCount: number;
  GenAiErrorType: string;
  GenAiErrorMessage: string;
  /** The stream reached its own end marker and the exchange completed. */
  GenAiComplete: boolean;
  /** Secrets redacted from the bodies and folded text, per rule. */
  BodyRedactions: Record<string, number>;
  /** metadata_context flattened as "namespace.key". */
  Metadata: Record<string, string>;
  /** ext_proc attributes as strings. */
  Attributes: Record<string, string>;
  ObservabilityMode: boolean;
  /** Effective body modes "REQUEST/RESPONSE" from protocol_config ('' when not sent). */
  BodyModes: string;
  /** Host name of the capture service instance that recorded the exchange. */
  CapturedBy: string;
}
