/**
 * Configuration of the emulated ext_proc filter: the subset of Envoy's
 * ExternalProcessor filter config (plus the HCM settings it depends on) that
 * changes what the processing server sees.
 */
import { EMULATOR_DEFAULTS } from './emulator-defaults';
import { envoyFeatures, EnvoyFeatures } from './envoy-version-profile';
import type { HttpExchangeSpec } from './http-exchange-spec';

export type HeaderSendMode = 'SEND' | 'SKIP';
export type BodySendModeName = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';

/** ProcessingMode; unset fields take Envoy's DEFAULT meaning (headers SEND, body NONE, trailers SKIP). */
export interface ProcessingModeOptions {
  requestHeaderMode?: HeaderSendMode;
  responseHeaderMode?: HeaderSendMode;
  requestBodyMode?: BodySendModeName;
  responseBodyMode?: BodySendModeName;
  requestTrailerMode?: HeaderSendMode;
  responseTrailerMode?: HeaderSendMode;
}

/** Options that may differ per exchange (passed to the constructor or to runExchange). */
export interface ExchangeOptions {
  /** Envoy version profile: '1.31', '1.32-1.33', '1.34', '1.35-1.36', '1.37+' or any 1.x version. */
  envoyVersion?: string;
  processingMode?: ProcessingModeOptions;
  messageTimeoutMs?: number;
  failureModeAllow?: boolean;
  observabilityMode?: boolean;
  deferredCloseTimeoutMs?: number;
  /** STREAMED only, 1.32+. */
  sendBodyWithoutWaitingForHeaderResponse?: boolean;
  /** allow_mode_override: a request headers reply may change the body modes (and response header/trailer modes) of the rest of the exchange. */
  allowModeOverride?: boolean;
  bufferLimitBytes?: number;
  streamIdleTimeoutMs?: number;
  statusOnErrorCode?: number;
  /**
   * `request_attributes` / `response_attributes` are configured: the first message of
   * that direction carries attributes (values from the spec, or these defaults).
   */
  requestAttributes?: Record<string, string | number | boolean>;
  responseAttributes?: Record<string, string | number | boolean>;
  /** metadata_options.forwarding_namespaces.untyped: which of the spec's dynamic metadata namespaces are forwarded. */
  forwardingNamespaces?: string[];
  /** Where header values go: 'raw_value' (1.27+, what every emulated profile does) or 'value' (pre-1.27 Envoy). */
  headerValueField?: 'raw_value' | 'value';
  /**
   * Apply the HCM request mutations that happen before ext_proc sees the headers:
   * strip hop-by-hop headers and `expect: 100-continue`, add x-forwarded-proto and
   * x-request-id when absent. Default true.
   */
  hcmRequestMutation?: boolean;
  /** gRPC initial metadata of the call (GrpcService.initial_metadata), e.g. { 'x-request-id': ... }. */
  initialMetadata?: Record<string, string> | ((spec: HttpExchangeSpec) => Record<string, string>);
}

/** Fully resolved per-exchange configuration. */
export interface ResolvedExchangeOptions {
  features: EnvoyFeatures;
  modes: Required<ProcessingModeOptions>;
  messageTimeoutMs: number;
  failureModeAllow: boolean;
  observabilityMode: boolean;
  deferredCloseTimeoutMs: number;
  sendBodyWithoutWaiting: boolean;
  allowModeOverride: boolean;
  bufferLimitBytes: number;
  streamIdleTimeoutMs: number;
  statusOnErrorCode: number;
  requestAttributes?: Record<string, string | number | boolean>;
  responseAttributes?: Record<string, string | number | boolean>;
  forwardingNamespaces: string[];
  headerValueField: 'raw_value' | 'value';
  hcmRequestMutation: boolean;
  initialMetadata?: ExchangeOptions['initialMetadata'];
}

/** Merges base and per-exchange options and rejects configurations Envoy itself would reject. */
export function resolveExchangeOptions(base: ExchangeOptions, override: ExchangeOptions = {}): ResolvedExchangeOptions {
  const o: ExchangeOptions = { ...base, ...override, processingMode: { ...base.processingMode, ...override.processingMode } };
  const features = envoyFeatures(o.envoyVersion ?? EMULATOR_DEFAULTS.envoyVersion);
  const pm = o.processingMode ?? {};
  const modes: Required<ProcessingModeOptions> = {
    requestHeaderMode: pm.requestHeaderMode ?? 'SEND',
    responseHeaderMode: pm.responseHeaderMode ?? 'SEND',
    requestBodyMode: pm.requestBodyMode ?? 'NONE',
    responseBodyMode: pm.responseBodyMode ?? 'NONE',
    requestTrailerMode: pm.requestTrailerMode ?? 'SKIP',
    responseTrailerMode: pm.responseTrailerMode ?? 'SKIP',
  };
  for (const dir of ['request', 'response'] as const) {
    if (modes[`${dir}BodyMode`] !== 'FULL_DUPLEX_STREAMED') continue;
    if (!features.fullDuplexStreamed) throw new Error(`FULL_DUPLEX_STREAMED needs Envoy 1.34+ (profile ${features.profile})`);
    // Envoy's config validation (verifyProcessingModeConfig) rejects FDS without trailer SEND.
    if (modes[`${dir}TrailerMode`] !== 'SEND') throw new Error(`FULL_DUPLEX_STREAMED ${dir} body requires ${dir}TrailerMode SEND`);
    // 1.35 briefly rejected failure_mode_allow with FDS (re-allowed in 1.36).
    if (o.failureModeAllow && features.profile === '1.35-1.36' && /^1\.35/.test(o.envoyVersion ?? '')) {
      throw new Error('Envoy 1.35 rejects failure_mode_allow with FULL_DUPLEX_STREAMED');
    }
  }
  const sendBodyWithoutWaiting = o.sendBodyWithoutWaitingForHeaderResponse ?? false;
  if (sendBodyWithoutWaiting && !features.sendBodyWithoutWaiting) {
    throw new Error(`send_body_without_waiting_for_header_response needs Envoy 1.32+ (profile ${features.profile})`);
  }
  const allowModeOverride = o.allowModeOverride ?? false;
  if (allowModeOverride && (modes.requestBodyMode === 'FULL_DUPLEX_STREAMED' || modes.responseBodyMode === 'FULL_DUPLEX_STREAMED')) {
    // Envoy's config validation: mode overrides are not supported with FULL_DUPLEX_STREAMED.
    throw new Error('allow_mode_override is not supported with FULL_DUPLEX_STREAMED');
  }
  return {
    features,
    modes,
    allowModeOverride,
    messageTimeoutMs: o.messageTimeoutMs ?? EMULATOR_DEFAULTS.messageTimeoutMs,
    failureModeAllow: o.failureModeAllow ?? false,
    observabilityMode: o.observabilityMode ?? false,
    deferredCloseTimeoutMs: o.deferredCloseTimeoutMs ?? EMULATOR_DEFAULTS.deferredCloseTimeoutMs,
    sendBodyWithoutWaiting,
    bufferLimitBytes: o.bufferLimitBytes ?? EMULATOR_DEFAULTS.bufferLimitBytes,
    streamIdleTimeoutMs: o.streamIdleTimeoutMs ?? EMULATOR_DEFAULTS.streamIdleTimeoutMs,
    statusOnErrorCode: o.statusOnErrorCode ?? EMULATOR_DEFAULTS.statusOnErrorCode,
    requestAttributes: o.requestAttributes,
    responseAttributes: o.responseAttributes,
    forwardingNamespaces: o.forwardingNamespaces ?? [],
    headerValueField: o.headerValueField ?? 'raw_value',
    hcmRequestMutation: o.hcmRequestMutation ?? true,
    initialMetadata: o.initialMetadata,
  };
}
