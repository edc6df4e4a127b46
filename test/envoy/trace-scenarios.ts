/**
 * The scenarios whose ext_proc traffic is recorded from the real Envoy
 * (test/envoy/traces.test.ts) and replayed through the emulator
 * (test/emulator/envoy-traces-conformance.test.ts). Each names the Envoy side
 * (the listener's ext_proc configuration and the client request) and the
 * upstream's answer as the emulator must be fed it; `emulatorExchange` derives
 * the emulator's HttpExchangeSpec and options from the same definition, so the
 * two suites cannot drift apart. Nothing here starts anything.
 *
 * Upstream timing is chosen so that body chunk boundaries are reproducible
 * where the scenario claims `chunking: 'exact'` (reads ≥ 150 ms apart).
 */
import { createHash } from 'node:crypto';
import type { ExchangeOptions } from '../emulator/emulator-options';
import type { BodyChunk, HeaderList, HttpExchangeSpec, HttpMessageSpec } from '../emulator/http-exchange-spec';
import type { ExtProcConfig, ListenerConfig } from './envoy-bootstrap';
import type { Chunking } from './envoy-trace';
import type { TimedPiece } from './http-clients';
import type { RecordingProcessorOptions } from './recording-processor';
import { jsonAnswer } from './upstream-server';

export type TraceClientKind = 'curl-h1' | 'curl-h2' | 'node-h2';

export interface TraceClientRequest {
  kind: TraceClientKind;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** node-h2 only: send the body as these timed pieces (one DATA frame each, the last with END_STREAM) instead of `body`. */
  bodyPieces?: TimedPiece[];
  /** Extra curl arguments (e.g. `-H Expect:` to stop curl from adding one). */
  curlArgs?: string[];
}

export interface TraceScenario {
  id: string;
  description: string;
  extProc: Omit<ExtProcConfig, 'cluster'>;
  listener?: Omit<ListenerConfig, 'name' | 'extProc'>;
  processor?: RecordingProcessorOptions;
  client: TraceClientRequest;
  chunking: Chunking;
  /** For the emulator: the upstream's answer as it reaches Envoy's filters (Envoy's own HCM mutations are the emulator's job). */
  upstreamAnswer: HttpMessageSpec;
  /** For the emulator: the reads the request body reaches Envoy in, when not one. */
  requestReads?: BodyChunk[];
  /** For the emulator: what only Envoy knows (attribute values). */
  emulatorOptions?: ExchangeOptions;
  /** A known difference the emulator does not model: the close point is not compared, and why. */
  closePointNotModelled?: string;
  /**
   * The scenario is about Envoy's message timer: the processor-side timeline and where the timer
   * ran out are recorded and compared, and the emulator runs with the scenario's message_timeout.
   */
  messageTimer?: boolean;
}

/** The message_timeout of a scenario about the timer (Envoy's default 200 ms when not configured). */
export function timerOf(scenario: TraceScenario): number | undefined {
  return scenario.messageTimer ? (scenario.extProc.messageTimeoutMs ?? 200) : undefined;
}

/** A 28-byte JSON request body. */
export const SMALL_JSON = Buffer.from('{"id":1,"name":"widget-xyz"}');

export function testId(scenario: string): string {
  return `trace-${scenario}`;
}

function bigBody(size: number): Buffer {
  return Buffer.alloc(size, 'q');
}

// ---- the emulator's view of the same exchanges ---------------------------------------------

const CURL_UA = 'curl/7.88.1';

/**
 * The client's request as Envoy's codec hands it to the filters: HTTP/1 puts
 * :authority (from Host), :path, :method, :scheme first; HTTP/2 keeps the
 * client's pseudo-header order (curl: method, path, scheme, authority;
 * node:http2: method, path, authority, scheme, and no content-length).
 */
function clientRequest(scenario: TraceScenario): HttpMessageSpec {
  const { kind, method, path, body } = scenario.client;
  const own: HeaderList = [['x-test-id', testId(scenario.id)], ...Object.entries(scenario.client.headers ?? {})];
  const curlOwn: HeaderList = [['user-agent', CURL_UA], ['accept', '*/*'], ...own, ...(body ? ([['content-length', String(body.length)]] as HeaderList) : [])];
  const headers: HeaderList =
    kind === 'curl-h1'
      ? [[':authority', 'upstream.test'], [':path', path], [':method', method], [':scheme', 'http'], ...curlOwn]
      : kind === 'curl-h2'
        ? [[':method', method], [':path', path], [':scheme', 'http'], [':authority', 'upstream.test'], ...curlOwn]
        : [[':method', method], [':path', path], [':authority', 'upstream.test'], [':scheme', 'http'], ...own];
  const reads = scenario.requestReads ?? scenario.client.bodyPieces?.map((p) => ({ data: p.data, delayMs: p.delayMs })) ?? (body ? [body] : undefined);
  return { headers, ...(reads ? { body: reads } : {}), codec: kind === 'curl-h1' ? 'http1' : 'http2' };
}

/** The scenario as an emulator exchange: the same filter configuration, client request and upstream answer. */
export function emulatorExchange(scenario: TraceScenario): { spec: HttpExchangeSpec; options: ExchangeOptions } {
  const c = scenario.extProc;
  const options: ExchangeOptions = { processingMode: c.processingMode };
  if (c.observabilityMode) options.observabilityMode = true;
  if (c.sendBodyWithoutWaitingForHeaderResponse) options.sendBodyWithoutWaitingForHeaderResponse = true;
  if (c.failureModeAllow) options.failureModeAllow = true;
  if (c.messageTimeoutMs !== undefined) options.messageTimeoutMs = c.messageTimeoutMs;
  if (c.deferredCloseTimeoutMs !== undefined) options.deferredCloseTimeoutMs = c.deferredCloseTimeoutMs;
  if (c.forwardingNamespaces) options.forwardingNamespaces = c.forwardingNamespaces;
  if (scenario.listener?.bufferLimitBytes !== undefined) options.bufferLimitBytes = scenario.listener.bufferLimitBytes;
  const spec: HttpExchangeSpec = { name: scenario.id, request: clientRequest(scenario), response: scenario.upstreamAnswer };
  if (scenario.listener?.dynamicMetadata) spec.dynamicMetadata = scenario.listener.dynamicMetadata;
  return { spec, options: { ...options, ...scenario.emulatorOptions } };
}

/** Any fixed HTTP date: only its format is compared. */
const DATE = 'Sun, 06 Dec 2026 10:12:11 GMT';

/**
 * The loopback upstream's HTTP/1.1 answer as ext_proc sees it: Node's headers including the
 * hop-by-hop ones (Envoy does not strip them before the filters), then the router's
 * x-envoy-upstream-service-time.
 */
function nodeH1Answer(status: number, headers: HeaderList, body: Array<BodyChunk | Buffer>, options: { chunked?: boolean; keepAliveHeader?: boolean } = {}): HttpMessageSpec {
  return {
    headers: [
      [':status', String(status)],
      ...headers,
      ['date', DATE],
      ['connection', 'keep-alive'],
      ...(options.keepAliveHeader ? ([['keep-alive', 'timeout=60']] as HeaderList) : []),
      ...(options.chunked ? ([['transfer-encoding', 'chunked']] as HeaderList) : []),
      ['x-envoy-upstream-service-time', '1'],
    ],
    body,
    codec: 'http1',
  };
}

/** /echo's answer to a body. */
function echoAnswer(method: string, path: string, body: Buffer): Buffer {
  return Buffer.from(JSON.stringify({ method, path, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
}

function jsonH1(body: Buffer, options: { keepAliveHeader?: boolean } = {}): HttpMessageSpec {
  return nodeH1Answer(
    200,
    [
      ['content-type', 'application/json'],
      ['content-length', String(body.length)],
    ],
    [body],
    options,
  );
}

/** `/bytes/N?chunks=K&gapMs=G`: K writes of 'a', the first with the headers. */
function bytesH1(size: number, chunks: number, gapMs: number): HttpMessageSpec {
  const part = size / chunks;
  const body = Array.from({ length: chunks }, (_, i) => ({ data: Buffer.alloc(part, 'a'), delayMs: i === 0 ? 0 : gapMs }));
  return nodeH1Answer(
    200,
    [
      ['content-type', 'application/json'],
      ['content-length', String(size)],
    ],
    body,
  );
}

/** `/slow?events=N&gapMs=G`: chunked SSE, the terminator G ms after the last event. */
function slowSse(events: number, gapMs: number): HttpMessageSpec {
  const body: BodyChunk[] = Array.from({ length: events }, (_, i) => ({ data: `data: {"n":${i}}\n\n`, delayMs: i === 0 ? 0 : gapMs }));
  body.push({ data: '', delayMs: gapMs });
  return nodeH1Answer(200, [['content-type', 'text/event-stream']], body, { chunked: true });
}

/** An upload as curl's reads reach Envoy: `size`-byte pieces a few ms apart. */
function uploadReads(body: Buffer, size: number): BodyChunk[] {
  return Array.from({ length: Math.ceil(body.length / size) }, (_, i) => ({ data: body.subarray(i * size, (i + 1) * size), delayMs: i === 0 ? 0 : 2 }));
}

/** `/trailers` over h2c: JSON, then trailers. */
function trailersH2(): HttpMessageSpec {
  const answer = jsonAnswer(512);
  return {
    headers: [
      [':status', '200'],
      ['content-type', 'application/json'],
      ['date', DATE],
      ['x-envoy-upstream-service-time', '1'],
    ],
    body: [answer],
    trailers: [
      ['x-checksum', createHash('sha256').update(answer).digest('hex').slice(0, 16)],
      ['x-final', 'yes'],
    ],
    codec: 'http2',
  };
}

/** Attribute values in the formats Envoy 1.39/1.40 printed them (only formats are compared). */
const REQUEST_ATTRIBUTE_VALUES = {
  'connection.id': 7,
  'connection.mtls': false,
  'destination.address': '127.0.0.1:40001',
  'destination.port': 40001,
  'request.headers': 'CelMap value',
  'request.host': 'upstream.test',
  'request.id': '0d4f1c9e-2b3a-4c5d-8e6f-7a8b9c0d1e2f',
  'request.method': 'GET',
  'request.path': '/json',
  'request.protocol': 'HTTP/1.1',
  'request.scheme': 'http',
  'request.size': 0,
  'request.time': '2026-12-06T10:12:11.123456+00:00',
  'source.address': '127.0.0.1:51234',
  'source.port': 51234,
  'xds.route_name': '',
};
const RESPONSE_ATTRIBUTE_VALUES = {
  'response.code': 200,
  'response.code_details': 'via_upstream',
  'response.flags': 0,
  'response.headers': 'CelMap value',
  'response.size': 0,
  'upstream.address': '127.0.0.1:40002',
};

const h1 = (method: string, path: string, extra: Partial<TraceClientRequest> = {}): TraceClientRequest => ({ kind: 'curl-h1', method, path, ...extra });
const ATTRIBUTES_REQUEST = [
  'request.id',
  'request.time',
  'request.protocol',
  'request.scheme',
  'request.method',
  'request.path',
  'request.host',
  'request.headers',
  'request.size',
  'source.address',
  'source.port',
  'destination.address',
  'destination.port',
  'connection.id',
  'connection.mtls',
  'xds.route_name',
  'response.code',
];
const ATTRIBUTES_RESPONSE = ['response.code', 'response.code_details', 'response.headers', 'response.size', 'response.flags', 'request.duration', 'upstream.address'];

/** A request body in timed pieces: [bytes, ms after the previous piece (the first: after the headers)]; piece i is all 'a'+i. */
function pieces(...spec: Array<[number, number]>): TimedPiece[] {
  return spec.map(([size, delayMs], i) => ({ data: Buffer.alloc(size, String.fromCharCode(97 + i)), delayMs }));
}

/** The message timer (reference §4.4, S43): 400 ms, and gaps that keep every race ≥ 150 ms wide on a loaded machine. */
const TIMER_MS = 400;

/** node:http2 POSTing `body` to /echo in timed pieces, and the upstream's answer when it gets the whole body. */
function piecesPost(body: TimedPiece[]): { client: TraceClientRequest; upstreamAnswer: HttpMessageSpec } {
  const whole = Buffer.concat(body.map((piece) => piece.data));
  return {
    client: { kind: 'node-h2', method: 'POST', path: '/echo', headers: { 'content-type': 'application/octet-stream' }, bodyPieces: body },
    upstreamAnswer: jsonH1(echoAnswer('POST', '/echo', whole), { keepAliveHeader: true }),
  };
}

/** curl POSTing SMALL_JSON to /echo over HTTP/1.1, and the upstream's answer to it. */
const ECHO_POST = h1('POST', '/echo', { headers: { 'content-type': 'application/json' }, body: SMALL_JSON });
const ECHO_ANSWER = jsonH1(echoAnswer('POST', '/echo', SMALL_JSON));

export const TRACE_SCENARIOS: TraceScenario[] = [
  {
    id: 'headers-only-get',
    description: 'GET, every mode left at its default (headers SEND, bodies NONE, trailers SKIP); HTTP/1.1 upstream with content-length',
    extProc: { processingMode: {} },
    client: h1('GET', '/json'),
    chunking: 'exact',
    upstreamAnswer: jsonH1(jsonAnswer()),
  },
  {
    id: 'early-close-slow-body',
    description: 'GET with default modes; the upstream streams an SSE body for ~600 ms after its headers: when does Envoy close the call?',
    extProc: { processingMode: {} },
    client: h1('GET', '/slow?events=3&gapMs=200'),
    chunking: 'exact',
    upstreamAnswer: slowSse(3, 200),
  },
  {
    id: 'streamed-content-length',
    description: 'POST, request and response STREAMED; curl body with content-length, upstream answer with content-length',
    extProc: { processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } },
    client: ECHO_POST,
    chunking: 'merged',
    upstreamAnswer: ECHO_ANSWER,
  },
  {
    id: 'streamed-chunked-sse',
    description: 'GET, response STREAMED; HTTP/1.1 chunked SSE upstream, 3 events 150 ms apart, then the terminator 150 ms later',
    extProc: { processingMode: { responseBodyMode: 'STREAMED' } },
    client: h1('GET', '/slow?events=3&gapMs=150'),
    chunking: 'exact',
    upstreamAnswer: slowSse(3, 150),
  },
  {
    id: 'buffered',
    description: 'POST, request and response BUFFERED',
    extProc: { processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' } },
    client: ECHO_POST,
    chunking: 'exact',
    upstreamAnswer: ECHO_ANSWER,
  },
  {
    id: 'buffered-partial',
    description: 'POST, both bodies BUFFERED_PARTIAL, buffer limit 16 KiB: a 28-byte request; a 64 KiB response in 8 writes 150 ms apart',
    extProc: { processingMode: { requestBodyMode: 'BUFFERED_PARTIAL', responseBodyMode: 'BUFFERED_PARTIAL' } },
    listener: { bufferLimitBytes: 16384 },
    client: h1('POST', '/bytes/65536?chunks=8&gapMs=150', { headers: { 'content-type': 'application/json' }, body: SMALL_JSON }),
    chunking: 'exact',
    upstreamAnswer: bytesH1(65536, 8, 150),
  },
  {
    id: 'streamed-content-length-slow',
    description: 'GET, response STREAMED; HTTP/1.1 upstream with content-length sending its 4 KiB body in 2 writes 150 ms apart',
    extProc: { processingMode: { responseBodyMode: 'STREAMED' } },
    client: h1('GET', '/bytes/4096?chunks=2&gapMs=150'),
    chunking: 'exact',
    upstreamAnswer: bytesH1(4096, 2, 150),
  },
  {
    id: 'full-duplex-streamed',
    description: 'POST, both bodies FULL_DUPLEX_STREAMED with trailer mode SEND (required); the server echoes every byte',
    extProc: {
      processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'SEND', responseBodyMode: 'FULL_DUPLEX_STREAMED', responseTrailerMode: 'SEND' },
    },
    client: ECHO_POST,
    chunking: 'merged',
    upstreamAnswer: ECHO_ANSWER,
  },
  {
    id: 'observability-mode',
    description: 'POST in observability mode, both bodies STREAMED, default deferred_close_timeout; the server never replies',
    extProc: { processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' }, observabilityMode: true },
    client: ECHO_POST,
    chunking: 'merged',
    upstreamAnswer: ECHO_ANSWER,
  },
  {
    id: 'trailers-h2-upstream',
    description: 'GET over HTTP/2 to an h2c upstream that ends with trailers; response STREAMED, both trailer modes SEND',
    extProc: { processingMode: { responseBodyMode: 'STREAMED', requestTrailerMode: 'SEND', responseTrailerMode: 'SEND' } },
    listener: { upstream: 'upstream_h2' },
    client: { kind: 'node-h2', method: 'GET', path: '/trailers' },
    chunking: 'merged',
    upstreamAnswer: trailersH2(),
  },
  {
    id: 'trailers-h2-upstream-skip',
    description: 'The same upstream trailers with trailer mode SKIP (what Envoy Gateway configures unless FULL_DUPLEX_STREAMED)',
    extProc: { processingMode: { responseBodyMode: 'STREAMED' } },
    listener: { upstream: 'upstream_h2' },
    client: { kind: 'node-h2', method: 'GET', path: '/trailers' },
    chunking: 'merged',
    upstreamAnswer: trailersH2(),
  },
  {
    id: 'send-body-without-waiting',
    description: 'POST over HTTP/2, request STREAMED with send_body_without_waiting_for_header_response; the headers reply is held 150 ms',
    // A generous message timeout: the held reply must not race the 200 ms default on a loaded machine.
    extProc: { processingMode: { requestBodyMode: 'STREAMED' }, sendBodyWithoutWaitingForHeaderResponse: true, messageTimeoutMs: 2000 },
    processor: { requestHeadersReplyDelayMs: 150 },
    client: { kind: 'node-h2', method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: SMALL_JSON },
    chunking: 'merged',
    upstreamAnswer: jsonH1(echoAnswer('POST', '/echo', SMALL_JSON), { keepAliveHeader: true }),
  },
  {
    id: 'head-request',
    description: 'HEAD of a content-length answer, both bodies BUFFERED, response trailers SEND',
    extProc: { processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED', responseTrailerMode: 'SEND' } },
    client: h1('HEAD', '/json'),
    chunking: 'exact',
    upstreamAnswer: nodeH1Answer(
      200,
      [
        ['content-type', 'application/json'],
        ['content-length', String(jsonAnswer().length)],
      ],
      [],
    ),
  },
  {
    id: 'status-204',
    description: 'GET answered 204 No Content, response STREAMED, response trailers SEND',
    extProc: { processingMode: { responseBodyMode: 'STREAMED', responseTrailerMode: 'SEND' } },
    client: h1('GET', '/status/204'),
    chunking: 'exact',
    upstreamAnswer: nodeH1Answer(204, [], []),
  },
  {
    id: 'status-304',
    description: 'Conditional GET answered 304 Not Modified (with etag), response STREAMED, response trailers SEND',
    extProc: { processingMode: { responseBodyMode: 'STREAMED', responseTrailerMode: 'SEND' } },
    client: h1('GET', '/status/304', { headers: { 'if-none-match': '"v1"' } }),
    chunking: 'exact',
    upstreamAnswer: nodeH1Answer(304, [['etag', '"v1"']], []),
  },
  {
    id: 'attributes-and-metadata',
    description: 'GET with request_attributes and response_attributes, and set_metadata dynamic metadata of which one namespace is forwarded',
    extProc: { processingMode: {}, requestAttributes: ATTRIBUTES_REQUEST, responseAttributes: ATTRIBUTES_RESPONSE, forwardingNamespaces: ['egress.test'] },
    listener: { dynamicMetadata: { 'egress.test': { tenant: 'team-a', tier: 'gold' }, 'egress.private': { secret: 'not-forwarded' } } },
    client: h1('GET', '/json'),
    chunking: 'exact',
    upstreamAnswer: jsonH1(jsonAnswer()),
    emulatorOptions: { requestAttributes: REQUEST_ATTRIBUTE_VALUES, responseAttributes: RESPONSE_ATTRIBUTE_VALUES },
  },
  {
    id: 'buffered-request-over-limit',
    description: 'POST of 64 KiB, request BUFFERED, buffer limit 16 KiB',
    extProc: { processingMode: { requestBodyMode: 'BUFFERED' } },
    listener: { bufferLimitBytes: 16384 },
    client: h1('POST', '/echo', { headers: { 'content-type': 'application/octet-stream' }, body: bigBody(65536), curlArgs: ['-H', 'Expect:'] }),
    chunking: 'exact',
    upstreamAnswer: jsonH1(echoAnswer('POST', '/echo', bigBody(65536))),
    requestReads: uploadReads(bigBody(65536), 16384),
  },
  {
    id: 'buffered-request-over-limit-streamed-response',
    description: 'The same 64 KiB POST over the limit, with the response body STREAMED: does the local reply reach the server?',
    extProc: { processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'STREAMED' } },
    listener: { bufferLimitBytes: 16384 },
    client: h1('POST', '/echo', { headers: { 'content-type': 'application/octet-stream' }, body: bigBody(65536), curlArgs: ['-H', 'Expect:'] }),
    chunking: 'exact',
    upstreamAnswer: jsonH1(echoAnswer('POST', '/echo', bigBody(65536))),
    requestReads: uploadReads(bigBody(65536), 16384),
  },
  {
    id: 'buffered-response-over-limit',
    description: 'GET of a 64 KiB answer in 8 writes 150 ms apart, response BUFFERED, buffer limit 16 KiB',
    extProc: { processingMode: { responseBodyMode: 'BUFFERED' } },
    listener: { bufferLimitBytes: 16384 },
    client: h1('GET', '/bytes/65536?chunks=8&gapMs=150'),
    chunking: 'exact',
    upstreamAnswer: bytesH1(65536, 8, 150),
  },
  {
    id: 'expect-100-continue',
    description: 'HTTP/1.1 POST with Expect: 100-continue, request STREAMED',
    extProc: { processingMode: { requestBodyMode: 'STREAMED' } },
    client: h1('POST', '/echo', { headers: { 'content-type': 'application/json', expect: '100-continue' }, body: SMALL_JSON }),
    chunking: 'merged',
    upstreamAnswer: ECHO_ANSWER,
  },
  {
    id: 'h2-client-streamed',
    description: 'POST over HTTP/2 (prior knowledge), request and response STREAMED',
    extProc: { processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } },
    client: { kind: 'curl-h2', method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: SMALL_JSON },
    chunking: 'merged',
    upstreamAnswer: jsonH1(echoAnswer('POST', '/echo', SMALL_JSON), { keepAliveHeader: true }),
  },
  {
    id: 'h2-client-observability',
    description: 'POST over HTTP/2 (prior knowledge) in observability mode, request STREAMED: body messages exactly as the DATA frames come',
    extProc: { processingMode: { requestBodyMode: 'STREAMED', responseHeaderMode: 'SKIP' }, observabilityMode: true, deferredCloseTimeoutMs: 1000 },
    client: { kind: 'curl-h2', method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: SMALL_JSON },
    chunking: 'exact',
    upstreamAnswer: ECHO_ANSWER,
  },
  {
    id: 'observability-grpc-error',
    description: 'GET in observability mode (response STREAMED); the server fails the call with UNAVAILABLE on the response headers while the SSE body still flows',
    extProc: { processingMode: { responseBodyMode: 'STREAMED' }, observabilityMode: true },
    processor: { failOn: { part: 'response_headers', code: 14 } },
    client: h1('GET', '/slow?events=3&gapMs=200'),
    chunking: 'exact',
    upstreamAnswer: slowSse(3, 200),
    closePointNotModelled: 'Envoy closes the call at once but the client saw its stream cut only later (at the next body data, it seems); the emulator resets the client when the error arrives',
  },
  {
    id: 'message-timeout-unanswered-chunk',
    description: 'S43 (a): request STREAMED, message_timeout 400 ms; body pieces 200 ms apart, then nothing for 2 s; the server answers RB#1 at once and never answers RB#2',
    extProc: { processingMode: { requestBodyMode: 'STREAMED' }, messageTimeoutMs: TIMER_MS },
    processor: { bodyReplies: [0, 'never'] },
    ...piecesPost(pieces([100, 100], [200, 200], [300, 2000])),
    chunking: 'exact',
    messageTimer: true,
  },
  {
    id: 'message-timeout-rearmed-by-later-chunk',
    description: 'S43 (b): as (a), but a third piece follows 200 ms after the second (inside its 400 ms), then nothing for 2 s; the server answers nothing after RB#1: is the timer restarted by RB#3?',
    extProc: { processingMode: { requestBodyMode: 'STREAMED' }, messageTimeoutMs: TIMER_MS },
    processor: { bodyReplies: [0, 'never'] },
    ...piecesPost(pieces([100, 100], [200, 200], [300, 200], [400, 2000])),
    chunking: 'exact',
    messageTimer: true,
  },
  {
    id: 'message-timeout-disarmed-by-late-reply',
    description:
      'S43 (c): request STREAMED, message_timeout 400 ms; the server answers RB#1 300 ms late (150 ms after RB#2 was sent) and RB#2 700 ms late; RB#3 comes 900 ms after RB#2: does the late reply to RB#1 disarm the timer RB#2 armed?',
    extProc: { processingMode: { requestBodyMode: 'STREAMED' }, messageTimeoutMs: TIMER_MS },
    processor: { bodyReplies: [300, 700] },
    ...piecesPost(pieces([100, 100], [200, 150], [300, 900])),
    chunking: 'exact',
    messageTimer: true,
  },
  {
    id: 'message-timeout-response-chunk',
    description: 'S43 (a) on the response: response STREAMED, message_timeout 400 ms; a 3 KiB answer in 3 writes 800 ms apart; the server answers SB#1 at once and never answers SB#2',
    extProc: { processingMode: { responseBodyMode: 'STREAMED' }, messageTimeoutMs: TIMER_MS },
    processor: { bodyReplies: [0, 'never'] },
    client: h1('GET', '/bytes/3072?chunks=3&gapMs=800'),
    chunking: 'exact',
    upstreamAnswer: bytesH1(3072, 3, 800),
    messageTimer: true,
    closePointNotModelled:
      "the response had started, so Envoy resets the client instead of answering 504; curl saw the cut about 1 s after the call was closed (probably the HTTP/1 connection's delayed close), the emulator resets at once",
  },
];
