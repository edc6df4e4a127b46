/**
 * Reads envoy.data.ai.v3.TokenUsage, the typed metadata Envoy 1.40's
 * ai_protocol_manager filter writes (response_handling.token_usage) and
 * ext_proc forwards when its namespace is in
 * metadata_options.forwarding_namespaces.typed. Field numbers are those of
 * Envoy's envoy/data/ai/v3/token_usage.proto:
 *   1 llm_protocol (enum)  2 model  3 input_tokens  4 output_tokens  5 total_tokens
 *   6 input_token_details {1 cached_tokens, 2 cache_creation_tokens, 3 tool_use_tokens}
 *   7 output_token_details {1 reasoning_tokens}  8 provider_total_tokens
 *   9 extraction_status (enum: 0 unspecified, 1 complete, 2 partial, 3 failed)
 * The counts are google.protobuf.UInt64Value wrappers: absent means not reported.
 */
import { MalformedMessage, Reader, skipField, WireType } from './processing-request-decoder';

/** envoy.data.ai.v3.TokenUsage.ExtractionStatus. */
export type EnvoyUsageStatus = 'unspecified' | 'complete' | 'partial' | 'failed';

/** What one TokenUsage message says; processing/genai/envoy-usage.ts folds it into a row's usage. */
export interface EnvoyUsage {
  /** envoy.type.ai.v3.LLMProtocol as a GenAiApi-style name ('openai_chat_completions', 'anthropic_messages', ...), '' when unspecified. */
  protocol: string;
  model: string;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cachedInputTokens: number | null;
  cacheCreationInputTokens: number | null;
  toolUseInputTokens: number | null;
  reasoningTokens: number | null;
  status: EnvoyUsageStatus;
}

export const TOKEN_USAGE_TYPE_URL = 'type.googleapis.com/envoy.data.ai.v3.TokenUsage';

/** envoy.type.ai.v3.LLMProtocol values, named like the GenAiApi they correspond to. */
const PROTOCOLS: readonly string[] = ['', 'openai_chat_completions', 'openai_responses', 'anthropic_messages', 'gemini_generate_content'];
const STATUSES: readonly EnvoyUsageStatus[] = ['unspecified', 'complete', 'partial', 'failed'];

const VARINT_1 = (1 << 3) | WireType.Varint;

/** The usage in a TokenUsage message; undefined when the bytes are not one. */
export function decodeTokenUsage(bytes: Buffer): EnvoyUsage | undefined {
  const usage: EnvoyUsage = {
    protocol: '',
    model: '',
    inputTokens: null,
    outputTokens: null,
    totalTokens: null,
    cachedInputTokens: null,
    cacheCreationInputTokens: null,
    toolUseInputTokens: null,
    reasoningTokens: null,
    status: 'unspecified',
  };
  try {
    const reader = new Reader(bytes, 0, bytes.length);
    while (reader.pos < reader.end) {
      const tag = reader.varint();
      const field = tag >>> 3;
      const delimited = (tag & 7) === WireType.LengthDelimited;
      if (field === 1 && (tag & 7) === WireType.Varint) {
        const n = reader.int32();
        usage.protocol = PROTOCOLS[n] ?? `llm_protocol_${n}`;
      } else if (field === 2 && delimited) usage.model = reader.string();
      else if (field === 3 && delimited) usage.inputTokens = wrappedCount(reader.sub());
      else if (field === 4 && delimited) usage.outputTokens = wrappedCount(reader.sub());
      else if (field === 5 && delimited) usage.totalTokens = wrappedCount(reader.sub());
      else if (field === 6 && delimited) {
        const details = reader.sub();
        while (details.pos < details.end) {
          const t = details.varint();
          if (t === ((1 << 3) | WireType.LengthDelimited)) usage.cachedInputTokens = wrappedCount(details.sub());
          else if (t === ((2 << 3) | WireType.LengthDelimited)) usage.cacheCreationInputTokens = wrappedCount(details.sub());
          else if (t === ((3 << 3) | WireType.LengthDelimited)) usage.toolUseInputTokens = wrappedCount(details.sub());
          else skipField(details, t);
        }
      } else if (field === 7 && delimited) {
        const details = reader.sub();
        while (details.pos < details.end) {
          const t = details.varint();
          if (t === ((1 << 3) | WireType.LengthDelimited)) usage.reasoningTokens = wrappedCount(details.sub());
          else skipField(details, t);
        }
      } else if (field === 9 && (tag & 7) === WireType.Varint) {
        usage.status = STATUSES[reader.int32()] ?? 'unspecified';
      } else skipField(reader, tag);
    }
  } catch (err) {
    if (err instanceof MalformedMessage) return undefined;
    throw err;
  }
  return usage;
}

/** google.protobuf.UInt64Value: value (1); present but empty means 0. */
function wrappedCount(reader: Reader): number {
  let value = 0;
  while (reader.pos < reader.end) {
    const tag = reader.varint();
    if (tag === VARINT_1) value = reader.varint();
    else skipField(reader, tag);
  }
  return value;
}
