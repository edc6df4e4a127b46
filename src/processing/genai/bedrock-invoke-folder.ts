/**
 * Folds AWS Bedrock InvokeModel (/model/{modelId}/invoke, JSON) and
 * InvokeModelWithResponseStream (/model/{modelId}/invoke-with-response-stream,
 * eventstream). Unlike Converse, the body is the model family's own format:
 *
 *   Anthropic   the Messages API: a message body, or its stream events one per chunk
 *   Meta Llama  {generation, prompt_token_count, generation_token_count, stop_reason}
 *   Amazon Titan text
 *               {inputTextTokenCount, results: [{outputText, tokenCount, completionReason}]};
 *               streamed {outputText, index, inputTextTokenCount, totalOutputTextTokenCount, completionReason}
 *   Mistral     {outputs: [{text, stop_reason}]}
 *
 * Stream frames are events of type `chunk` whose JSON payload is
 * {"bytes": "<base64 of one model-format JSON chunk>"}; exceptions are
 * frames as in ConverseStream. The last chunk of every family also carries
 * "amazon-bedrock-invocationMetrics" {inputTokenCount, outputTokenCount, ...},
 * which Bedrock adds itself: it is the usage for families whose chunks have
 * none, and its arrival ends the stream.
 *
 * The family is read from each chunk's shape rather than from the model id,
 * so inference profiles and ARNs in the path need no parsing: Anthropic
 * chunks have a string `type`, Llama's a `generation`, Titan's `outputText`
 * or `results`, Mistral's `outputs`.
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import { AnthropicMessagesFolder } from './anthropic-messages-folder';
import { headerString } from './aws-eventstream-decoder';
import type { FoldState } from './fold-state';
import { asArray, asCount, asObject, asString, parseJson, type JsonObject } from './json-access';

const INVOCATION_METRICS = 'amazon-bedrock-invocationMetrics';

export class BedrockInvokeFolder implements ApiFolder {
  /** Anthropic chunks are Messages events: that folder knows them. */
  private readonly anthropic: AnthropicMessagesFolder;

  constructor(private readonly state: FoldState) {
    this.anthropic = new AnthropicMessagesFolder(state);
  }

  foldStreamUnit(unit: StreamUnit): void {
    const s = this.state;
    if (unit.kind !== 'eventstream') {
      s.malformedEvents += 1;
      return;
    }
    const m = unit.message;
    const messageType = headerString(m, ':message-type') ?? 'event';
    const payloadText = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('utf8');
    if (messageType !== 'event') {
      s.eventCount += 1;
      if (messageType === 'error') {
        s.setError(headerString(m, ':error-code'), headerString(m, ':error-message'));
      } else {
        const parsed = parseJson(payloadText);
        const payload = parsed.ok ? asObject(parsed.value) : undefined;
        s.setError(headerString(m, ':exception-type'), asString(payload?.['message']) ?? asString(payload?.['Message']));
      }
      return;
    }
    const parsed = parseJson(payloadText);
    const bytes = asString(parsed.ok ? asObject(parsed.value)?.['bytes'] : undefined);
    if (bytes === undefined) {
      s.eventCount += 1;
      s.malformedEvents += 1;
      return;
    }
    const chunkText = Buffer.from(bytes, 'base64').toString('utf8');
    const chunk = parseJson(chunkText);
    const object = chunk.ok ? asObject(chunk.value) : undefined;
    if (object !== undefined && typeof object['type'] === 'string') {
      // Counted by the Anthropic folder, as one event.
      this.anthropic.foldStreamUnit({ kind: 'sse', event: { type: object['type'], data: chunkText, lastEventId: '' } });
    } else {
      s.eventCount += 1;
      if (object === undefined) s.malformedEvents += 1;
      else this.foldNativeChunk(object, true);
    }
    if (object !== undefined) this.foldInvocationMetrics(object);
  }

  foldBody(value: unknown): void {
    const o = asObject(value);
    if (o !== undefined && typeof o['type'] === 'string') {
      this.anthropic.foldBody(value);
      return;
    }
    const body = this.state.takeDocument(value);
    if (body !== undefined) this.foldNativeChunk(body, false);
  }

  /** Llama, Titan and Mistral chunks and bodies. */
  private foldNativeChunk(o: JsonObject, streamed: boolean): void {
    const s = this.state;
    // Llama
    const generation = asString(o['generation']);
    if (generation !== undefined) s.text.append(generation);
    if (o['prompt_token_count'] !== undefined || o['generation_token_count'] !== undefined) {
      // Streamed chunks carry the running output count; the prompt count comes once.
      s.setUsage({ inputTokens: asCount(o['prompt_token_count']), outputTokens: asCount(o['generation_token_count']) });
    }
    this.finish(asString(o['stop_reason']));
    // Titan, streamed
    const outputText = asString(o['outputText']);
    if (outputText !== undefined) s.text.append(outputText);
    if (streamed) {
      s.setUsage({ inputTokens: asCount(o['inputTextTokenCount']), outputTokens: asCount(o['totalOutputTextTokenCount']) });
      this.finish(asString(o['completionReason']));
    }
    // Titan, whole
    const results = asArray(o['results']);
    if (results !== undefined) {
      let output: number | undefined;
      for (const r of results) {
        const result = asObject(r);
        const text = asString(result?.['outputText']);
        if (text !== undefined) s.text.append(text);
        const count = asCount(result?.['tokenCount']);
        if (count !== undefined) output = (output ?? 0) + count;
        this.finish(asString(result?.['completionReason']));
      }
      s.setUsage({ inputTokens: asCount(o['inputTextTokenCount']), outputTokens: output });
    }
    // Mistral
    for (const r of asArray(o['outputs']) ?? []) {
      const out = asObject(r);
      const text = asString(out?.['text']);
      if (text !== undefined) s.text.append(text);
      this.finish(asString(out?.['stop_reason']));
    }
  }

  private finish(reason: string | undefined): void {
    if (reason === undefined || reason === '') return;
    this.state.setFinishReasonAt(0, reason);
  }

  private foldInvocationMetrics(o: JsonObject): void {
    const metrics = asObject(o[INVOCATION_METRICS]);
    if (metrics === undefined) return;
    const s = this.state;
    // The model's own numbers win where it reported any (Anthropic splits cached input out; Bedrock's do not).
    if (!s.usageSeen) s.setUsage({ inputTokens: asCount(metrics['inputTokenCount']), outputTokens: asCount(metrics['outputTokenCount']) });
    s.endMarkerSeen = true;
  }
}
