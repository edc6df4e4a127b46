/**
 * A description of one HTTP exchange as it reaches Envoy: what the client
 * sends and what the upstream answers, with the timing of every piece. The
 * emulator turns it into ext_proc messages the way Envoy's filter would.
 */

/** Header name/value pairs in arrival order; repeated names stay separate entries. */
export type HeaderList = Array<[name: string, value: string | Buffer]>;

/** One read from the socket (HTTP/1 chunk, HTTP/2 DATA frame): one data callback in Envoy. */
export interface BodyChunk {
  data: string | Buffer;
  /** Wait this long before the chunk arrives (relative to the previous piece). */
  delayMs?: number;
}

export interface HttpMessageSpec {
  /** Request: pseudo-headers (:method, :path, :scheme, :authority or host) and client headers. Response: :status and headers. */
  headers: HeaderList;
  /**
   * Body reads. Absent or empty = no body (the headers carry end_of_stream unless
   * trailers follow). An empty chunk is legal: an empty DATA frame with END_STREAM
   * or an HTTP/1 chunked terminator arriving in its own read.
   */
  body?: Array<BodyChunk | string | Buffer>;
  trailers?: HeaderList;
  /** Wait before the headers arrive (request: from exchange start; response: after the upstream got the whole request). */
  delayMs?: number;
  /** Wait before the trailers arrive (after the last chunk). */
  trailersDelayMs?: number;
  /**
   * The codec the message arrives on. 'http2' (default): end of stream rides on the last
   * DATA frame, so the last chunk carries it. 'http1': Envoy's HTTP/1 codec reports the
   * end of a body (content-length reached, or the chunked terminator) as a separate empty
   * data callback, so Envoy sends `{body: "", end_of_stream: true}` after the last chunk
   * unless it coalesces them (recorded traces, Envoy 1.39/1.40). An empty last chunk is
   * taken as that end (e.g. a chunked terminator that arrives later than the data).
   */
  codec?: 'http1' | 'http2';
}

/** Where the downstream client gives up (Envoy destroys the HTTP stream, no ext_proc message says so). */
export interface ClientResetSpec {
  direction: 'request' | 'response';
  /** Body chunks of that direction that reached Envoy before the reset (0 = right after its headers). */
  afterChunks: number;
  /** Extra wait before the reset. */
  delayMs?: number;
}

/** A scalar attribute value; Envoy maps CEL bool → bool_value, ints → number_value, anything else → string_value. */
export type AttributeValue = string | number | boolean;

export interface HttpExchangeSpec {
  /** Free-form label carried into the result (handy in failure messages). */
  name?: string;
  request: HttpMessageSpec;
  /** The upstream's answer; absent when the test only cares about the request (then an empty 200). */
  response?: HttpMessageSpec;
  clientReset?: ClientResetSpec;
  /** Values of the configured `request_attributes`, as Envoy would have evaluated them for this request. */
  requestAttributes?: Record<string, AttributeValue>;
  /** Values of the configured `response_attributes`. */
  responseAttributes?: Record<string, AttributeValue>;
  /**
   * Dynamic metadata present on the request (e.g. set by a PROXY-protocol filter);
   * only the namespaces listed in the emulator's `forwardingNamespaces` reach the server.
   */
  dynamicMetadata?: Record<string, Record<string, AttributeValue>>;
}

export const EMPTY_OK_RESPONSE: HttpMessageSpec = {
  headers: [
    [':status', '200'],
    ['content-length', '0'],
  ],
};

/** Normalizes a body chunk entry to its explicit form. */
export function toBodyChunk(entry: BodyChunk | string | Buffer): { data: Buffer; delayMs: number } {
  if (typeof entry === 'string') return { data: Buffer.from(entry), delayMs: 0 };
  if (Buffer.isBuffer(entry)) return { data: entry, delayMs: 0 };
  return { data: typeof entry.data === 'string' ? Buffer.from(entry.data) : entry.data, delayMs: entry.delayMs ?? 0 };
}
