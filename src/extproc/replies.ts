/**
 * The only replies a passive capture server sends: empty acknowledgments
 * (CONTINUE, no mutation) of the matching oneof, for FULL_DUPLEX_STREAMED
 * the body bytes echoed back unchanged, and with the request headers a
 * mode_override when the capture policy keeps fewer bodies than Envoy sends.
 * None of them changes the traffic. Acknowledgments are shared frozen
 * objects: nothing per message is allocated to say "continue".
 */
import type * as grpc from '@grpc/grpc-js';
import type { ProcessingResponse, ProcessingRequestPart } from './wire/protocol';

const CONTINUE = Object.freeze({});

const ACKS: Readonly<Record<ProcessingRequestPart, ProcessingResponse>> = Object.freeze({
  request_headers: Object.freeze({ request_headers: Object.freeze({ response: CONTINUE }) }),
  response_headers: Object.freeze({ response_headers: Object.freeze({ response: CONTINUE }) }),
  request_body: Object.freeze({ request_body: Object.freeze({ response: CONTINUE }) }),
  response_body: Object.freeze({ response_body: Object.freeze({ response: CONTINUE }) }),
  request_trailers: Object.freeze({ request_trailers: Object.freeze({}) }),
  response_trailers: Object.freeze({ response_trailers: Object.freeze({}) }),
}) as Readonly<Record<ProcessingRequestPart, ProcessingResponse>>;

export function acknowledgment(part: ProcessingRequestPart): ProcessingResponse {
  return ACKS[part];
}

/** FULL_DUPLEX_STREAMED: Envoy forwards only what the processor streams back, so echo every byte. */
export function streamedBodyEcho(part: 'request_body' | 'response_body', body: Buffer | undefined, endOfStream: boolean): ProcessingResponse {
  const reply = { response: { body_mutation: { streamed_response: { body: body ?? EMPTY, end_of_stream: endOfStream } } } };
  return part === 'request_body' ? { request_body: reply } : { response_body: reply };
}

const EMPTY = Buffer.alloc(0);

/**
 * The request headers acknowledgment that also tells Envoy which bodies to
 * send from now on (mode_override; header and trailer modes left at DEFAULT,
 * which Envoy 1.34+ reads as "unchanged"). One shared frozen reply per pair
 * of body modes, so it is encoded once like the plain acknowledgments.
 */
export function requestHeadersWithModeOverride(requestBodyMode: number, responseBodyMode: number): ProcessingResponse {
  const key = requestBodyMode * 16 + responseBodyMode;
  let reply = OVERRIDES.get(key);
  if (reply === undefined) {
    reply = Object.freeze({
      request_headers: ACKS.request_headers.request_headers,
      mode_override: Object.freeze({ request_body_mode: requestBodyMode, response_body_mode: responseBodyMode }),
    }) as ProcessingResponse;
    OVERRIDES.set(key, reply);
  }
  return reply;
}

const OVERRIDES = new Map<number, ProcessingResponse>();

/**
 * The ExternalProcessor definition a server registers: its response
 * serializer hands grpc-js the acknowledgments encoded once, at start-up.
 * Nearly every message Envoy sends is acknowledged (44 per exchange in the
 * bench), and protobufjs's fromObject + encode of the same empty reply cost
 * about 18 us of CPU per exchange (perf, h2load acknowledged). grpc-js copies
 * the bytes into its own frame, so the shared buffers are never written to.
 * Any other reply (a FULL_DUPLEX_STREAMED echo) is encoded as before.
 */
export function withEncodedAcknowledgments(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const method = definition['Process'];
  if (method === undefined) throw new Error('ExternalProcessor definition has no Process method');
  const serialize = method.responseSerialize as (value: ProcessingResponse) => Buffer;
  const encoded = new Map<ProcessingResponse, Buffer>(Object.values(ACKS).map((ack) => [ack, serialize(ack)]));
  const encode = (value: ProcessingResponse): Buffer => {
    const known = encoded.get(value);
    if (known !== undefined) return known;
    const bytes = serialize(value);
    // The mode-override replies are shared too: encoded the first time they are sent.
    if (value.mode_override !== undefined) encoded.set(value, bytes);
    return bytes;
  };
  return { ...definition, Process: { ...method, responseSerialize: encode } };
}
