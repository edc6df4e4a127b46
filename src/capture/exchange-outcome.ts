/**
 * How an exchange ended, as stored in the Outcome column. Envoy gives no
 * explicit "done" signal in several cases (trailers in SKIP mode, client
 * resets, local replies), so the outcome is inferred from what the stream
 * showed before it closed; each value documents its evidence.
 */
export const ExchangeOutcome = {
  /** Both directions reached an end marker (end_of_stream or trailers), or the response had nothing more to send. */
  complete: 'complete',
  /** The call closed while the request was still arriving: client reset, or an Envoy local reply such as 413. */
  request_incomplete: 'request_incomplete',
  /** The request finished but no response headers came: upstream failure, timeout, or a local reply. */
  no_response: 'no_response',
  /** Response body stopped short of its content-length, or the call closed mid-body with no end marker and a known size. */
  response_incomplete: 'response_incomplete',
  /** The call closed after body data with no end marker and nothing showing loss: trailers in SKIP mode, or a body mode that sends no end. */
  closed_without_end: 'closed_without_end',
  /** The gRPC call failed (transport error) before the exchange finished. */
  stream_error: 'stream_error',
  /** The stream was still open when the idle limit passed; kept with what had arrived. */
  idle_timeout: 'idle_timeout',
  /** The service shut down while the stream was open; kept with what had arrived. */
  shutdown: 'shutdown',
} as const;

export type ExchangeOutcome = (typeof ExchangeOutcome)[keyof typeof ExchangeOutcome];
