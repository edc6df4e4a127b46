/**
 * The loopback upstream behind Envoy in the end-to-end tests: one handler set
 * served over HTTP/1.1 and over h2c, recording what it received (so a test can
 * check the upstream got exactly what the client sent) and answering with
 * what a test asks for through the path:
 *
 *   /echo                 JSON {method, path, bytes, sha256} of the request
 *   /json                 a ~2 KiB JSON answer (content-length)
 *   /chunked              the same JSON written in 4 chunks, no content-length (HTTP/1.1 chunked)
 *   /bytes/N              N bytes of JSON-typed filler (content-length)
 *   /bytes/N?chunks=K&gapMs=G  the same in K writes G ms apart
 *   /sse/NAME             test/fixtures/genai/NAME.sse, one event per write, EVENT_GAP_MS apart
 *   /encoded/ENC          a JSON answer with content-encoding gzip | br | zstd | deflate
 *   /status/CODE          an empty answer with that status (204, 304, …)
 *   /slow?events=N&gapMs=G  an SSE stream of N events, G ms apart
 *   /v1/chat/completions  OpenAI-like: with "stream":true in the request body an SSE answer of
 *                         ?events=N events (default 40, the last `data: [DONE]`) written one per
 *                         event-loop turn (setImmediate, no timer), else a ~2 KiB chat.completion JSON
 *   /reset-after-headers  headers, one body write, then the connection is destroyed
 *   /hang                 never answers
 *   /trailers             (h2 only) a body, then trailers x-checksum and x-final
 *
 *   /grpc.health.v1.Health/Check  (h2 only) a gRPC answer: SERVING for service "", otherwise
 *                         trailers-only NOT_FOUND (grpc-status in the headers, no body)
 *
 * A request with `x-upstream-fixture: NAME` gets test/fixtures/genai/NAME.sse
 * whatever its path, so model API paths (which provider detection keys on) can
 * answer with a recorded provider stream.
 *
 * Anything else is 404. Requests are keyed by their `x-test-id` header.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export const GENAI_FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'genai');
const EVENT_GAP_MS = 2;

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The request body ended normally (false when the client or Envoy reset it). */
  complete: boolean;
  protocol: 'HTTP/1.1' | 'HTTP/2';
}

export interface SentResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers?: Record<string, string>;
}

export interface UpstreamServer {
  h1Port: number;
  h2Port: number;
  /** What the upstream received for a test id (waits briefly for the body to finish). */
  received(testId: string): Promise<ReceivedRequest>;
  /** What the upstream sent for a test id (the body as written, before any transport framing). */
  sent(testId: string): SentResponse | undefined;
  close(): Promise<void>;
}

/** Events of the OpenAI-like streamed answer: `count - 1` chat.completion.chunk events, then `data: [DONE]`. */
export function chatCompletionEvents(count = 40): Buffer[] {
  const events: Buffer[] = [];
  for (let i = 0; i < count - 1; i++) {
    const delta = i === 0 ? { role: 'assistant', content: '' } : { content: ` word${i}` };
    const chunk = {
      id: 'chatcmpl-upstream',
      object: 'chat.completion.chunk',
      created: 1735689600,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: i === count - 2 ? 'stop' : null }],
    };
    events.push(Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`));
  }
  events.push(Buffer.from('data: [DONE]\n\n'));
  return events;
}

/** The OpenAI-like non-streamed answer: a chat.completion whose message pads it to about `size` bytes. */
export function chatCompletionAnswer(size = 2048): Buffer {
  const answer = {
    id: 'chatcmpl-upstream',
    object: 'chat.completion',
    created: 1735689600,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 412, completion_tokens: 380, total_tokens: 792 },
  };
  const room = Math.max(0, size - JSON.stringify(answer).length);
  answer.choices[0].message.content = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(Math.ceil(room / 57)).slice(0, room);
  return Buffer.from(JSON.stringify(answer));
}

export function jsonAnswer(size = 2048): Buffer {
  const items: string[] = [];
  let text = '';
  for (let i = 0; text.length < size; i++) {
    items.push(`{"id":${i},"name":"item-${i}","tags":["alpha","beta"],"price":${(i * 1.25).toFixed(2)}}`);
    text = `{"object":"list","data":[${items.join(',')}]}`;
  }
  return Buffer.from(text);
}

/** SSE events of a fixture, each with its trailing blank line. */
export function fixtureEvents(name: string): Buffer[] {
  const text = fs.readFileSync(path.join(GENAI_FIXTURES, `${name}.sse`), 'utf8');
  return text
    .split(/(?<=\n\n)/)
    .filter((event) => event.trim() !== '')
    .map((event) => Buffer.from(event));
}

type Writer = {
  head(status: number, headers: Record<string, string>): void;
  write(chunk: Buffer): void;
  end(trailers?: Record<string, string>): void;
  destroy(): void;
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const ENCODERS: Record<string, (input: Buffer) => Buffer> = {
  gzip: (input) => zlib.gzipSync(input),
  deflate: (input) => zlib.deflateSync(input),
  br: (input) => zlib.brotliCompressSync(input),
  zstd: (input) => zlib.zstdCompressSync(input),
};

export async function startUpstream(): Promise<UpstreamServer> {
  const received = new Map<string, ReceivedRequest>();
  const bodyDone = new Map<string, Promise<void>>();
  const sent = new Map<string, SentResponse>();
  // The chat-completion answers are built once: the bench's upstream should cost Envoy's neighbours little CPU.
  const chatEvents = new Map<number, Buffer[]>();
  const chatAnswer = chatCompletionAnswer();

  const handle = (method: string, url: URL, headers: Record<string, string | string[] | undefined>, request: NodeJS.ReadableStream, protocol: ReceivedRequest['protocol'], out: Writer): void => {
    const testId = String(headers['x-test-id'] ?? '');
    const record: ReceivedRequest = { method, path: `${url.pathname}${url.search}`, headers, body: Buffer.alloc(0), complete: false, protocol };
    if (testId) received.set(testId, record);
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        record.complete = true;
        resolve();
      });
      request.on('close', () => {
        record.body = Buffer.concat(chunks);
        resolve();
      });
      request.on('error', () => resolve());
    }).then(() => {
      record.body = Buffer.concat(chunks);
    });
    if (testId) bodyDone.set(testId, done);

    const log: SentResponse = { status: 0, headers: {}, body: Buffer.alloc(0) };
    if (testId) sent.set(testId, log);
    const head = (status: number, h: Record<string, string>): void => {
      log.status = status;
      log.headers = h;
      out.head(status, h);
    };
    const write = (chunk: Buffer): void => {
      // Kept only where sent() can return it (a test id): the bench's load carries none and should stay cheap.
      if (testId) log.body = Buffer.concat([log.body, chunk]);
      out.write(chunk);
    };
    const end = (trailers?: Record<string, string>): void => {
      if (trailers) log.trailers = trailers;
      out.end(trailers);
    };
    const route = url.pathname.split('/').filter(Boolean);

    void (async () => {
      await done;
      const body = record.body;
      const fixture = headers['x-upstream-fixture'];
      if (typeof fixture === 'string') {
        head(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (const event of fixtureEvents(fixture)) {
          write(event);
          await sleep(EVENT_GAP_MS);
        }
        return end();
      }
      if (url.pathname === '/grpc.health.v1.Health/Check') {
        // After the 5-byte gRPC prefix, HealthCheckRequest.service is field 1 (tag 0x0a, length): an empty
        // name (absent, or present with length 0) asks about the server as a whole.
        const serviceName = body.length > 7 ? body.subarray(7, 7 + body[6]!).toString() : '';
        if (serviceName !== '') {
          head(200, { 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'unknown service' });
          return end();
        }
        head(200, { 'content-type': 'application/grpc' });
        // One length-prefixed message: HealthCheckResponse{status: SERVING (1)}.
        write(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
        return end({ 'grpc-status': '0' });
      }
      if (url.pathname === '/v1/chat/completions') {
        if (body.includes('"stream":true')) {
          head(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
          const count = Math.min(10_000, Math.max(1, Math.floor(Number(url.searchParams.get('events') ?? 40)) || 40));
          if (!chatEvents.has(count)) chatEvents.set(count, chatCompletionEvents(count));
          for (const event of chatEvents.get(count)!) {
            write(event);
            // One event per turn of the event loop: separate writes reach Envoy as separate body chunks (as a real
            // stream's events do) without a timer's millisecond added to every exchange's latency.
            await new Promise((resolve) => setImmediate(resolve));
          }
          return end();
        }
        head(200, { 'content-type': 'application/json', 'content-length': String(chatAnswer.length) });
        write(chatAnswer);
        return end();
      }
      switch (route[0]) {
        case 'echo': {
          const answer = Buffer.from(JSON.stringify({ method, path: record.path, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
          head(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
          if (method !== 'HEAD') write(answer);
          return end();
        }
        case 'json': {
          const answer = jsonAnswer();
          head(200, { 'content-type': 'application/json', 'content-length': String(answer.length) });
          if (method !== 'HEAD') write(answer);
          return end();
        }
        case 'chunked': {
          const answer = jsonAnswer();
          head(200, { 'content-type': 'application/json' });
          const size = Math.ceil(answer.length / 4);
          for (let i = 0; i < 4; i++) {
            write(answer.subarray(i * size, (i + 1) * size));
            await sleep(EVENT_GAP_MS);
          }
          return end();
        }
        case 'bytes': {
          const size = Number(route[1] ?? 0);
          head(200, { 'content-type': 'application/json', 'content-length': String(size) });
          const chunks = Number(url.searchParams.get('chunks') ?? 0);
          if (chunks > 0) {
            // ?chunks=K&gapMs=G: K equal writes, the first right after the headers, then G ms apart.
            const gapMs = Number(url.searchParams.get('gapMs') ?? 100);
            const part = Math.ceil(size / chunks);
            for (let offset = 0; offset < size; offset += part) {
              if (offset > 0) await sleep(gapMs);
              write(Buffer.alloc(Math.min(part, size - offset), 'a'));
            }
            return end();
          }
          const block = Buffer.alloc(64 * 1024, 'a');
          for (let left = size; left > 0; left -= block.length) write(left >= block.length ? block : block.subarray(0, left));
          return end();
        }
        case 'sse': {
          head(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          for (const event of fixtureEvents(route[1] ?? '')) {
            write(event);
            await sleep(EVENT_GAP_MS);
          }
          return end();
        }
        case 'slow': {
          const events = Number(url.searchParams.get('events') ?? 5);
          const gapMs = Number(url.searchParams.get('gapMs') ?? 200);
          head(200, { 'content-type': 'text/event-stream' });
          for (let i = 0; i < events; i++) {
            write(Buffer.from(`data: {"n":${i}}\n\n`));
            await sleep(gapMs);
          }
          return end();
        }
        case 'encoded': {
          const encoding = route[1] ?? 'gzip';
          const answer = ENCODERS[encoding]!(jsonAnswer(8192));
          head(200, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': String(answer.length) });
          write(answer);
          return end();
        }
        case 'status': {
          const status = Number(route[1] ?? 200);
          head(status, status === 304 ? { etag: '"v1"' } : {});
          return end();
        }
        case 'reset-after-headers': {
          head(200, { 'content-type': 'text/event-stream' });
          write(Buffer.from('data: {"partial":true}\n\n'));
          await sleep(50);
          return out.destroy();
        }
        case 'hang':
          return;
        case 'trailers': {
          const answer = jsonAnswer(512);
          head(200, { 'content-type': 'application/json' });
          write(answer);
          return end({ 'x-checksum': createHash('sha256').update(answer).digest('hex').slice(0, 16), 'x-final': 'yes' });
        }
        default: {
          const answer = Buffer.from('{"error":"not found"}');
          head(404, { 'content-type': 'application/json', 'content-length': String(answer.length) });
          write(answer);
          return end();
        }
      }
    })();
  };

  const h1 = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    handle(req.method ?? 'GET', url, req.headers, req, 'HTTP/1.1', {
      head: (status, headers) => res.writeHead(status, headers),
      write: (chunk) => res.write(chunk),
      end: () => res.end(),
      destroy: () => res.socket?.destroy(),
    });
  });
  h1.keepAliveTimeout = 60_000;
  const h2 = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  h2.on('stream', (stream, headers) => {
    const url = new URL(String(headers[':path'] ?? '/'), 'http://upstream');
    const plain: Record<string, string | string[] | undefined> = {};
    for (const [key, value] of Object.entries(headers)) if (!key.startsWith(':')) plain[key] = value as string | string[];
    stream.on('error', () => undefined);
    let trailersWanted: Record<string, string> | undefined;
    handle(String(headers[':method']), url, plain, stream, 'HTTP/2', {
      head: (status, h) => {
        // A gRPC trailers-only answer is one HEADERS frame with END_STREAM.
        const trailersOnly = 'grpc-status' in h;
        stream.respond({ ':status': status, ...h }, { waitForTrailers: !trailersOnly && (url.pathname === '/trailers' || h['content-type'] === 'application/grpc'), endStream: trailersOnly });
      },
      write: (chunk) => stream.write(chunk),
      end: (trailers) => {
        trailersWanted = trailers;
        if (!stream.writableEnded) stream.end();
      },
      destroy: () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR),
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailersWanted ?? {}));
  });
  const listen = (server: http.Server | http2.Http2Server): Promise<number> => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  const h1Port = await listen(h1);
  const h2Port = await listen(h2);
  return {
    h1Port,
    h2Port,
    async received(testId: string): Promise<ReceivedRequest> {
      const deadline = Date.now() + 5000;
      while (!bodyDone.has(testId) && Date.now() < deadline) await sleep(10);
      await bodyDone.get(testId);
      const record = received.get(testId);
      if (!record) throw new Error(`the upstream never received ${testId}`);
      return record;
    },
    sent: (testId) => sent.get(testId),
    async close(): Promise<void> {
      h1.closeAllConnections();
      await new Promise<void>((resolve) => h1.close(() => resolve()));
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => h2.close(() => resolve()));
    },
  };
}
