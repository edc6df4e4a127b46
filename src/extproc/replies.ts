/**
 * The only replies a passive capture server sends: empty acknowledgments
 * (CONTINUE, no mutation) of the matching oneof, and for FULL_DUPLEX_STREAMED
 * the body bytes echoed back unchanged. Acknowledgments are shared frozen
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
  return { ...definition, Process: { ...method, responseSerialize: (value: ProcessingResponse) => encoded.get(value) ?? serialize(value) } };
}
