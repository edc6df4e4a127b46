/**
 * Traffic for the capture policy tests: a policy in the shape operators write
 * (the example), a streamed OpenAI chat completion with a tool call
 * and usage, and markers planted in its prompt, answer, tool arguments and
 * headers. A marker found where its exchange's level keeps nothing is a leak;
 * the same marker found for a full exchange proves the search would see it.
 */
import { WORKLOAD_METADATA_NAMESPACE } from '../../src/capture/gateway-identity';
import type { ExchangeResult, HeaderList, HttpExchangeSpec } from '../emulator';
import type { StoredRow } from '../scenarios/scenario-support';

/** The example operators start from: HR's OpenAI calls as usage, AWS headers only except Bedrock, health checks not at all, the rest in full. */
export const EXAMPLE_POLICY = `
default: full
allowRequestOptOut: true
retentionDays: { full: 7, usage: 90 }
rules:
  - name: health
    match: { pathPrefix: /healthz }
    capture: none
  - name: hr-to-openai
    match:
      authority: api.openai.com
      pathPrefix: /v1/
      methods: [POST]
      workload: { namespace: hr }
      provider: openai
    capture: usage
    retentionDays: 30
  - name: bedrock
    match: { authority: "bedrock-runtime.*.amazonaws.com" }
    capture: full
    maxBytes: 1024
    retentionDays: 30
  - name: aws
    match: { authority: "*.amazonaws.com" }
    capture: headers
`;

/** Markers that only a full capture may keep (headers keeps the header one too). */
export function markers(id: string): { prompt: string; answer: string; args: string; header: string } {
  return { prompt: `PROMPT-${id}`, answer: `ANSWER-${id}`, args: `ARGS-${id}`, header: `HEADER-${id}` };
}

/** The markers a level must not keep: headers keeps header values, usage keeps none of them. */
export function absentAt(level: string, id: string): string[] {
  const m = markers(id);
  return level === 'headers' ? [m.prompt, m.answer, m.args] : Object.values(m);
}

export function expectNoMarkers(row: StoredRow, id: string): void {
  const text = JSON.stringify(row);
  expect(absentAt(row.CaptureLevel, id).filter((marker) => text.includes(marker))).toEqual([]);
}

/** A streamed OpenAI chat completion with a tool call and usage, carrying the exchange's markers. */
export function chat(authority: string, id: string, options: { namespace?: string; extra?: HeaderList; path?: string } = {}): HttpExchangeSpec {
  const m = markers(id);
  const request = { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: m.prompt }] };
  const chunk = (delta: object, finish: string | null) => ({
    id: `chatcmpl-${id}`,
    object: 'chat.completion.chunk',
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const events = [
    chunk({ role: 'assistant', content: m.answer }, null),
    chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: `{"q":"${m.args}"}` } }] }, null),
    chunk({}, 'tool_calls'),
    { id: `chatcmpl-${id}`, object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } },
  ];
  return {
    name: id,
    request: {
      headers: [
        [':method', 'POST'],
        [':scheme', 'https'],
        [':authority', authority],
        [':path', options.path ?? '/v1/chat/completions'],
        ['content-type', 'application/json'],
        ['x-request-id', id],
        ['x-team-note', m.header],
        ...(options.extra ?? []),
      ],
      body: [Buffer.from(JSON.stringify(request))],
    },
    response: {
      headers: [
        [':status', '200'],
        ['content-type', 'text/event-stream'],
        ['x-upstream-note', m.header],
      ],
      body: [...events.map((event) => ({ data: `data: ${JSON.stringify(event)}\n\n`, delayMs: 1 })), { data: 'data: [DONE]\n\n', delayMs: 1 }],
    },
    ...(options.namespace === undefined ? {} : { dynamicMetadata: { [WORKLOAD_METADATA_NAMESPACE]: { namespace: options.namespace, name: 'app' } } }),
  };
}

/** The traffic went through untouched, whatever the level. */
export function expectTrafficIntact(result: ExchangeResult, spec: HttpExchangeSpec): void {
  expect(result.violations).toEqual([]);
  expect(result.failure).toBeUndefined();
  expect(result.downstream.status).toBe(200);
  expect(result.downstream.complete).toBe(true);
  const body = (spec.response?.body ?? []).map((piece) => (typeof piece === 'object' && 'data' in piece ? String(piece.data) : String(piece))).join('');
  expect(result.downstream.body.toString()).toBe(body);
  expect(result.upstream.body.toString()).toBe(Buffer.concat(spec.request.body as Buffer[]).toString());
}
