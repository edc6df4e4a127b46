/**
 * Folds Google's Gemini API (generativelanguage.googleapis.com) and Vertex AI
 * (the same methods under projects/{p}/locations/{l}/publishers/google/models/{m}):
 * generateContent, streamGenerateContent, countTokens and embedContent.
 *
 * generateContent answers one GenerateContentResponse:
 *   candidates[i].content.parts[]  {text} | {text, thought: true} | {functionCall: {id?, name, args}} | ...
 *   candidates[i].finishReason     STOP, MAX_TOKENS, SAFETY, RECITATION, ...
 *   promptFeedback.blockReason     set when the prompt itself was refused (no candidates then)
 *   usageMetadata                  promptTokenCount, candidatesTokenCount, cachedContentTokenCount,
 *                                  thoughtsTokenCount, toolUsePromptTokenCount, totalTokenCount
 *   modelVersion, responseId
 * streamGenerateContent sends a sequence of the same objects, each holding
 * only the new parts: as SSE `data:` events with ?alt=sse, otherwise as one
 * JSON array whose elements arrive over time (the exchange folder hands each
 * element over as it completes). Usage is cumulative and the last chunk
 * carries the final numbers and the finish reason. The stream has no end
 * marker of its own, so a finish reason (or a blocked prompt) is its end.
 * Function calls arrive whole in one part, with args as an object.
 *
 * Usage mapped to the convention: promptTokenCount already includes cached
 * content, toolUsePromptTokenCount (the tool results fed back to the model)
 * is input too, so input = prompt + tool-use prompt; candidatesTokenCount
 * excludes thinking, so output = candidates + thoughts, and reasoning =
 * thoughts.
 *
 * countTokens ({totalTokens, cachedContentTokenCount}) and embedContent
 * ({embedding: {values}}, Vertex adds usageMetadata) consume no generation:
 * countTokens' number is a prediction, not usage, so it is not put in the
 * usage columns (a sum over them would count it as spent); embedContent's
 * usage is, when the API reports it.
 *
 * A refused prompt and a candidate stopped for a safety or policy reason are
 * recorded as provider errors (error.type = the reason), besides the finish
 * reason: the caller got no answer, and an operator looks for those.
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import type { FoldState } from './fold-state';
import { asArray, asCount, asIndex, asObject, asString, type JsonObject } from './json-access';

/** Finish reasons meaning the answer was withheld by a safety or policy filter. */
const BLOCKING_FINISH_REASONS: ReadonlySet<string> = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
  'MODEL_ARMOR',
]);

export type GeminiMethod = 'generate' | 'count_tokens' | 'embed';

export class GeminiFolder implements ApiFolder {
  private toolSeq = 0;

  constructor(
    private readonly state: FoldState,
    private readonly method: GeminiMethod,
  ) {}

  foldStreamUnit(unit: StreamUnit): void {
    const s = this.state;
    if (unit.kind === 'sse') {
      s.eventCount += 1;
      const chunk = s.parseEventObject(unit.event.data);
      if (chunk !== undefined) this.foldResponse(chunk);
    } else if (unit.kind === 'json') {
      const chunk = s.takeDocument(unit.value);
      if (chunk !== undefined) this.foldResponse(chunk);
    } else {
      s.malformedEvents += 1;
    }
  }

  foldBody(value: unknown): void {
    const body = this.state.takeDocument(value);
    if (body === undefined) return;
    if (this.method === 'count_tokens') {
      // A prediction of the prompt's size, not tokens spent: kept out of the usage columns on purpose.
      if (body['error'] !== undefined) this.state.setProviderError(body);
      return;
    }
    this.foldResponse(body);
  }

  private foldResponse(r: JsonObject): void {
    const s = this.state;
    if (r['error'] !== undefined) {
      s.setProviderError(r);
      return;
    }
    s.setResponseId(asString(r['responseId']));
    s.setResponseModel(asString(r['modelVersion']));
    this.foldUsage(asObject(r['usageMetadata']));
    const feedback = asObject(r['promptFeedback']);
    const blockReason = asString(feedback?.['blockReason']);
    if (blockReason !== undefined) {
      s.setError(blockReason, asString(feedback?.['blockReasonMessage']) ?? `prompt blocked (${blockReason})`);
      s.endMarkerSeen = true;
    }
    for (const c of asArray(r['candidates']) ?? []) {
      const candidate = asObject(c);
      if (candidate === undefined) continue;
      const index = asIndex(candidate['index'], 0);
      for (const p of asArray(asObject(candidate['content'])?.['parts']) ?? []) {
        const part = asObject(p);
        if (part === undefined) continue;
        const text = asString(part['text']);
        // Thought summaries are the model's reasoning, not its answer.
        if (text !== undefined && part['thought'] !== true && index === 0) s.text.append(text);
        const call = asObject(part['functionCall']);
        if (call !== undefined) {
          // Calls arrive whole, never in fragments: each part is a new call.
          const t = s.toolCall(String(this.toolSeq++));
          t?.setId(asString(call['id']));
          t?.setName(asString(call['name']));
          if (call['args'] !== undefined) t?.appendArgs(JSON.stringify(call['args']));
        }
      }
      const finish = asString(candidate['finishReason']);
      if (finish !== undefined && finish !== 'FINISH_REASON_UNSPECIFIED') {
        s.setFinishReasonAt(index, finish);
        s.endMarkerSeen = true;
        if (BLOCKING_FINISH_REASONS.has(finish)) s.setError(finish, asString(candidate['finishMessage']) ?? `response blocked (${finish})`);
      }
    }
    // embedContent: the values are not kept; there is nothing else to mark its end.
    if (this.method === 'embed') s.endMarkerSeen = true;
  }

  private foldUsage(u: JsonObject | undefined): void {
    if (u === undefined) return;
    const prompt = asCount(u['promptTokenCount']);
    const toolUse = asCount(u['toolUsePromptTokenCount']);
    const candidates = asCount(u['candidatesTokenCount']);
    const thoughts = asCount(u['thoughtsTokenCount']);
    this.state.setUsage({
      inputTokens: prompt !== undefined ? prompt + (toolUse ?? 0) : undefined,
      // A chunk before the first answer token may carry only the prompt count.
      outputTokens: candidates !== undefined || thoughts !== undefined ? (candidates ?? 0) + (thoughts ?? 0) : undefined,
      cachedInputTokens: asCount(u['cachedContentTokenCount']),
      reasoningTokens: thoughts,
    });
  }
}
