/**
 * Compact notation for ext_proc message sequences, after the reference's §0.2
 * (RH/RB/RT = request headers/body/trailers, SH/SB/ST = response ones; lower
 * case for replies), so a test can assert a whole exchange in one line:
 *   expect(sentNotation(result)).toEqual(['RH(eos)+pc', 'SH']);
 */
import type { ProcessingRequest, ProcessingResponse } from '../../src/extproc/wire/protocol';
import type { ExchangeResult } from './exchange-result';

const REQUEST_CODE: Record<string, string> = {
  request_headers: 'RH',
  request_body: 'RB',
  request_trailers: 'RT',
  response_headers: 'SH',
  response_body: 'SB',
  response_trailers: 'ST',
};

/** e.g. `RH(eos)+pc+attr`, `RB(1000)`, `SB(0,eos)+obs`. */
export function requestNotation(message: ProcessingRequest): string {
  const kind = message.request ?? Object.keys(REQUEST_CODE).find((k) => k in message) ?? '?';
  let text = REQUEST_CODE[kind] ?? '?';
  const part = message[kind as keyof ProcessingRequest] as { body?: Buffer; end_of_stream?: boolean } | undefined;
  if (kind.endsWith('_body')) text += `(${part?.body?.length ?? 0}${part?.end_of_stream ? ',eos' : ''})`;
  else if (part?.end_of_stream) text += '(eos)';
  if (message.protocol_config) text += '+pc';
  if (message.attributes) text += '+attr';
  if (message.observability_mode) text += '+obs';
  return text;
}

/** e.g. `rh`, `sb`, `rb.sr(10,eos)`, `immediate`, `none`. */
export function replyNotation(message: ProcessingResponse): string {
  const kind = message.response;
  if (kind === undefined) return 'none';
  if (kind === 'immediate_response') return 'immediate';
  const text = (REQUEST_CODE[kind] ?? '?').toLowerCase();
  const streamed = (message[kind] as { response?: { body_mutation?: { streamed_response?: { body?: Buffer; end_of_stream?: boolean } } } })?.response?.body_mutation?.streamed_response;
  if (!streamed) return text;
  return `${text}.sr(${streamed.body?.length ?? 0}${streamed.end_of_stream ? ',eos' : ''})`;
}

export function sentNotation(result: ExchangeResult): string[] {
  return result.sent.map((m) => requestNotation(m.message));
}

export function receivedNotation(result: ExchangeResult): string[] {
  return result.received.map((m) => replyNotation(m.message));
}
