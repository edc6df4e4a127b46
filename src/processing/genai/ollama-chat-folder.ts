/**
 * Folds Ollama /api/chat. Streaming is Ollama's default: NDJSON lines
 *   {"model", "created_at", "message": {"role", "content", "tool_calls"?}, "done": false}
 * then a last line with "done": true, "done_reason", "prompt_eval_count"
 * (input tokens) and "eval_count" (output tokens). With "stream": false the
 * same final object comes as one JSON body with the whole message. Errors
 * are {"error": "text"}, as a body or as a line mid-stream. Tool calls come
 * whole (arguments as an object), not in fragments; Ollama sends no response id.
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import type { FoldState } from './fold-state';
import { asArray, asCount, asObject, asString, type JsonObject } from './json-access';

export class OllamaChatFolder implements ApiFolder {
  private toolSeq = 0;

  constructor(private readonly state: FoldState) {}

  foldStreamUnit(unit: StreamUnit): void {
    if (unit.kind !== 'json') {
      this.state.malformedEvents += 1;
      return;
    }
    this.foldObject(unit.value);
  }

  foldBody(value: unknown): void {
    this.foldObject(value);
  }

  private foldObject(value: unknown): void {
    const s = this.state;
    const o = s.takeDocument(value);
    if (o === undefined) return;
    const error = asString(o['error']);
    if (error !== undefined) {
      s.setError('error', error);
      return;
    }
    s.setResponseModel(asString(o['model']));
    const message = asObject(o['message']);
    if (message !== undefined) {
      const content = asString(message['content']);
      if (content !== undefined) s.text.append(content);
      for (const raw of asArray(message['tool_calls']) ?? []) this.foldToolCall(asObject(raw));
    }
    if (o['done'] === true) {
      s.endMarkerSeen = true;
      s.setFinishReasonAt(0, asString(o['done_reason']));
      s.setUsage({ inputTokens: asCount(o['prompt_eval_count']), outputTokens: asCount(o['eval_count']) });
    }
  }

  private foldToolCall(call: JsonObject | undefined): void {
    if (call === undefined) return;
    const fn = asObject(call['function']) ?? {};
    const t = this.state.toolCall(String(this.toolSeq++));
    if (t === undefined) return;
    t.setId(asString(call['id']));
    t.setName(asString(fn['name']));
    const args = fn['arguments'];
    if (typeof args === 'string') t.appendArgs(args);
    else if (args !== undefined) t.appendArgs(JSON.stringify(args));
  }
}
