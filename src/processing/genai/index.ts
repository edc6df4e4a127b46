/**
 * Public surface of the GenAI processing library, for the body workers.
 * Everything here is synchronous, throw-free on traffic, and bounded by the
 * limits passed in.
 */
export { ExchangeFolder, detectorFor } from './exchange-folder';
export type { ExchangeFolderLimits, ExchangeFolderOptions, FinishInfo, ResponseInfo } from './exchange-folder';
export type { GenAiApi, GenAiSummary, GenAiToolCall, UsageSource } from './genai-summary';
export { GEN_AI_APIS } from './genai-summary';
export { withEnvoyUsage } from './envoy-usage';
export type { EnvoyUsage, EnvoyUsageStatus } from './envoy-usage';
export { ProviderDetector, inferApi } from './provider-detection';
export type { ProviderDetection, ProviderMappingEntry } from './provider-detection';
export { SseParser } from './sse-parser';
export type { SseEvent, SseParserOptions, SseParserStats } from './sse-parser';
export { NdjsonParser } from './ndjson-parser';
export { AwsEventStreamDecoder } from './aws-eventstream-decoder';
export type { AwsEventStreamMessage, AwsEventStreamHeaderValue } from './aws-eventstream-decoder';
export { GenAiConfigError, type GenAiErrorCode } from './errors';
export * as genAiDefaults from './defaults';
