/**
 * ext_proc streams one HTTP/2 connection to the capture service carries at
 * once: the service announces it (SETTINGS_MAX_CONCURRENT_STREAMS) and the
 * translator tells Envoy the same (the capture cluster's
 * http2_protocol_options), so Envoy opens another connection rather than
 * queueing streams behind a full one. A client that ignores it has its extra
 * streams refused by HTTP/2 instead of growing the server's per-stream state
 * without end.
 */
export const EXT_PROC_STREAMS_PER_CONNECTION = 1024;
