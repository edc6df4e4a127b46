/**
 * What the capture service makes of the message sequences the real Envoy
 * sent (test/fixtures/envoy-traces/, recorded by test/envoy/traces.test.ts):
 * every recorded call is replayed into the exchange assembler, and the
 * outcome, status and body sizes it would store must be right for what
 * actually happened to the HTTP exchange.
 */
import { ContentTypeFilter } from '../../src/capture/content-type-filter';
import { ExchangeAssembler, NO_POLICY } from '../../src/capture/exchange-assembler';
import { DEFAULTS } from '../../src/config/defaults';
import { BodySendMode, type HeaderMap, type ProcessingRequest } from '../../src/extproc/wire/protocol';
import { ENVOY_VERSIONS } from '../envoy/envoy-install';
import { readTrace, type Pair, type TraceMessage } from '../envoy/envoy-trace';
import { TRACE_SCENARIOS } from '../envoy/trace-scenarios';

/** The row each scenario should produce: [outcome, status, request body bytes, response body bytes]. */
const EXPECTED: Record<string, [string, number, number, number]> = {
  'headers-only-get': ['complete', 200, 0, 0],
  'early-close-slow-body': ['complete', 200, 0, 0],
  'streamed-content-length': ['complete', 200, 28, 119],
  'streamed-chunked-sse': ['complete', 200, 0, 45],
  buffered: ['complete', 200, 28, 119],
  // BUFFERED_PARTIAL sent the first 24 KiB; the rest went to the client unprocessed, never to the service.
  'buffered-partial': ['response_incomplete', 200, 28, 24576],
  'streamed-content-length-slow': ['complete', 200, 0, 4096],
  'full-duplex-streamed': ['complete', 200, 28, 119],
  'observability-mode': ['complete', 200, 28, 119],
  'trailers-h2-upstream': ['complete', 200, 0, 522],
  // Trailers SKIP: Envoy never marks the end of the body.
  'trailers-h2-upstream-skip': ['closed_without_end', 200, 0, 522],
  'send-body-without-waiting': ['complete', 200, 28, 0],
  'head-request': ['complete', 200, 0, 0],
  'status-204': ['complete', 204, 0, 0],
  'status-304': ['complete', 304, 0, 0],
  'attributes-and-metadata': ['complete', 200, 0, 0],
  // Envoy answered 413 itself and sends that answer to ext_proc: the request never arrived whole.
  'buffered-request-over-limit': ['request_incomplete', 413, 0, 0],
  'buffered-request-over-limit-streamed-response': ['request_incomplete', 413, 0, 17],
  // The 500 for the oversized response is Envoy's own and is not sent; the upstream's 200 headers were.
  'buffered-response-over-limit': ['response_incomplete', 200, 0, 0],
  'expect-100-continue': ['complete', 200, 28, 0],
  'h2-client-streamed': ['complete', 200, 28, 119],
  // Response headers SKIP: the service never learns the response.
  'h2-client-observability': ['no_response', 0, 28, 0],
  // The call failed right after the response headers. Observability mode carries no protocol_config,
  // so the service cannot know a body was due and takes headers-only as complete (its documented guess).
  'observability-grpc-error': ['complete', 200, 0, 0],
  // Envoy's message timer ran out on a request chunk: its 504 never reaches the service, which keeps what
  // it was sent (the processor withheld replies, so Envoy went on sending the later chunks).
  'message-timeout-unanswered-chunk': ['request_incomplete', 0, 300, 0],
  'message-timeout-rearmed-by-later-chunk': ['request_incomplete', 0, 600, 0],
  // Late replies, but never past the timer's deadline: the exchange finished normally.
  'message-timeout-disarmed-by-late-reply': ['complete', 200, 600, 0],
  // The timer ran out on a response chunk after the 200 had gone out: the client's stream was cut.
  'message-timeout-response-chunk': ['response_incomplete', 200, 0, 2048],
};

type BodyModeName = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';

function headerMap(pairs: Pair[] | undefined): HeaderMap {
  return { headers: (pairs ?? []).map(([key, value]) => ({ key, raw_value: Buffer.from(value, 'latin1') })) };
}

/** A ProcessingRequest with the recorded kind, flags, headers and body size (bytes stand in when only a hash was kept). */
function rebuild(message: TraceMessage): ProcessingRequest {
  const code = message.notation.slice(0, 2);
  const eos = /\beos\b/.test(message.notation);
  const direction = code[0] === 'R' ? 'request' : 'response';
  const out: ProcessingRequest = {};
  const body = message.body ? (message.body.text !== undefined ? Buffer.from(message.body.text) : Buffer.alloc(message.body.bytes, 'a')) : undefined;
  if (code[1] === 'H') out[`${direction}_headers`] = { headers: headerMap(message.headers), end_of_stream: eos };
  else if (code[1] === 'B') out[`${direction}_body`] = { body, end_of_stream: eos };
  else out[`${direction}_trailers`] = { trailers: headerMap(message.trailers) };
  out.request = Object.keys(out)[0] as ProcessingRequest['request'];
  if (message.protocolConfig) {
    out.protocol_config = {
      request_body_mode: BodySendMode[message.protocolConfig.requestBodyMode as BodyModeName],
      response_body_mode: BodySendMode[message.protocolConfig.responseBodyMode as BodyModeName],
    };
  }
  if (message.observabilityMode) out.observability_mode = true;
  return out;
}

const cases = ENVOY_VERSIONS.flatMap((version) => TRACE_SCENARIOS.map((s) => [s.id, version] as const));

describe('the service on what the real Envoy sent', () => {
  test('every recorded scenario has an expected row', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(TRACE_SCENARIOS.map((s) => s.id).sort());
  });

  test.each(cases)('%s (Envoy %s)', (id, version) => {
    const trace = readTrace(id, version);
    expect(trace).toBeDefined();
    expect(trace!.calls).toHaveLength(1);
    const assembler = new ExchangeAssembler(
      { maxBytes: 65536, headerValueMaxBytes: DEFAULTS.headerValueMaxBytes, headerBytesMaxPerExchange: DEFAULTS.headerBytesMaxPerExchange, shipChunkBytes: 1 << 30 },
      new ContentTypeFilter(DEFAULTS.includeContentTypes),
      () => false,
      NO_POLICY,
    );
    for (const message of trace!.calls[0]!.messages) expect(assembler.accept(rebuild(message))).toBe(true);
    // Envoy's close is what ends the stream for the service.
    const snapshot = assembler.finish('ended');
    const [outcome, status, requestBytes, responseBytes] = EXPECTED[id]!;
    expect([snapshot.outcome, assembler.context.statusCode, snapshot.request.bodySize, snapshot.response.bodySize]).toEqual([outcome, status, requestBytes, responseBytes]);
  });
});
