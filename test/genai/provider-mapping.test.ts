/**
 * Gateways in front of Azure OpenAI, Bedrock-compatible or self-hosted
 * endpoints are declared with --provider-mapping: a bad entry stops start-up
 * naming the field and value; a good one makes the endpoint's traffic fold.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { CaptureError } from '../../src/errors';
import { EnvoyEmulator } from '../emulator';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';

describe('--provider-mapping', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-mapping-'));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rejects an invalid entry, naming the field and value', () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, '- authority: llm.internal\n  provider: acme\n  api: carrier_pigeon\n');
    let message = '';
    try {
      loadConfig({ argv: ['--provider-mapping', file], env: {} });
    } catch (err) {
      expect(err).toBeInstanceOf(CaptureError);
      message = (err as Error).message;
    }
    expect(message).toContain(`--provider-mapping ${file}`);
    expect(message).toContain('carrier_pigeon');
  });

  it('rejects a file that is not a list', () => {
    const file = path.join(dir, 'map.yaml');
    fs.writeFileSync(file, 'authority: llm.internal\n');
    expect(() => loadConfig({ argv: ['--provider-mapping', file], env: {} })).toThrow(/expected a YAML list/);
  });

  describe('a declared self-hosted endpoint', () => {
    let harness: CaptureHarness;
    let envoy: EnvoyEmulator;

    beforeAll(async () => {
      const file = path.join(dir, 'good.yaml');
      fs.writeFileSync(file, '- authority: "llm.internal:8443"\n  pathPrefix: /serving/\n  provider: acme.llm\n  api: openai_chat_completions\n');
      const config = loadConfig({ argv: ['--provider-mapping', file], env: {} });
      harness = await startCaptureHarness({ providerMapping: config.providerMapping });
      envoy = new EnvoyEmulator({ target: harness.grpcAddress, messageTimeoutMs: 2000, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } });
      await envoy.waitForReady();
    });

    afterAll(async () => {
      envoy.close();
      await harness.stop();
    });

    it('is folded under the declared provider', async () => {
      await envoy.runExchange({
        request: {
          headers: [
            [':method', 'POST'],
            [':path', '/serving/v1/chat/completions'],
            [':authority', 'llm.internal:8443'],
            ['content-type', 'application/json'],
            ['x-request-id', 'mapped'],
          ],
          body: ['{"model":"acme-7b","messages":[{"role":"user","content":"hi"}]}'],
        },
        response: {
          headers: [
            [':status', '200'],
            ['content-type', 'application/json'],
          ],
          body: ['{"id":"c1","model":"acme-7b","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}'],
        },
      });
      const [row] = await harness.rows<{ GenAiProvider: string; GenAiRequestModel: string; GenAiOutputText: string; GenAiOutputTokens: number | string }>(
        "SELECT GenAiProvider, GenAiRequestModel, GenAiOutputText, GenAiOutputTokens FROM http_exchanges WHERE RequestId = 'mapped'",
      );
      expect(row).toMatchObject({ GenAiProvider: 'acme.llm', GenAiRequestModel: 'acme-7b', GenAiOutputText: 'hello' });
      expect(Number(row!.GenAiOutputTokens)).toBe(1);
    });
  });
});
