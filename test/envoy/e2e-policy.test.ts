/**
 * The capture policy through the real Envoy: one service with a policy file,
 * three listeners that differ in what Envoy lets the service change:
 *
 *   overridable     acknowledged, STREAMED, allow_mode_override: the service's
 *                   mode_override must stop the bodies its level drops;
 *   fixed           acknowledged, STREAMED, no override allowed: Envoy sends
 *                   every body (the override is ignored) and the service
 *                   keeps only what the level says;
 *   observability   send and go (the translator's mode): no reply at all.
 *
 * On each: the traffic is untouched, the row holds what its level keeps
 * (usage: model and tokens, no body, no text), level none stores nothing,
 * and Envoy's ext_proc statistics show no failure, timeout or spurious
 * message — level none ends the call from the service's side right after the
 * request headers, which Envoy must take as processing complete.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeEnvoy } from './describe-envoy';
import type { ListenerConfig } from './envoy-bootstrap';
import { startStack, type EnvoyStack } from './envoy-stack';
import { expectCleanExtProc, expectFaithfulTraffic, metricValue } from './e2e-checks';
import { curl } from './http-clients';

const STREAMED = { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } as const;
const MESSAGE_TIMEOUT_MS = 1000;
const LISTENERS: ListenerConfig[] = [
  { name: 'overridable', extProc: { processingMode: STREAMED, messageTimeoutMs: MESSAGE_TIMEOUT_MS, allowModeOverride: true } },
  { name: 'fixed', extProc: { processingMode: STREAMED, messageTimeoutMs: MESSAGE_TIMEOUT_MS } },
  { name: 'observability', extProc: { processingMode: STREAMED, observabilityMode: true } },
];

/** x-test-id stays at usage so the test finds its row. */
const POLICY = `
default: full
usageHeaders: [content-type, x-test-id]
rules:
  - name: health
    match: { pathPrefix: /status/ }
    capture: none
  - name: chat-usage
    match: { pathPrefix: /v1/chat/completions, provider: openai }
    capture: usage
  - name: echo-headers
    match: { pathPrefix: /echo }
    capture: headers
`;

const CHAT_REQUEST = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'PROMPT-never-stored' }] }));
const ECHO_REQUEST = Buffer.from(JSON.stringify({ note: 'BODY-never-stored', list: Array.from({ length: 100 }, (_, i) => i) }));

describeEnvoy('capture policy through Envoy', (version, binary) => {
  let dir: string;
  let stack: EnvoyStack;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-e2e-policy-'));
    const policy = path.join(dir, 'capture-policy.yaml');
    fs.writeFileSync(policy, POLICY);
    stack = await startStack(binary, version, { listeners: LISTENERS, serveArgs: ['--capture-policy', policy] });
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Body messages the service received, by direction. */
  const bodyMessages = async (): Promise<{ request: number; response: number }> => {
    const text = await stack.metricsText();
    return {
      request: metricValue(text, 'egress_capture_extproc_messages_total', { type: 'request_body' }),
      response: metricValue(text, 'egress_capture_extproc_messages_total', { type: 'response_body' }),
    };
  };

  describe.each(LISTENERS.map((l) => l.name))('%s', (listener) => {
    const id = (name: string): string => `policy-${version}-${listener}-${name}`;

    test('usage: the model call folded for its usage, nothing of the prompt or the answer kept', async () => {
      const testId = id('usage');
      const before = await bodyMessages();
      const request = { method: 'POST', path: '/v1/chat/completions', body: CHAT_REQUEST, headers: { 'content-type': 'application/json', 'x-upstream-fixture': 'openai-chat-stream' } };
      const response = await curl({ port: stack.port(listener), testId, authority: 'api.openai.com', ...request });
      await expectFaithfulTraffic(stack, testId, response, request);
      const row = await stack.row(testId);
      expect(row).toMatchObject({
        CaptureLevel: 'usage',
        CaptureRule: 'chat-usage',
        GenAiProvider: 'openai',
        GenAiResponseModel: 'gpt-4o-mini-2024-07-18',
        GenAiFinishReasons: ['stop'],
        GenAiOutputText: '',
        RequestBody: '',
        ResponseBody: '',
        RequestBodyNote: 'capture_level',
        ResponseBodyNote: 'capture_level',
      });
      expect(Number(row.GenAiInputTokens)).toBe(1187);
      expect(Number(row.GenAiOutputTokens)).toBe(14);
      expect(JSON.stringify(row)).not.toContain('PROMPT-never-stored');
      expect(Object.keys(row.RequestHeaders).sort()).toEqual(['content-type', 'x-test-id']);
      const after = await bodyMessages();
      // The answer is needed (its usage); the request body is not, and only this listener lets the service say so.
      expect(after.response).toBeGreaterThan(before.response);
      if (listener === 'overridable') expect(after.request).toBe(before.request);
      else expect(after.request).toBeGreaterThan(before.request);
    });

    test('headers: every header, no body; with overrides allowed Envoy sends none', async () => {
      const testId = id('headers');
      const before = await bodyMessages();
      const request = { method: 'POST', path: '/echo', body: ECHO_REQUEST, headers: { 'content-type': 'application/json', 'x-team-note': 'kept' } };
      const response = await curl({ port: stack.port(listener), testId, ...request });
      await expectFaithfulTraffic(stack, testId, response, request);
      const row = await stack.row(testId);
      expect(row).toMatchObject({ CaptureLevel: 'headers', CaptureRule: 'echo-headers', RequestBody: '', ResponseBody: '', StatusCode: 200, Outcome: 'complete' });
      expect(row.RequestHeaders['x-team-note']).toBe('kept');
      expect(JSON.stringify(row)).not.toContain('BODY-never-stored');
      const after = await bodyMessages();
      if (listener === 'overridable') expect(after).toEqual(before);
      else expect(after.request).toBeGreaterThan(before.request);
    });

    test('none: nothing stored, only counted; the traffic goes through', async () => {
      const testId = id('none');
      const text = await stack.metricsText();
      const counted = metricValue(text, 'egress_capture_policy_exchanges_total', { level: 'none', rule: 'health' });
      const response = await curl({ port: stack.port(listener), testId, path: '/status/204' });
      await expectFaithfulTraffic(stack, testId, response, { method: 'GET', path: '/status/204' });
      const deadline = Date.now() + 10_000;
      while (metricValue(await stack.metricsText(), 'egress_capture_policy_exchanges_total', { level: 'none', rule: 'health' }) === counted && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(metricValue(await stack.metricsText(), 'egress_capture_policy_exchanges_total', { level: 'none', rule: 'health' })).toBe(counted + 1);
      // A full exchange after it has landed, so an unwanted row of the none one would have too.
      const full = id('full-after-none');
      await expectFaithfulTraffic(stack, full, await curl({ port: stack.port(listener), testId: full, path: '/json' }), { method: 'GET', path: '/json' });
      expect((await stack.row(full)).CaptureLevel).toBe('full');
      expect(await stack.rowsNow(testId)).toEqual([]);
    });

    test('Envoy reports no failed stream, timeout or spurious message', async () => {
      await expectCleanExtProc(stack, listener, 4);
    });
  });
});
