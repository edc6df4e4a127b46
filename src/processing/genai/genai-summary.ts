/**
 * The folded result of one GenAI exchange: what the row columns are filled
 * from. Meanings follow the OpenTelemetry GenAI semantic conventions
 * (gen_ai.provider.name, gen_ai.operation.name, gen_ai.usage.*, ...);
 * absent values are null, never guessed.
 */

/** The wire format that was folded (which parser/folder ran). */
export type GenAiApi =
  | 'openai_chat_completions'
  | 'openai_responses'
  | 'openai_embeddings'
  | 'openai_moderations'
  | 'openai_images'
  | 'openai_audio'
  | 'anthropic_messages'
  | 'ollama_chat'
  | 'bedrock_converse'
  | 'bedrock_converse_stream'
  | 'bedrock_invoke'
  | 'bedrock_invoke_stream'
  | 'gemini_generate_content'
  | 'gemini_count_tokens'
  | 'gemini_embed_content';

export const GEN_AI_APIS: readonly GenAiApi[] = [
  'openai_chat_completions',
  'openai_responses',
  'openai_embeddings',
  'openai_moderations',
  'openai_images',
  'openai_audio',
  'anthropic_messages',
  'ollama_chat',
  'bedrock_converse',
  'bedrock_converse_stream',
  'bedrock_invoke',
  'bedrock_invoke_stream',
  'gemini_generate_content',
  'gemini_count_tokens',
  'gemini_embed_content',
];

/**
 * Where the usage numbers came from. 'provider': the folded response body
 * carried them; 'envoy': Envoy's own extraction (ai_protocol_manager), the
 * body carried none or never reached us; 'envoy_partial': Envoy extracted
 * part of it (e.g. a cut stream); 'envoy_failed': Envoy tried and found
 * none; 'missing': no usage at all (a stream without include_usage, cut
 * before its usage event, ...).
 */
export type UsageSource = 'provider' | 'envoy' | 'envoy_partial' | 'envoy_failed' | 'missing';

export interface GenAiToolCall {
  /** Provider's call id ("" when the provider gives none, e.g. Ollama). */
  id: string;
  name: string;
  /** The arguments JSON text as sent (fragments concatenated), cut at toolArgsMaxBytes. */
  arguments: string;
  argumentsTruncated: boolean;
}

export interface GenAiSummary {
  /** gen_ai.provider.name: 'openai', 'anthropic', 'aws.bedrock', 'gcp.gemini', 'gcp.vertex_ai', 'groq', ..., 'openai_compatible' for an unknown host speaking OpenAI's format, or a mapped name. */
  provider: string;
  /** Which API's wire format was folded. */
  api: GenAiApi;
  /** gen_ai.operation.name: 'chat', 'generate_content' (Gemini), 'embeddings', and for calls no convention names 'count_tokens', 'moderation', 'image_generation', 'speech', 'transcription'. */
  operation: string;
  /** gen_ai.request.model: from the request body, else from the path (Bedrock model id, Azure deployment). */
  requestModel: string | null;
  /** gen_ai.request.stream: what the request asked for (null when it did not say). */
  requestStream: boolean | null;
  /** gen_ai.response.model. */
  responseModel: string | null;
  /** gen_ai.response.id. */
  responseId: string | null;
  /** The response was a stream (SSE, NDJSON or eventstream), whatever the request asked. */
  streaming: boolean;
  /** HTTP status the fold saw (0 when unknown). */
  statusCode: number;

  /** gen_ai.usage.input_tokens, including cached (read and written) input, as the convention asks. */
  inputTokens: number | null;
  /** gen_ai.usage.output_tokens, including reasoning tokens. */
  outputTokens: number | null;
  /** gen_ai.usage.cache_read.input_tokens. */
  cachedInputTokens: number | null;
  /** gen_ai.usage.cache_creation.input_tokens (Anthropic, Bedrock). */
  cacheCreationInputTokens: number | null;
  /** gen_ai.usage.reasoning.output_tokens (OpenAI). */
  reasoningTokens: number | null;
  usageSource: UsageSource;

  /** gen_ai.response.finish_reasons, provider values as sent ('stop', 'end_turn', 'tool_use', ...). */
  finishReasons: string[];

  /** The model's text output (first choice for multi-choice requests), cut at outputTextMaxBytes on a character boundary. */
  outputText: string;
  outputTextTruncated: boolean;
  /** Bytes of output text produced, including what was cut. */
  outputTextBytes: number;

  toolCalls: GenAiToolCall[];
  /** Tool calls beyond the kept count. */
  toolCallsDropped: number;

  /** Stream units folded: SSE events, NDJSON lines or eventstream messages (1 for a non-streaming body, 0 when none). */
  eventCount: number;
  /** Events / lines / frames larger than maxEventBytes (skipped), or a non-streaming body larger than maxJsonBodyBytes. */
  oversizedEvents: number;
  /** Units that could not be understood: bad JSON, unexpected shapes. */
  malformedEvents: number;
  /** Eventstream frames whose prelude or message CRC did not match. */
  badFrames: number;

  /** error.type: the provider's error type/code, or the HTTP status when it gave none. */
  errorType: string | null;
  errorMessage: string | null;

  /** The stream's own end marker arrived ([DONE], message_stop, response.completed, done:true, messageStop+metadata); null for non-streaming. */
  endMarkerSeen: boolean | null;
  /** The response arrived whole: the caller said so and, for a stream, its end marker was seen. */
  complete: boolean;
}
