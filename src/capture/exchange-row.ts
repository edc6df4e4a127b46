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
  RequestBodyTruncated: boolean;
  ResponseBodyTruncated: boolean;
  /** Why the body is absent or raw ('' when captured normally). */
  RequestBodyNote: string;
  ResponseBodyNote: string;
  DurationMs: number;
  /** Milliseconds from exchange start to the response headers (-1 when none). */
  ResponseHeadersMs: number;
  Outcome: string;
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
