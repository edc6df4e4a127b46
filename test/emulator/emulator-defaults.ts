/**
 * Every default of the Envoy emulator in one place, each named with its unit.
 * Values are Envoy's own defaults unless a comment says otherwise, so a test
 * that sets nothing sees what a stock Envoy would do.
 */
export const EMULATOR_DEFAULTS = {
  /** Newest behaviour profile (1.37+: early close after the last expected reply). */
  envoyVersion: '1.37',
  /** ext_proc `message_timeout` (Envoy's DefaultMessageTimeoutMs). */
  messageTimeoutMs: 200,
  /** ext_proc `deferred_close_timeout` in observability mode (DEFAULT_DEFERRED_CLOSE_TIMEOUT_MS). */
  deferredCloseTimeoutMs: 5000,
  /** HCM `stream_idle_timeout`: the only guard against a hung FULL_DUPLEX_STREAMED server. */
  streamIdleTimeoutMs: 300_000,
  /** Stream buffer limit (per_connection_buffer_limit_bytes); Envoy Gateway uses 32 KiB. */
  bufferLimitBytes: 1024 * 1024,
  /** ext_proc `status_on_error`: the local reply for spurious replies and gRPC errors. */
  statusOnErrorCode: 500,
  /** Local reply for a per-message timeout (1.31+). */
  messageTimeoutStatusCode: 504,
  /** BUFFERED request over the buffer limit. */
  requestTooLargeStatusCode: 413,
  /** BUFFERED response over the buffer limit. */
  responseTooLargeStatusCode: 500,
  /** Envoy-gRPC has no receive limit by default; grpc-js caps at 4 MiB unless told otherwise. */
  maxReceiveMessageBytes: 64 * 1024 * 1024,
  /** How long `waitForReady` waits for the connection by default. */
  connectTimeoutMs: 5000,
} as const;

/** Key of ProcessingRequest.attributes, constant whatever the filter instance is named. */
export const ATTRIBUTES_KEY = 'envoy.filters.http.ext_proc';
