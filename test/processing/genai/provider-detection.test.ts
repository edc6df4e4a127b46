import { GenAiConfigError } from '../../../src/processing/genai/errors';
import { globMatch, ProviderDetector, splitAuthority } from '../../../src/processing/genai/provider-detection';

describe('ProviderDetector built-in rules', () => {
  const d = new ProviderDetector();
  const cases: Array<[authority: string, path: string, expected: object | undefined]> = [
    ['api.openai.com', '/v1/chat/completions', { provider: 'openai', api: 'openai_chat_completions', operation: 'chat' }],
    ['API.OpenAI.com:443', '/v1/chat/completions/?x=1', { provider: 'openai', api: 'openai_chat_completions' }],
    ['api.openai.com', '/v1/responses', { provider: 'openai', api: 'openai_responses' }],
    ['api.openai.com', '/v1/embeddings', undefined],
    ['api.openai.com', '/v1/messages', undefined],
    ['api.anthropic.com', '/v1/messages?beta=true', { provider: 'anthropic', api: 'anthropic_messages' }],
    ['api.anthropic.com', '/v1/messages/count_tokens', undefined],
    ['bedrock-runtime.us-east-1.amazonaws.com', '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream', { provider: 'aws.bedrock', api: 'bedrock_converse_stream', pathModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }],
    ['bedrock-runtime-fips.us-gov-west-1.amazonaws.com', '/model/amazon.nova-pro-v1%3A0/converse', { provider: 'aws.bedrock', api: 'bedrock_converse' }],
    ['bedrock-runtime.us-east-1.amazonaws.com', '/model/x/invoke', undefined],
    ['my-res.openai.azure.com', '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', { provider: 'azure.ai.openai', api: 'openai_chat_completions', pathModel: 'gpt4o-prod' }],
    ['my-res.openai.azure.com', '/openai/v1/responses', { provider: 'azure.ai.openai', api: 'openai_responses' }],
    ['localhost:11434', '/api/chat', { provider: 'ollama', api: 'ollama_chat' }],
    ['10.0.0.5:11434', '/v1/chat/completions', { provider: 'ollama', api: 'openai_chat_completions' }],
    ['gpu-box.internal', '/api/chat', { provider: 'ollama', api: 'ollama_chat' }],
    ['example.com', '/v1/chat/completions', undefined],
    ['evil.openai.com.example.org', '/v1/chat/completions', undefined],
  ];
  it.each(cases)('%s %s', (authority, path, expected) => {
    const got = d.detect(authority, path);
    if (expected === undefined) expect(got).toBeUndefined();
    else expect(got).toMatchObject(expected);
  });
});

describe('ProviderDetector mapping', () => {
  it('checks declared entries first, in order, with globs, ports and path prefixes', () => {
    const d = new ProviderDetector([
      { authority: 'llm-gw.corp:8443', pathPrefix: '/azure/', provider: 'azure.ai.openai' },
      { authority: 'llm-gw.corp', pathPrefix: '/bedrock/', provider: 'aws.bedrock' },
      { authority: '*.llm.corp', provider: 'vllm', api: 'openai_chat_completions' },
      { authority: 'api.openai.com', pathPrefix: '/v1/', provider: 'openai-via-mapping' },
    ]);
    expect(d.detect('llm-gw.corp:8443', '/azure/openai/deployments/d1/chat/completions')).toMatchObject({ provider: 'azure.ai.openai', api: 'openai_chat_completions', pathModel: 'd1' });
    expect(d.detect('llm-gw.corp:9000', '/azure/openai/deployments/d1/chat/completions')).toBeUndefined();
    expect(d.detect('llm-gw.corp:9000', '/bedrock/model/meta.llama3-70b/converse-stream')).toMatchObject({ provider: 'aws.bedrock', api: 'bedrock_converse_stream', pathModel: 'meta.llama3-70b' });
    expect(d.detect('a.b.llm.corp', '/anything/at/all')).toMatchObject({ provider: 'vllm', api: 'openai_chat_completions' });
    expect(d.detect('api.openai.com', '/v1/chat/completions')).toMatchObject({ provider: 'openai-via-mapping' });
    // A mapped host serving a path we cannot infer falls through to built-ins (none here).
    expect(d.detect('llm-gw.corp', '/bedrock/list-models')).toBeUndefined();
  });

  it('names every bad field and value', () => {
    let err: unknown;
    try {
      new ProviderDetector([
        { authority: 'ok.example', provider: 'fine' },
        { authority: 'bad host/with/slash', provider: 'x' },
        { authority: 'gw', pathPrefix: 'no-slash', provider: '' },
        { authority: 'gw', provider: 'p', api: 'openai_chat' as never },
        'not an object' as never,
        { authority: 'gw', provider: 'p', operation: 'chat' } as never,
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GenAiConfigError);
    const e = err as GenAiConfigError;
    expect(e.code).toBe('CAP_ERR_GENAI_MAPPING_INVALID');
    expect(e.issues).toEqual([
      expect.stringMatching(/^providerMapping\[1\]\.authority .*"bad host\/with\/slash"/),
      expect.stringMatching(/^providerMapping\[2\]\.pathPrefix .*"no-slash"/),
      expect.stringMatching(/^providerMapping\[2\]\.provider .*""/),
      expect.stringMatching(/^providerMapping\[3\]\.api must be one of .*"openai_chat"/),
      expect.stringMatching(/^providerMapping\[4\] must be an object, got "not an object"/),
      expect.stringMatching(/^providerMapping\[5\]\.operation is not a known field/),
    ]);
  });
});

describe('helpers', () => {
  it('splits authorities including IPv6', () => {
    expect(splitAuthority('[::1]:11434')).toEqual({ host: '[::1]', port: '11434' });
    expect(splitAuthority('Host.Example')).toEqual({ host: 'host.example', port: undefined });
    expect(splitAuthority('h:80')).toEqual({ host: 'h', port: '80' });
  });

  it('matches globs without exponential backtracking', () => {
    expect(globMatch('*.openai.azure.com', 'x.openai.azure.com')).toBe(true);
    expect(globMatch('*.openai.azure.com', 'openai.azure.com')).toBe(false);
    expect(globMatch('a*b*c', 'aXXbYYc')).toBe(true);
    const t0 = Date.now();
    expect(globMatch('*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(250))).toBe(false);
    // Backtracking would take ages on 250 characters; a linear match takes microseconds.
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
