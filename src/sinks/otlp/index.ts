/** Public surface of the OTLP log export sink (wiring: src/service; driver: the spool). */
export { createOtlpSink, OtlpSink, REQUEST_BODY_EXPORT_CUT, RESPONSE_BODY_EXPORT_CUT } from './otlp-sink';
export type { OtlpSinkDependencies, OtlpSinkStats } from './otlp-sink';
export { otlpEnabled, parseOtlpHeaders, parseRetryAfter, resolveLogsUrl, resolveOtlpSettings } from './otlp-settings';
export type { OtlpCompression, OtlpSinkOptions, OtlpSinkSettings } from './otlp-settings';
export type { OtlpEncoding } from './encoded-size';
export { EVENT_NAME, buildResourceAttributes, mapExchangeRow, mapRowAttributes, mapGenAiAttributes, severityFor } from './log-record-mapper';
