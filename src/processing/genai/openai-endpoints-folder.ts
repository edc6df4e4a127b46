/**
 * Folds OpenAI's non-chat endpoints, which the compatible providers copy too:
 *   /embeddings                 {model, data, usage: {prompt_tokens, total_tokens}}
 *   /moderations                {id, model, results} (no usage)
 *   /images/{generations,edits,variations}
 *                               {data, usage?: {input_tokens, output_tokens, input_tokens_details}};
 *                               streamed as SSE image_generation.* / image_edit.* events, usage on *.completed
 *   /audio/{transcriptions,translations}
 *                               {text, usage?: {type: "tokens", input_tokens, output_tokens} | {type: "duration", seconds}};
 *                               streamed as SSE transcript.text.delta {delta}, then transcript.text.done {text, usage}
 *   /audio/speech               audio bytes (not folded), or SSE speech.audio.delta, then speech.audio.done {usage}
 * The transcript is the model's output text; embeddings, images and audio
 * bytes are not kept (the body capture has them when configured). Usage is
 * recorded only where the API reports tokens (a duration is not tokens).
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import type { FoldState } from './fold-state';
import { isOpenAiError } from './openai-chat-folder';
import { asCount, asObject, asString, type JsonObject } from './json-access';

export class OpenAiEndpointsFolder implements ApiFolder {
  constructor(private readonly state: FoldState) {}

  foldStreamUnit(unit: StreamUnit): void {
    const s = this.state;
    const unitObject = s.sseObject(unit);
    if (unitObject === undefined) return;
    const { object: ev, type } = unitObject;
    if (type === 'error' || ev['error'] !== undefined) {
      s.setProviderError(ev);
      return;
    }
    this.foldUsage(asObject(ev['usage']));
    if (type === 'transcript.text.delta') {
      const delta = asString(ev['delta']);
      if (delta !== undefined) s.text.append(delta);
    }
    if (type.endsWith('.done') || type.endsWith('.completed')) s.endMarkerSeen = true;
  }

  foldBody(value: unknown): void {
    const s = this.state;
    const body = s.takeAnswer(value, isOpenAiError);
    if (body === undefined) return;
    s.setResponseId(asString(body['id']));
    s.setResponseModel(asString(body['model']));
    this.foldUsage(asObject(body['usage']));
    const text = asString(body['text']);
    if (text !== undefined) s.text.append(text);
  }

  private foldUsage(u: JsonObject | undefined): void {
    if (u === undefined) return;
    // Embeddings count prompt_tokens; images and audio count input_tokens / output_tokens.
    this.state.setUsage({
      inputTokens: asCount(u['prompt_tokens']) ?? asCount(u['input_tokens']),
      outputTokens: asCount(u['output_tokens']),
      cachedInputTokens: asCount(asObject(u['input_tokens_details'])?.['cached_tokens']),
    });
  }
}
