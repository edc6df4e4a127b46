/** The Envoy emulator's public surface, for scenario tests and the bench. */
export { EnvoyEmulator, type EnvoyEmulatorOptions } from './envoy-emulator';
export type { ExchangeOptions, ProcessingModeOptions, BodySendModeName, HeaderSendMode } from './emulator-options';
export { EMULATOR_DEFAULTS, ATTRIBUTES_KEY } from './emulator-defaults';
export { envoyFeatures, type EnvoyVersionProfile } from './envoy-version-profile';
export type { ExchangeResult, ProtocolViolation, ViolationKind, ExchangeFailure, CloseReason } from './exchange-result';
export * from './http-exchange-spec';
export { sentNotation, receivedNotation, requestNotation, replyNotation } from './message-notation';
export { replyLatenciesMs, quantile } from './reply-latency';
export { chatCompletionExchange, type ChatCompletionOptions } from './realistic-exchanges';
export { FakeProcessor, passiveReply, type FakeProcessorOptions, type ProcessorAction, type ObservedCall } from './fake-processors';
