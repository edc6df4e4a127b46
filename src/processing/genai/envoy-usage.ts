/**
 * Token usage that Envoy (1.40+, the ai_protocol_manager HTTP filter)
 * extracted from a model response itself and forwarded to ext_proc as typed
 * metadata (envoy.data.ai.v3.TokenUsage). It lets a row carry usage when the
 * response body never reached the service (response body mode NONE, a
 * content type left out of the capture list), and it is the fallback when the
 * body was folded but carried no usage.
 *
 * Measured with Envoy 1.40.0: its input tokens already include cached input
 * (OpenAI prompt_tokens; Anthropic input + cache read + cache write; Gemini
 * prompt + tool-use prompt) and its output tokens include reasoning, as the
 * usage columns do, so the numbers are taken as they are.
 */
import type { EnvoyUsage, EnvoyUsageStatus } from '../../extproc/wire/token-usage-decoder';
import type { GenAiSummary, UsageSource } from './genai-summary';

export type { EnvoyUsage, EnvoyUsageStatus };

const SOURCE_BY_STATUS: Record<EnvoyUsageStatus, UsageSource> = {
  unspecified: 'envoy',
  complete: 'envoy',
  partial: 'envoy_partial',
  failed: 'envoy_failed',
};

/**
 * The summary with Envoy's usage where the fold found none. Usage the fold
 * read from the body wins: it is the provider's own report, mapped per API.
 */
export function withEnvoyUsage(summary: GenAiSummary, usage: EnvoyUsage | undefined): GenAiSummary {
  if (usage === undefined || summary.usageSource === 'provider') return summary;
  const source = SOURCE_BY_STATUS[usage.status];
  if (usage.status === 'failed') return { ...summary, usageSource: source };
  return {
    ...summary,
    responseModel: summary.responseModel ?? (usage.model !== '' ? usage.model : null),
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cachedInputTokens: usage.cachedInputTokens,
    cacheCreationInputTokens: usage.cacheCreationInputTokens,
    reasoningTokens: usage.reasoningTokens,
    usageSource: source,
  };
}
