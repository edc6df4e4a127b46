/**
 * Pre-encoded ext_proc calls for h2load: the ProcessingRequest messages Envoy
 * sends for one realistic exchange with STREAMED request and response bodies,
 * each gRPC-framed (1-byte compressed flag, 4-byte big-endian length,
 * protobuf), concatenated into the body h2load posts on every stream:
 *
 *   request_headers (+protocol_config) · request_body eos · response_headers ·
 *   response_body × 41 SSE events, the last with end_of_stream
 *
 * h2load sends the whole body and then END_STREAM; the server sees the last
 * message's end_of_stream and then a half-close, so each request is exactly
 * one exchange. In observability mode every message carries
 * observability_mode=true and, as Envoy does there, no protocol_config.
 */
import * as fs from 'node:fs';
import { chatCompletionExchange, toBodyChunk, type HeaderList } from '../emulator';
import { BodySendMode, extProcServiceDefinition, type ProcessingRequest } from '../../src/extproc/wire/protocol';
import { frameMessage } from '../../src/extproc/transport/message-framing';

function headerMap(headers: HeaderList): { headers: Array<{ key: string; raw_value: Buffer }> } {
  return { headers: headers.map(([key, value]) => ({ key, raw_value: Buffer.isBuffer(value) ? value : Buffer.from(value) })) };
}

/** The messages of one exchange, marked with `authority` so its rows can be counted per run. */
export function exchangeMessages(options: { authority: string; observability: boolean; id: string }): ProcessingRequest[] {
  const spec = chatCompletionExchange({ authority: options.authority, id: options.id });
  // The headers as Envoy's HCM forwards them (what the emulator sends with its default HCM mutation).
  const requestHeaders: HeaderList = [...spec.request.headers, ['x-forwarded-proto', 'https']];
  const requestBody = Buffer.concat((spec.request.body ?? []).map((chunk) => toBodyChunk(chunk).data));
  const events = (spec.response?.body ?? []).map((chunk) => toBodyChunk(chunk).data);
  const messages: ProcessingRequest[] = [
    { request: 'request_headers', request_headers: { headers: headerMap(requestHeaders), end_of_stream: false } },
    { request: 'request_body', request_body: { body: requestBody, end_of_stream: true } },
    { request: 'response_headers', response_headers: { headers: headerMap(spec.response!.headers), end_of_stream: false } },
    ...events.map((body, i): ProcessingRequest => ({ request: 'response_body', response_body: { body, end_of_stream: i === events.length - 1 } })),
  ];
  if (options.observability) {
    for (const message of messages) message.observability_mode = true;
  } else {
    messages[0].protocol_config = { request_body_mode: BodySendMode.STREAMED, response_body_mode: BodySendMode.STREAMED };
  }
  return messages;
}

/** gRPC length-prefixed framing of every message, concatenated. */
export function grpcFramed(messages: ProcessingRequest[]): Buffer {
  const serialize = extProcServiceDefinition().Process.requestSerialize;
  return Buffer.concat(messages.map((message) => frameMessage(serialize(message))));
}

/** Writes the data file for one h2load run; returns its size and message count. */
export function writeExchangeFile(file: string, options: { authority: string; observability: boolean; id: string }): { bytes: number; messages: number } {
  const messages = exchangeMessages(options);
  const data = grpcFramed(messages);
  fs.writeFileSync(file, data);
  return { bytes: data.length, messages: messages.length };
}
