/**
 * A finished exchange as the event loop hands it to the pipeline: the
 * assembler fed the four messages of a plain request and response (headers,
 * one body message each), as Envoy sends them in STREAMED mode.
 */
import { ContentTypeFilter } from '../../src/capture/content-type-filter';
import { ExchangeAssembler, NO_POLICY } from '../../src/capture/exchange-assembler';
import { DEFAULTS } from '../../src/config/defaults';
import type { ProcessingRequest } from '../../src/extproc/wire/protocol';
import { headers } from './raw-extproc-client';

export interface ExchangeParts {
  requestHeaders: Array<[string, string]>;
  requestBody: string;
  responseHeaders: Array<[string, string]>;
  responseBody: string;
}

export function assembledExchange(parts: ExchangeParts): ExchangeAssembler {
  const assembler = new ExchangeAssembler(
    { maxBytes: 65536, headerValueMaxBytes: DEFAULTS.headerValueMaxBytes, headerBytesMaxPerExchange: DEFAULTS.headerBytesMaxPerExchange, shipChunkBytes: 1 << 30 },
    new ContentTypeFilter(DEFAULTS.includeContentTypes),
    () => false,
    NO_POLICY,
  );
  const messages = [
    { request_headers: { headers: headers(parts.requestHeaders) } },
    { request_body: { body: Buffer.from(parts.requestBody), end_of_stream: true } },
    { response_headers: { headers: headers(parts.responseHeaders) } },
    { response_body: { body: Buffer.from(parts.responseBody), end_of_stream: true } },
  ];
  for (const message of messages) assembler.accept({ ...message, request: Object.keys(message)[0] } as unknown as ProcessingRequest);
  return assembler;
}
