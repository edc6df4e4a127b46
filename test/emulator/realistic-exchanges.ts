/**
 * Realistic exchange specs for load tests and the bench: an OpenAI-style chat
 * completion POST (about 2 KiB of JSON) answered with a streamed SSE response
 * (about 40 `data:` events plus `[DONE]`), each event one upstream read.
 *
 * "A body of N KiB" (the bench's scaling section) is `requestBytes` and
 * `responseBytes` both N × 1024: a JSON request of about N KiB and an SSE
 * answer of about N KiB in all, spread over its events.
 */
import { randomUUID } from 'node:crypto';
import type { HttpExchangeSpec } from './http-exchange-spec';

export interface ChatCompletionOptions {
  /** Approximate request body size in bytes. */
  requestBytes?: number;
  /** Number of SSE events before `[DONE]`. */
  events?: number;
  /**
   * Approximate SSE response body size in bytes: every event's `data: …\n\n` frame plus
   * `[DONE]`. Unset, each event carries one word (~200 bytes an event). Set, the words are
   * lengthened with filler text, spread evenly over the events that carry words, until the
   * answer is this size; it cannot be smaller than the unpadded events (an error names the
   * minimum, and fewer `events` make it smaller).
   */
  responseBytes?: number;
  /**
   * Delay between SSE events. Default 1 ms: with no gap the whole stream arrives while
   * the response-headers reply is pending and Envoy sends it as one coalesced body
   * message; a gap gives one body message per event, as a real LLM stream does.
   */
  eventDelayMs?: number;
  /** Split the request body into this many reads. */
  requestChunks?: number;
  authority?: string;
  /** Marks the exchange (x-request-id and the `user` field), so a test can find its row. */
  id?: string;
}

const WORDS = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', '.'];
/** Filler for padded answers: plain ASCII, so a character is a byte and JSON needs no escapes. */
const FILLER = WORDS.join('');
const DONE = 'data: [DONE]\n\n';

/** Lengthens the deltas' content (the first, role-only delta too when it is the only one) until `size()` reaches `bytes`. */
function padAnswer(deltas: Array<{ content: string }>, bytes: number, size: () => number): void {
  const unpadded = size();
  if (bytes < unpadded) throw new Error(`responseBytes=${bytes} is below the ${unpadded} bytes of ${deltas.length} unpadded SSE events (expected ≥ ${unpadded}, or fewer events)`);
  const padded = deltas.length > 1 ? deltas.slice(1) : deltas;
  const extra = bytes - unpadded;
  padded.forEach((delta, i) => {
    const n = Math.floor(extra / padded.length) + (i < extra % padded.length ? 1 : 0);
    delta.content += FILLER.repeat(Math.ceil(n / FILLER.length)).slice(0, n);
  });
}

export function chatCompletionExchange(options: ChatCompletionOptions = {}): HttpExchangeSpec {
  const id = options.id ?? randomUUID();
  const requestBytes = options.requestBytes ?? 2048;
  const events = options.events ?? 40;
  const eventDelayMs = options.eventDelayMs ?? 1;
  const messages = [{ role: 'system', content: 'You are a helpful assistant that answers concisely.' }];
  const request = { model: 'gpt-4o-mini', stream: true, temperature: 0.2, user: id, messages };
  // Pad the conversation with user turns until the body reaches the wanted size. The length is
  // kept as it grows (each turn adds a comma and itself), so a 64 KiB body is stringified once.
  let length = JSON.stringify(request).length;
  for (let turn = 0; length < requestBytes; turn++) {
    const room = requestBytes - length - 40;
    const text = `Question ${turn}: `.padEnd(Math.max(16, Math.min(200, room)), 'x');
    const message = { role: turn % 2 === 0 ? 'user' : 'assistant', content: text };
    messages.push(message);
    length += 1 + JSON.stringify(message).length;
  }
  const body = Buffer.from(JSON.stringify(request));
  const parts = Math.max(1, options.requestChunks ?? 1);
  const size = Math.ceil(body.length / parts);
  const requestBody = Array.from({ length: parts }, (_, i) => body.subarray(i * size, (i + 1) * size));

  const created = Math.floor(Date.now() / 1000);
  const deltas: Array<{ role?: string; content: string }> = [];
  for (let i = 0; i < events; i++) deltas.push(i === 0 ? { role: 'assistant', content: '' } : { content: WORDS[i % WORDS.length] });
  const frame = (i: number): string => {
    const chunk = {
      id: `chatcmpl-${id}`,
      object: 'chat.completion.chunk',
      created,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, delta: deltas[i], finish_reason: i === events - 1 ? 'stop' : null }],
    };
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  if (options.responseBytes !== undefined) padAnswer(deltas, options.responseBytes, () => deltas.reduce((sum, _, i) => sum + Buffer.byteLength(frame(i)), DONE.length));
  const sse: Array<{ data: string; delayMs?: number }> = deltas.map((_, i) => ({ data: frame(i), delayMs: eventDelayMs }));
  sse.push({ data: DONE, delayMs: eventDelayMs });

  return {
    name: `chat-completion ${id}`,
    request: {
      headers: [
        [':method', 'POST'],
        [':scheme', 'https'],
        [':authority', options.authority ?? 'api.openai.com'],
        [':path', '/v1/chat/completions'],
        ['content-type', 'application/json'],
        ['content-length', String(body.length)],
        ['authorization', 'Bearer sk-test-0000000000000000'],
        ['user-agent', 'OpenAI/Python 1.52.0'],
        ['accept', 'text/event-stream'],
        ['x-request-id', id],
      ],
      body: requestBody,
    },
    response: {
      headers: [
        [':status', '200'],
        ['content-type', 'text/event-stream; charset=utf-8'],
        ['cache-control', 'no-cache'],
        ['openai-processing-ms', '412'],
        ['x-request-id', `req_${id.replace(/-/g, '')}`],
        ['transfer-encoding', 'chunked'],
      ],
      body: sse,
    },
  };
}
