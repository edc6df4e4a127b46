/**
 * The only replies a passive capture server sends: empty acknowledgments
 * (CONTINUE, no mutation) of the matching oneof, for FULL_DUPLEX_STREAMED
 * the body bytes echoed back unchanged, and with the request headers a
 * mode_override when the capture policy keeps fewer bodies than Envoy sends.
 * None of them changes the traffic. Acknowledgments are shared frozen
 * objects: nothing per message is allocated to say "continue".
 */
import type * as grpc from '@grpc/grpc-js';
import { extProcServiceDefinition, type ProcessingResponse, type ProcessingRequestPart } from './wire/protocol';
import { frameMessage } from './transport/message-framing';

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
 * Nearly every message Envoy sends is acknowledged (44 per exchange in the
 * bench), and protobufjs's fromObject + encode of the same empty reply cost
 * about 18 us of CPU per exchange: the shared replies (acknowledgments and
 * mode overrides) are encoded once, the first time they are sent, and the
 * same bytes are handed out after. Nothing writes into them. Any other reply
 * (a FULL_DUPLEX_STREAMED echo) is encoded per call.
 */
const serialize = extProcServiceDefinition()['Process']!.responseSerialize as (value: ProcessingResponse) => Buffer;
const ENCODED = new Map<ProcessingResponse, Buffer>();
const FRAMED = new Map<ProcessingResponse, Buffer>();

function isShared(value: ProcessingResponse): boolean {
  return Object.isFrozen(value);
}

/** The reply's protobuf bytes. */
export function encodeReply(value: ProcessingResponse): Buffer {
  const known = ENCODED.get(value);
  if (known !== undefined) return known;
  const bytes = serialize(value);
  if (isShared(value)) ENCODED.set(value, bytes);
  return bytes;
}

/** The reply as it goes on the stream: gRPC-framed protobuf bytes. */
export function framedReply(value: ProcessingResponse): Buffer {
  const known = FRAMED.get(value);
  if (known !== undefined) return known;
  const framed = frameMessage(encodeReply(value));
  if (isShared(value)) FRAMED.set(value, framed);
  return framed;
}

/** An ExternalProcessor definition for a grpc-js server whose serializer hands out the shared replies' bytes. */
export function withEncodedAcknowledgments(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const method = definition['Process'];
  if (method === undefined) throw new Error('ExternalProcessor definition has no Process method');
  return { ...definition, Process: { ...method, responseSerialize: encodeReply } };
}
