/**
 * Realistic exchange specs for load tests and the bench: an OpenAI-style chat
 * completion POST (about 2 KiB of JSON) answered with a streamed SSE response
 * (about 40 `data:` events plus `[DONE]`), each event one upstream read.
 */
import { randomUUID } from 'node:crypto';
import type { HttpExchangeSpec } from './http-exchange-spec';

export interface ChatCompletionOptions {
  /** Approximate request body size in bytes. */
  requestBytes?: number;
  /** Number of SSE events before `[DONE]`. */
  events?: number;
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

export function chatCompletionExchange(options: ChatCompletionOptions = {}): HttpExchangeSpec {
  const id = options.id ?? randomUUID();
  const requestBytes = options.requestBytes ?? 2048;
  const events = options.events ?? 40;
  const eventDelayMs = options.eventDelayMs ?? 1;
  const messages = [{ role: 'system', content: 'You are a helpful assistant that answers concisely.' }];
  const request = { model: 'gpt-4o-mini', stream: true, temperature: 0.2, user: id, messages };
  let json = JSON.stringify(request);
  // Pad the conversation with user turns until the body reaches the wanted size.
  for (let turn = 0; json.length < requestBytes; turn++) {
    const room = requestBytes - json.length - 40;
    const text = `Question ${turn}: `.padEnd(Math.max(16, Math.min(200, room)), 'x');
    messages.push({ role: turn % 2 === 0 ? 'user' : 'assistant', content: text });
    json = JSON.stringify(request);
  }
  const body = Buffer.from(json);
  const parts = Math.max(1, options.requestChunks ?? 1);
  const size = Math.ceil(body.length / parts);
  const requestBody = Array.from({ length: parts }, (_, i) => body.subarray(i * size, (i + 1) * size));

  const created = Math.floor(Date.now() / 1000);
  const sse: Array<{ data: string; delayMs?: number }> = [];
  for (let i = 0; i < events; i++) {
    const delta = i === 0 ? { role: 'assistant', content: '' } : { content: WORDS[i % WORDS.length] };
    const chunk = {
      id: `chatcmpl-${id}`,
      object: 'chat.completion.chunk',
      created,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [{ index: 0, delta, finish_reason: i === events - 1 ? 'stop' : null }],
    };
    sse.push({ data: `data: ${JSON.stringify(chunk)}\n\n`, delayMs: eventDelayMs });
  }
  sse.push({ data: 'data: [DONE]\n\n', delayMs: eventDelayMs });

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
