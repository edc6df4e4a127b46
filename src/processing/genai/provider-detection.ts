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
import { GenAiConfigError, GenAiErrorCode } from './errors';
import { GEN_AI_APIS, type GenAiApi } from './genai-summary';

export interface ProviderMappingEntry {
  /** Exact authority ("llm.internal:8443") or a glob where * matches any run of characters ("*.openai.azure.com"). Without a port it matches any port. */
  authority: string;
  /** Only paths starting with this (e.g. "/openai/"); any path when absent. */
  pathPrefix?: string;
  /** gen_ai.provider.name to record (e.g. "azure.ai.openai", "aws.bedrock", "openai"). */
  provider: string;
  /** Wire format to fold; when absent it is inferred from the path's ending (/chat/completions, /responses, /messages, /api/chat, /model/{id}/converse[-stream]). */
  api?: GenAiApi;
}

export interface ProviderDetection {
  provider: string;
  api: GenAiApi;
  /** gen_ai.operation.name. */
  operation: string;
  /** A model named by the path: Bedrock's {modelId}, Azure's deployment name. */
  pathModel: string | undefined;
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
const BEDROCK_PATH = /\/model\/([^/]+)\/(converse|converse-stream)$/;
const AZURE_DEPLOYMENT_PATH = /\/openai\/deployments\/([^/]+)\//;
const BEDROCK_HOST = /^bedrock-runtime(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** Built-in hosts whose provider is known; the API still comes from the path. */
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
  ['generativelanguage.googleapis.com', 'gcp.gemini'],
];

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
      // A declared host can serve other APIs too (embeddings, models list); those are not folded.
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
    return api === 'bedrock_converse' || api === 'bedrock_converse_stream' ? detection('aws.bedrock', api, path) : undefined;
  }
  for (const [glob, provider] of KNOWN_HOSTS) {
    if (globMatch(glob, host)) {
      return api === 'openai_chat_completions' || api === 'openai_responses' || (provider === 'anthropic' && api === 'anthropic_messages')
        ? detection(provider, api, path)
        : undefined;
    }
  }
  // Ollama: its default port (native or OpenAI-compatible API), or /api/chat on any host.
  if (port === OLLAMA_PORT && (api === 'ollama_chat' || api === 'openai_chat_completions')) return detection('ollama', api, path);
  if (api === 'ollama_chat') return detection('ollama', api, path);
  return undefined;
}

function detection(provider: string, api: GenAiApi, path: string): ProviderDetection {
  return { provider, api, operation: 'chat', pathModel: pathModel(api, path) };
}

/** The API a path ends in; undefined for anything we do not fold. */
export function inferApi(path: string): GenAiApi | undefined {
  if (path.endsWith('/chat/completions')) return 'openai_chat_completions';
  if (path.endsWith('/responses')) return 'openai_responses';
  if (path.endsWith('/v1/messages')) return 'anthropic_messages';
  if (path.endsWith('/api/chat')) return 'ollama_chat';
  const m = BEDROCK_PATH.exec(path);
  if (m !== null) return m[2] === 'converse' ? 'bedrock_converse' : 'bedrock_converse_stream';
  return undefined;
}

function pathModel(api: GenAiApi, path: string): string | undefined {
  if (api === 'bedrock_converse' || api === 'bedrock_converse_stream') {
    const m = BEDROCK_PATH.exec(path);
    return m?.[1] !== undefined ? safeDecode(m[1]) : undefined;
  }
  const az = AZURE_DEPLOYMENT_PATH.exec(path);
  return az?.[1] !== undefined ? safeDecode(az[1]) : undefined;
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
    throw new GenAiConfigError(GenAiErrorCode.mappingInvalid, [`providerMapping must be a list, got ${describe(mapping)}`]);
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
  if (issues.length > 0) throw new GenAiConfigError(GenAiErrorCode.mappingInvalid, issues);
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
