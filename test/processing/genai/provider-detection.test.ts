import { CaptureError } from '../../../src/errors';
import { GenAiConfigError } from '../../../src/processing/genai/errors';
import { globMatch, ProviderDetector, splitAuthority } from '../../../src/processing/genai/provider-detection';

describe('ProviderDetector built-in rules', () => {
  const d = new ProviderDetector();
  const cases: Array<[authority: string, path: string, expected: object | undefined]> = [
    ['api.openai.com', '/v1/chat/completions', { provider: 'openai', api: 'openai_chat_completions', operation: 'chat' }],
    ['API.OpenAI.com:443', '/v1/chat/completions/?x=1', { provider: 'openai', api: 'openai_chat_completions' }],
    ['api.openai.com', '/v1/responses', { provider: 'openai', api: 'openai_responses' }],
    ['api.openai.com', '/v1/embeddings', { provider: 'openai', api: 'openai_embeddings', operation: 'embeddings' }],
    ['api.openai.com', '/v1/moderations', { provider: 'openai', api: 'openai_moderations', operation: 'moderation' }],
    ['api.openai.com', '/v1/images/generations', { provider: 'openai', api: 'openai_images', operation: 'image_generation' }],
    ['api.openai.com', '/v1/audio/transcriptions', { provider: 'openai', api: 'openai_audio', operation: 'transcription' }],
    ['api.openai.com', '/v1/audio/speech', { provider: 'openai', api: 'openai_audio', operation: 'speech' }],
    ['api.openai.com', '/v1/files', undefined],
    ['api.openai.com', '/v1/messages', undefined],
    ['api.anthropic.com', '/v1/messages?beta=true', { provider: 'anthropic', api: 'anthropic_messages' }],
    ['api.anthropic.com', '/v1/messages/count_tokens', undefined],
    [
      'bedrock-runtime.us-east-1.amazonaws.com',
      '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream',
      { provider: 'aws.bedrock', api: 'bedrock_converse_stream', pathModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0' },
    ],
    ['bedrock-runtime-fips.us-gov-west-1.amazonaws.com', '/model/amazon.nova-pro-v1%3A0/converse', { provider: 'aws.bedrock', api: 'bedrock_converse' }],
    [
      'bedrock-runtime.us-east-1.amazonaws.com',
      '/model/meta.llama3-1-8b-instruct-v1%3A0/invoke',
      { provider: 'aws.bedrock', api: 'bedrock_invoke', operation: 'chat', pathModel: 'meta.llama3-1-8b-instruct-v1:0' },
    ],
    [
      'bedrock-runtime.us-east-1.amazonaws.com',
      '/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/invoke-with-response-stream',
      { provider: 'aws.bedrock', api: 'bedrock_invoke_stream', pathModel: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0' },
    ],
    ['bedrock-runtime.us-east-1.amazonaws.com', '/model/x/embed', undefined],
    [
      'generativelanguage.googleapis.com',
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      { provider: 'gcp.gemini', api: 'gemini_generate_content', operation: 'generate_content', pathModel: 'gemini-2.5-flash' },
    ],
    ['generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:generateContent', { provider: 'gcp.gemini', api: 'gemini_generate_content', pathModel: 'gemini-2.5-flash' }],
    ['generativelanguage.googleapis.com', '/v1beta/models/gemini-2.5-flash:countTokens', { provider: 'gcp.gemini', api: 'gemini_count_tokens', operation: 'count_tokens' }],
    [
      'generativelanguage.googleapis.com',
      '/v1beta/models/gemini-embedding-001:embedContent',
      { provider: 'gcp.gemini', api: 'gemini_embed_content', operation: 'embeddings', pathModel: 'gemini-embedding-001' },
    ],
    ['generativelanguage.googleapis.com', '/v1beta/openai/chat/completions', { provider: 'gcp.gemini', api: 'openai_chat_completions' }],
    ['generativelanguage.googleapis.com', '/v1beta/models', undefined],
    [
      'us-central1-aiplatform.googleapis.com',
      '/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent',
      { provider: 'gcp.vertex_ai', api: 'gemini_generate_content', pathModel: 'gemini-2.5-pro' },
    ],
    ['aiplatform.googleapis.com', '/v1/projects/p1/locations/global/publishers/google/models/gemini-2.5-flash:generateContent', { provider: 'gcp.vertex_ai', api: 'gemini_generate_content' }],
    [
      'us-east5-aiplatform.googleapis.com',
      '/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict',
      { provider: 'gcp.vertex_ai', api: 'anthropic_messages', operation: 'chat', pathModel: 'claude-sonnet-4@20250514' },
    ],
    [
      'europe-west1-aiplatform.googleapis.com',
      '/v1/projects/p1/locations/europe-west1/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict',
      { provider: 'gcp.vertex_ai', api: 'anthropic_messages' },
    ],
    ['us-central1-aiplatform.googleapis.com', '/v1/projects/p1/locations/us-central1/endpoints/openapi/chat/completions', { provider: 'gcp.vertex_ai', api: 'openai_chat_completions' }],
    ['evil-aiplatform.googleapis.com.example.org', '/v1/projects/p/locations/l/publishers/google/models/m:generateContent', undefined],
    ['api.groq.com', '/openai/v1/chat/completions', { provider: 'groq', api: 'openai_chat_completions', confirmByShape: false }],
    ['api.mistral.ai', '/v1/chat/completions', { provider: 'mistral_ai' }],
    ['api.mistral.ai', '/v1/embeddings', { provider: 'mistral_ai', api: 'openai_embeddings' }],
    ['api.together.xyz', '/v1/chat/completions', { provider: 'together_ai' }],
    ['api.fireworks.ai', '/inference/v1/chat/completions', { provider: 'fireworks_ai' }],
    ['openrouter.ai', '/api/v1/chat/completions', { provider: 'openrouter' }],
    ['api.deepseek.com', '/chat/completions', { provider: 'deepseek' }],
    ['api.x.ai', '/v1/chat/completions', { provider: 'x_ai' }],
    ['api.perplexity.ai', '/chat/completions', { provider: 'perplexity' }],
    ['my-res.openai.azure.com', '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21', { provider: 'azure.ai.openai', api: 'openai_chat_completions', pathModel: 'gpt4o-prod' }],
    ['my-res.openai.azure.com', '/openai/v1/responses', { provider: 'azure.ai.openai', api: 'openai_responses' }],
    ['localhost:11434', '/api/chat', { provider: 'ollama', api: 'ollama_chat' }],
    ['10.0.0.5:11434', '/v1/chat/completions', { provider: 'ollama', api: 'openai_chat_completions' }],
    ['gpu-box.internal', '/api/chat', { provider: 'ollama', api: 'ollama_chat' }],
    ['vllm.internal:8000', '/v1/chat/completions', { provider: 'openai_compatible', api: 'openai_chat_completions', confirmByShape: true }],
    ['evil.openai.com.example.org', '/v1/chat/completions', { provider: 'openai_compatible', confirmByShape: true }],
    ['example.com', '/v1/embeddings', undefined],
    ['example.com', '/v1/responses', undefined],
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
    // No entry matches port 9000 under /azure/: only the shape-confirmed fallback is left.
    expect(d.detect('llm-gw.corp:9000', '/azure/openai/deployments/d1/chat/completions')).toMatchObject({ provider: 'openai_compatible', confirmByShape: true });
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
    expect(e).toBeInstanceOf(CaptureError); // one error base: config loading reads its problems
    expect(e.problems).toEqual([
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
