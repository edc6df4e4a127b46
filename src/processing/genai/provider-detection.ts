/**
 * Decides whether an exchange is a GenAI call we can fold, from the
 * authority and path alone (the request body may not have arrived yet).
 *
 * The authority says who the provider is (gen_ai.provider.name); the path
 * says which wire format to fold (the API). Declared mapping entries are
 * checked first, in order, so a gateway in front of Azure OpenAI, a
 * Bedrock-compatible proxy or a self-hosted server can be named; then the
 * built-in rules for the public endpoints.
 */
import { GenAiConfigError } from './errors';
import { GEN_AI_APIS, type GenAiApi } from './genai-summary';

export interface ProviderMappingEntry {
  /** Exact authority ("llm.internal:8443") or a glob where * matches any run of characters ("*.openai.azure.com"). Without a port it matches any port. */
  authority: string;
  /** Only paths starting with this (e.g. "/openai/"); any path when absent. */
  pathPrefix?: string;
  /** gen_ai.provider.name to record (e.g. "azure.ai.openai", "aws.bedrock", "openai"). */
  provider: string;
  /** Wire format to fold; when absent it is inferred from the path's ending (see inferApi). */
  api?: GenAiApi;
}

export interface ProviderDetection {
  provider: string;
  api: GenAiApi;
  /** gen_ai.operation.name. */
  operation: string;
  /** A model named by the path: Bedrock's {modelId}, Azure's deployment name, Gemini's and Vertex's models/{model}. */
  pathModel: string | undefined;
  /**
   * Recognised by the path alone on a host nobody declared: the exchange is a
   * model call only if the response turns out to have the API's shape.
   */
  confirmByShape: boolean;
}

interface CompiledEntry {
  host: string;
  port: string | undefined;
  pathPrefix: string | undefined;
  provider: string;
  api: GenAiApi | undefined;
}

const PROVIDER_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;
const AUTHORITY_GLOB = /^[a-z0-9*._\-[\]:]{1,255}$/i;
const BEDROCK_PATH = /\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;
const BEDROCK_APIS: Record<string, GenAiApi> = {
  converse: 'bedrock_converse',
  'converse-stream': 'bedrock_converse_stream',
  invoke: 'bedrock_invoke',
  'invoke-with-response-stream': 'bedrock_invoke_stream',
};
const AZURE_DEPLOYMENT_PATH = /\/openai\/deployments\/([^/]+)\//;
/** Gemini API (models/{m}, tunedModels/{m}) and Vertex AI (…/publishers/google/models/{m}, …/endpoints/{e}) methods. */
const GEMINI_PATH = /\/(?:models|tunedModels|endpoints)\/([^/:]+):(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/;
const GEMINI_APIS: Record<string, GenAiApi> = {
  generateContent: 'gemini_generate_content',
  streamGenerateContent: 'gemini_generate_content',
  countTokens: 'gemini_count_tokens',
  embedContent: 'gemini_embed_content',
  batchEmbedContents: 'gemini_embed_content',
};
/** Anthropic models on Vertex AI: the Messages wire format behind rawPredict / streamRawPredict. */
const VERTEX_ANTHROPIC_PATH = /\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/;
const OPENAI_IMAGES_PATH = /\/images\/(generations|edits|variations)$/;
const OPENAI_AUDIO_PATH = /\/audio\/(speech|transcriptions|translations)$/;
const BEDROCK_HOST = /^bedrock-runtime(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
const VERTEX_HOST = /^([a-z0-9-]+-)?aiplatform\.googleapis\.com$/;

/** The wire formats an OpenAI-style API host serves (its own and every compatible provider's). */
const OPENAI_FAMILY: ReadonlySet<GenAiApi> = new Set(GEN_AI_APIS.filter((api) => api.startsWith('openai_')));
const GEMINI_FAMILY: ReadonlySet<GenAiApi> = new Set(GEN_AI_APIS.filter((api) => api.startsWith('gemini_')));

/**
 * Built-in hosts whose provider is known; the API still comes from the path.
 * Names are the GenAI conventions' gen_ai.provider.name values where the
 * conventions list the provider, and the provider's own short name in the
 * same style otherwise (together_ai, fireworks_ai, openrouter, cerebras, deepinfra).
 */
const KNOWN_HOSTS: ReadonlyArray<[glob: string, provider: string]> = [
  ['api.openai.com', 'openai'],
  ['api.anthropic.com', 'anthropic'],
  ['*.openai.azure.com', 'azure.ai.openai'],
  ['*.cognitiveservices.azure.com', 'azure.ai.openai'],
  ['api.groq.com', 'groq'],
  ['api.deepseek.com', 'deepseek'],
  ['api.mistral.ai', 'mistral_ai'],
  ['api.x.ai', 'x_ai'],
  ['api.perplexity.ai', 'perplexity'],
  ['api.cohere.com', 'cohere'],
  ['api.cohere.ai', 'cohere'],
  ['api.together.xyz', 'together_ai'],
  ['api.fireworks.ai', 'fireworks_ai'],
  ['openrouter.ai', 'openrouter'],
  ['api.cerebras.ai', 'cerebras'],
  ['api.deepinfra.com', 'deepinfra'],
  ['generativelanguage.googleapis.com', 'gcp.gemini'],
];

/**
 * gen_ai.provider.name for an OpenAI-shaped chat completion on a host that is
 * neither built in nor declared (a vLLM, LiteLLM or llama.cpp deployment, a
 * new provider). Not "openai": the call did not go to OpenAI, and sums per
 * provider must not say it did. The authority is in the row (and server.address).
 */
export const OPENAI_COMPATIBLE_PROVIDER = 'openai_compatible';

const OLLAMA_PORT = '11434';

export class ProviderDetector {
  private readonly entries: CompiledEntry[];

  /** Throws GenAiConfigError (CAP_ERR_GENAI_MAPPING_INVALID) listing every bad field. */
  constructor(mapping: readonly ProviderMappingEntry[] = []) {
    this.entries = compileMapping(mapping);
  }

  detect(authority: string, rawPath: string): ProviderDetection | undefined {
    const { host, port } = splitAuthority(authority);
    const path = normalisePath(rawPath);
    for (const e of this.entries) {
      if (e.port !== undefined && e.port !== port) continue;
      if (!globMatch(e.host, host)) continue;
      if (e.pathPrefix !== undefined && !path.startsWith(e.pathPrefix)) continue;
      const api = e.api ?? inferApi(path);
      // A declared host can serve other APIs too (models list, files); those are not folded.
      if (api === undefined) continue;
      return detection(e.provider, api, path);
    }
    return detectBuiltIn(host, port, path);
  }
}

function detectBuiltIn(host: string, port: string | undefined, path: string): ProviderDetection | undefined {
  const api = inferApi(path);
  if (api === undefined) return undefined;
  if (BEDROCK_HOST.test(host)) {
    return api.startsWith('bedrock_') || api === 'openai_chat_completions' ? detection('aws.bedrock', api, path) : undefined;
  }
  if (VERTEX_HOST.test(host)) {
    return GEMINI_FAMILY.has(api) || api === 'anthropic_messages' || api === 'openai_chat_completions' ? detection('gcp.vertex_ai', api, path) : undefined;
  }
  for (const [glob, provider] of KNOWN_HOSTS) {
    if (globMatch(glob, host)) {
      const served = OPENAI_FAMILY.has(api) || (provider === 'anthropic' && api === 'anthropic_messages') || (provider === 'gcp.gemini' && GEMINI_FAMILY.has(api));
      return served ? detection(provider, api, path) : undefined;
    }
  }
  // Ollama: its default port (native or OpenAI-compatible API), or /api/chat on any host.
  if (port === OLLAMA_PORT && (api === 'ollama_chat' || api === 'openai_chat_completions')) return detection('ollama', api, path);
  if (api === 'ollama_chat') return detection('ollama', api, path);
  // Anything else ending in /chat/completions may be a self-hosted OpenAI-compatible server; the response decides.
  if (api === 'openai_chat_completions') return { ...detection(OPENAI_COMPATIBLE_PROVIDER, api, path), confirmByShape: true };
  return undefined;
}

function detection(provider: string, api: GenAiApi, path: string): ProviderDetection {
  return { provider, api, operation: operationName(api, path), pathModel: pathModel(path), confirmByShape: false };
}

/** The API a path ends in; undefined for anything we do not fold. */
export function inferApi(path: string): GenAiApi | undefined {
  if (path.endsWith('/chat/completions')) return 'openai_chat_completions';
  if (path.endsWith('/responses')) return 'openai_responses';
  if (path.endsWith('/embeddings')) return 'openai_embeddings';
  if (path.endsWith('/moderations')) return 'openai_moderations';
  if (OPENAI_IMAGES_PATH.test(path)) return 'openai_images';
  if (OPENAI_AUDIO_PATH.test(path)) return 'openai_audio';
  if (path.endsWith('/v1/messages') || VERTEX_ANTHROPIC_PATH.test(path)) return 'anthropic_messages';
  if (path.endsWith('/api/chat')) return 'ollama_chat';
  const b = BEDROCK_PATH.exec(path);
  if (b !== null) return BEDROCK_APIS[b[2]!];
  const g = GEMINI_PATH.exec(path);
  if (g !== null) return GEMINI_APIS[g[2]!];
  return undefined;
}

/** gen_ai.operation.name: the conventions' names where they have one (chat, generate_content, embeddings), a plain name otherwise. */
function operationName(api: GenAiApi, path: string): string {
  switch (api) {
    case 'gemini_generate_content':
      return 'generate_content';
    case 'gemini_embed_content':
    case 'openai_embeddings':
      return 'embeddings';
    case 'gemini_count_tokens':
      return 'count_tokens';
    case 'openai_moderations':
      return 'moderation';
    case 'openai_images':
      return 'image_generation';
    case 'openai_audio': {
      const kind = OPENAI_AUDIO_PATH.exec(path)?.[1];
      return kind === 'speech' ? 'speech' : kind === 'translations' ? 'translation' : 'transcription';
    }
    default:
      return 'chat';
  }
}

function pathModel(path: string): string | undefined {
  const m = BEDROCK_PATH.exec(path) ?? GEMINI_PATH.exec(path) ?? VERTEX_ANTHROPIC_PATH.exec(path) ?? AZURE_DEPLOYMENT_PATH.exec(path);
  return m?.[1] !== undefined ? safeDecode(m[1]) : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Path without query or fragment and without a trailing slash. */
function normalisePath(raw: string): string {
  let end = raw.length;
  const q = raw.indexOf('?');
  if (q !== -1) end = q;
  const h = raw.indexOf('#');
  if (h !== -1 && h < end) end = h;
  let path = raw.slice(0, end);
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path;
}

/** Lower-cased host and the port string (undefined when absent); handles [v6]:port. */
export function splitAuthority(authority: string): { host: string; port: string | undefined } {
  const a = authority.trim().toLowerCase();
  // Strip userinfo if a client put one in the authority.
  const at = a.lastIndexOf('@');
  const hp = at === -1 ? a : a.slice(at + 1);
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close !== -1) {
      const rest = hp.slice(close + 1);
      return { host: hp.slice(0, close + 1), port: rest.startsWith(':') && rest.length > 1 ? rest.slice(1) : undefined };
    }
  }
  const colon = hp.lastIndexOf(':');
  if (colon !== -1 && hp.indexOf(':') === colon) {
    const port = hp.slice(colon + 1);
    return { host: hp.slice(0, colon), port: port === '' ? undefined : port };
  }
  return { host: hp, port: undefined };
}

/**
 * Glob match where * matches any run of characters. Iterative with one
 * backtrack point (the classic wildcard algorithm), so a pattern with many
 * stars stays O(pattern × text) instead of exponential.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function compileMapping(mapping: readonly ProviderMappingEntry[]): CompiledEntry[] {
  const issues: string[] = [];
  const out: CompiledEntry[] = [];
  if (!Array.isArray(mapping)) {
    throw new GenAiConfigError('CAP_ERR_GENAI_MAPPING_INVALID', [`providerMapping must be a list, got ${describe(mapping)}`]);
  }
  mapping.forEach((raw: unknown, i) => {
    const at = `providerMapping[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      issues.push(`${at} must be an object, got ${describe(raw)}`);
      return;
    }
    const e = raw as Record<string, unknown>;
    const before = issues.length;
    for (const key of Object.keys(e)) {
      if (!['authority', 'pathPrefix', 'provider', 'api'].includes(key)) issues.push(`${at}.${key} is not a known field (authority, pathPrefix, provider, api)`);
    }
    const authority = e['authority'];
    if (typeof authority !== 'string' || !AUTHORITY_GLOB.test(authority)) {
      issues.push(`${at}.authority must be a host[:port] or glob of letters, digits, . - _ * : [ ], got ${describe(authority)}`);
    }
    const pathPrefix = e['pathPrefix'];
    if (pathPrefix !== undefined && (typeof pathPrefix !== 'string' || !pathPrefix.startsWith('/') || /[?#\s]/.test(pathPrefix))) {
      issues.push(`${at}.pathPrefix must start with "/" and hold no query, fragment or space, got ${describe(pathPrefix)}`);
    }
    const provider = e['provider'];
    if (typeof provider !== 'string' || !PROVIDER_NAME.test(provider)) {
      issues.push(`${at}.provider must be 1-64 of letters, digits, _ . - (e.g. "azure.ai.openai"), got ${describe(provider)}`);
    }
    const api = e['api'];
    if (api !== undefined && !(GEN_AI_APIS as readonly unknown[]).includes(api)) {
      issues.push(`${at}.api must be one of ${GEN_AI_APIS.join(', ')}, got ${describe(api)}`);
    }
    if (issues.length > before) return;
    const { host, port } = splitAuthority(authority as string);
    out.push({ host, port, pathPrefix: pathPrefix as string | undefined, provider: provider as string, api: api as GenAiApi | undefined });
  });
  if (issues.length > 0) throw new GenAiConfigError('CAP_ERR_GENAI_MAPPING_INVALID', issues);
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
