/**
 * The capture policy end to end: a real capture service (gRPC server,
 * workers, embedded ClickHouse, spool, OTLP export to a receiver written
 * here) with a policy file, traffic through the Envoy emulator, and what each
 * level leaves everywhere a row goes. Markers planted in prompts, answers,
 * tool arguments and headers must be in the store, the spool and the export
 * for a full exchange (which proves the search would find them) and nowhere
 * for a lighter one. Also: what Envoy is told (mode_override, the call ended
 * for level none), opt-out, metrics, and a reload without a restart.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WORKLOAD_METADATA_NAMESPACE } from '../../src/capture/gateway-identity';
import { BodySendMode } from '../../src/extproc/wire/protocol';
import type { EnvoyEmulator, ExchangeResult } from '../emulator';
import { newRequestId, startScenarios, type Scenarios } from '../scenarios/scenario-support';
import { chat, EXAMPLE_POLICY, expectNoMarkers, expectTrafficIntact, markers } from './policy-traffic';

let dir: string;
let policyFile: string;
let scenarios: Scenarios;
let envoy: EnvoyEmulator;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-policy-'));
  policyFile = path.join(dir, 'capture-policy.yaml');
  fs.writeFileSync(policyFile, EXAMPLE_POLICY);
  scenarios = await startScenarios({ capturePolicyPath: policyFile });
  envoy = await scenarios.warmEnvoy({
    processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' },
    allowModeOverride: true,
    forwardingNamespaces: [WORKLOAD_METADATA_NAMESPACE],
  });
}, 60_000);

afterAll(async () => {
  await scenarios?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function bodyMessages(result: ExchangeResult, part: 'request_body' | 'response_body'): number {
  return result.sent.filter(({ message }) => message.request === part).length;
}

describe('each level, as stored', () => {
  it('full (no rule matched): bodies, folded answer, tool arguments and every header, kept for the full retention', async () => {
    const id = newRequestId('full');
    const spec = chat('api.openai.com', id, { namespace: 'eng' });
    const result = await envoy.runExchange(spec);
    expectTrafficIntact(result, spec);
    expect(result.modeOverrides).toEqual([]);
    const row = await scenarios.row(id);
    expect(row).toMatchObject({ CaptureLevel: 'full', CaptureRule: 'default', CaptureOptOut: '', RetentionDays: 7, RequestBodyCaptured: true, ResponseBodyCaptured: true });
    const m = markers(id);
    expect(row.RequestBody).toContain(m.prompt);
    expect(row.GenAiOutputText).toBe(m.answer);
    expect(row.GenAiToolCalls).toContain(m.args);
    expect(row.RequestHeaders['x-team-note']).toBe(m.header);
  });

  it('usage (hr to OpenAI): model, tokens, finish reasons and tool names; no body, text, arguments or other headers — and Envoy is told to skip the request body', async () => {
    const id = newRequestId('usage');
    const spec = chat('api.openai.com', id, { namespace: 'hr' });
    const result = await envoy.runExchange(spec);
    expectTrafficIntact(result, spec);
    expect(result.modeOverrides).toEqual([{ accepted: true, mode: { request_body_mode: BodySendMode.NONE, response_body_mode: BodySendMode.STREAMED } }]);
    expect(bodyMessages(result, 'request_body')).toBe(0);
    expect(bodyMessages(result, 'response_body')).toBeGreaterThan(0);
    const row = await scenarios.row(id);
    expect(row).toMatchObject({
      CaptureLevel: 'usage',
      CaptureRule: 'hr-to-openai',
      // The rule's own retention wins over its level's (90).
      RetentionDays: 30,
      Method: 'POST',
      Authority: 'api.openai.com',
      Path: '/v1/chat/completions',
      StatusCode: 200,
      GenAiProvider: 'openai',
      GenAiResponseModel: 'gpt-4o-mini-2024-07-18',
      GenAiInputTokens: 11,
      GenAiOutputTokens: 7,
      GenAiFinishReasons: ['tool_calls'],
      GenAiToolCalls: JSON.stringify([{ id: 'call_1', name: 'lookup' }]),
      GenAiOutputText: '',
      RequestBody: '',
      ResponseBody: '',
      RequestBodySha256: '',
      ResponseBodySha256: '',
      RequestBodyNote: 'capture_level',
      ResponseBodyNote: 'capture_level',
    });
    // Only the allow-listed header values (content-type, x-request-id, ...) stay.
    expect(Object.keys(row.RequestHeaders).sort()).toEqual(['content-type', 'x-request-id']);
    expect(Object.keys(row.ResponseHeaders).sort()).toEqual(['content-type']);
    expect(Number(row.ResponseBodySize)).toBeGreaterThan(0);
    expectNoMarkers(row, id);
  });

  it('headers (*.amazonaws.com): every header, no body; Envoy sends no body at all', async () => {
    const id = newRequestId('headers');
    const spec = chat('s3.us-east-1.amazonaws.com', id, { path: '/bucket/object.json' });
    const result = await envoy.runExchange(spec);
    expectTrafficIntact(result, spec);
    expect(result.modeOverrides).toEqual([{ accepted: true, mode: { request_body_mode: BodySendMode.NONE, response_body_mode: BodySendMode.NONE } }]);
    expect(bodyMessages(result, 'request_body') + bodyMessages(result, 'response_body')).toBe(0);
    const row = await scenarios.row(id);
    // No retention for headers in the policy: the store's --ttl-days (0 here).
    expect(row).toMatchObject({ CaptureLevel: 'headers', CaptureRule: 'aws', RetentionDays: 0, RequestBody: '', ResponseBody: '', RequestBodyNote: 'capture_level', Outcome: 'complete' });
    expectNoMarkers(row, id);
    expect(row.RequestHeaders['x-team-note']).toBe(markers(id).header);
    expect(row.ResponseHeaders['x-upstream-note']).toBe(markers(id).header);
  });

  it('full with a rule body cap (Bedrock, before the wider aws rule): bodies cut at the rule maxBytes, its own retention', async () => {
    const id = newRequestId('bedrock');
    const spec = chat('bedrock-runtime.us-east-1.amazonaws.com', id, { path: '/model/anthropic.claude-3/invoke' });
    (spec.request.body as Buffer[])[0] = Buffer.from(JSON.stringify({ prompt: 'x'.repeat(5000) }));
    const result = await envoy.runExchange(spec);
    expectTrafficIntact(result, spec);
    const row = await scenarios.row(id);
    expect(row).toMatchObject({ CaptureLevel: 'full', CaptureRule: 'bedrock', RetentionDays: 30, RequestBodyTruncated: true });
    expect(Buffer.byteLength(row.RequestBody)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(row.RequestBody)).toBeGreaterThan(900);
  });

  it('none (health checks): no row, only counted; the call ends after the request headers and the traffic goes on', async () => {
    const id = newRequestId('none');
    const before = await scenarios.harness.metric('egress_capture_policy_exchanges_total', { level: 'none', rule: 'health' });
    const spec = chat('api.openai.com', id, { path: '/healthz' });
    const result = await envoy.runExchange(spec);
    expectTrafficIntact(result, spec);
    // The service answered the request headers and ended the call with OK: Envoy processes nothing more of it
    // (a message already on its way may still arrive, and is ignored).
    expect(result.continuedUnprocessed).toBe(true);
    expect(result.grpcStatus?.code).toBe(0);
    expect(result.sent[0]?.message.request).toBe('request_headers');
    expect(await scenarios.rowsWhere(`RequestId = '${id}'`)).toEqual([]);
    expect(await scenarios.harness.metric('egress_capture_policy_exchanges_total', { level: 'none', rule: 'health' })).toBe(before + 1);
  });
});

describe("a workload's opt-out header", () => {
  it.each([
    ['headers', 'applied', 'headers'],
    ['full', 'ignored_not_lower', 'usage'],
    ['everything please', 'ignored_invalid', 'usage'],
  ])('x-egress-capture: %s is %s (level %s)', async (asked, outcome, level) => {
    const id = newRequestId(`optout-${outcome}`);
    // "applied" lowers the full default; the other two ask the usage rule for more, or for nonsense.
    const spec = chat('api.openai.com', id, { namespace: outcome === 'applied' ? 'eng' : 'hr', extra: [['x-egress-capture', asked]] });
    const before = await scenarios.harness.metric('egress_capture_policy_opt_outs_total', { outcome });
    expectTrafficIntact(await envoy.runExchange(spec), spec);
    const row = await scenarios.row(id);
    expect({ level: row.CaptureLevel, optOut: row.CaptureOptOut }).toEqual({ level, optOut: outcome });
    expect(await scenarios.harness.metric('egress_capture_policy_opt_outs_total', { outcome })).toBe(before + 1);
    if (level !== 'full') expectNoMarkers(row, id);
  });
});

describe('a changed policy file', () => {
  it('takes effect without a restart; an invalid one is counted and the policy in force stays', async () => {
    const reloads = (result: string) => scenarios.harness.metric('egress_capture_policy_reloads_total', { result });
    const waitFor = async (result: string, count: number) => {
      const deadline = Date.now() + 15_000;
      while ((await reloads(result)) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await reloads(result)).toBe(count);
    };
    const applied = await reloads('applied');
    fs.writeFileSync(policyFile, 'default: headers\nallowRequestOptOut: false\n');
    await waitFor('applied', applied + 1);

    const id = newRequestId('reloaded');
    const spec = chat('api.openai.com', id, { namespace: 'eng', extra: [['x-egress-capture', 'usage']] });
    expectTrafficIntact(await envoy.runExchange(spec), spec);
    expect(await scenarios.row(id)).toMatchObject({ CaptureLevel: 'headers', CaptureRule: 'default', CaptureOptOut: 'refused_not_allowed', RetentionDays: 0 });

    const invalid = await reloads('invalid');
    fs.writeFileSync(policyFile, 'default: everything\n');
    await waitFor('invalid', invalid + 1);
    const after = newRequestId('after-invalid');
    const next = chat('api.openai.com', after, { namespace: 'eng' });
    expectTrafficIntact(await envoy.runExchange(next), next);
    expect(await scenarios.row(after)).toMatchObject({ CaptureLevel: 'headers', CaptureRule: 'default' });

    const status = (await (await fetch(`${scenarios.harness.adminUrl}/status`)).json()) as { capturePolicy: { file: string; default: string; rules: unknown[] } };
    expect(status.capturePolicy).toMatchObject({ file: policyFile, default: 'headers', rules: [] });
  }, 60_000);
});
