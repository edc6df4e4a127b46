/**
 * Folds OpenAI Chat Completions (/v1/chat/completions, also Azure OpenAI and
 * the many compatible servers) into the final message.
 *
 * Stream: `data: {chat.completion.chunk}` events, then `data: [DONE]`.
 * Text arrives in choices[i].delta.content; tool calls in
 * choices[i].delta.tool_calls[j] where the first fragment for an index has
 * id and function.name and later ones only function.arguments pieces, merged
 * by (choice, tool index). finish_reason comes on the choice's last chunk.
 * With stream_options.include_usage the last chunk before [DONE] has
 * choices: [] and usage. A mid-stream failure is sent as {"error": {...}}.
 *
 * Compatible providers differ in small ways, handled here: Groq puts a
 * stream's usage in x_groq.usage, Mistral sends usage on the finishing chunk
 * without being asked and may send content as an array of parts.
 *
 * Output text is taken from choice 0 only (n > 1 would interleave answers);
 * tool calls and finish reasons from every choice.
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import type { FoldState } from './fold-state';
import { asArray, asCount, asIndex, asObject, asString, type JsonObject } from './json-access';

/** An OpenAI-style error answer: `{"error": {...}}` (the compatible providers and OpenAI's other endpoints answer the same way). */
export function isOpenAiError(document: JsonObject): boolean {
  return document['error'] !== undefined;
}

export class OpenAiChatFolder implements ApiFolder {
  constructor(private readonly state: FoldState) {}

  foldStreamUnit(unit: StreamUnit): void {
    if (unit.kind !== 'sse') {
      this.state.malformedEvents += 1;
      return;
    }
    const s = this.state;
    s.eventCount += 1;
    const data = unit.event.data;
    if (data.trim() === '[DONE]') {
      s.endMarkerSeen = true;
      return;
    }
    const chunk = s.parseEventObject(data);
    if (chunk === undefined) return;
    if (chunk['error'] !== undefined || unit.event.type === 'error') {
      s.setProviderError(chunk);
      return;
    }
    this.confirmShape(chunk);
    s.setResponseId(asString(chunk['id']));
    s.setResponseModel(asString(chunk['model']));
    this.foldUsage(chunk['usage']);
    // Groq reports a stream's usage in its own x_groq member (the last chunk) unless include_usage asked for the standard one.
    this.foldUsage(asObject(chunk['x_groq'])?.['usage']);
    for (const c of asArray(chunk['choices']) ?? []) {
      const choice = asObject(c);
      if (choice === undefined) continue;
      const index = asIndex(choice['index'], 0);
      const delta = asObject(choice['delta']);
      if (delta !== undefined) {
        if (index === 0) this.foldContent(delta['content']);
        this.foldToolCalls(index, delta['tool_calls'], true);
        // Legacy function_call (pre tool_calls) streams the same way, one call per choice.
        const fc = asObject(delta['function_call']);
        if (fc !== undefined) this.foldFunction(`${index}:fc`, undefined, fc, true);
      }
      s.setFinishReasonAt(index, asString(choice['finish_reason']));
    }
  }

  foldBody(value: unknown): void {
    const s = this.state;
    const body = s.takeAnswer(value, isOpenAiError);
    if (body === undefined) return;
    this.confirmShape(body);
    s.setResponseId(asString(body['id']));
    s.setResponseModel(asString(body['model']));
    this.foldUsage(body['usage']);
    for (const c of asArray(body['choices']) ?? []) {
      const choice = asObject(c);
      if (choice === undefined) continue;
      const index = asIndex(choice['index'], 0);
      const message = asObject(choice['message']);
      if (message !== undefined) {
        if (index === 0) this.foldContent(message['content']);
        this.foldToolCalls(index, message['tool_calls'], false);
        const fc = asObject(message['function_call']);
        if (fc !== undefined) this.foldFunction(`${index}:fc`, undefined, fc, false);
      }
      s.setFinishReasonAt(index, asString(choice['finish_reason']));
    }
  }

  /**
   * Message content: a string, or (Mistral's reasoning models, some
   * compatible servers) an array of parts of which the "text" ones are the
   * answer and "thinking" ones are not.
   */
  private foldContent(raw: unknown): void {
    const text = asString(raw);
    if (text !== undefined) {
      this.state.text.append(text);
      return;
    }
    for (const p of asArray(raw) ?? []) {
      const part = asObject(p);
      if (part?.['type'] !== 'text') continue;
      const partText = asString(part['text']);
      if (partText !== undefined) this.state.text.append(partText);
    }
  }

  /** A choices array or a chat.completion[.chunk] object: this is a chat completion, whoever served it. */
  private confirmShape(o: JsonObject): void {
    const object = asString(o['object']);
    if (Array.isArray(o['choices']) || (object !== undefined && object.startsWith('chat.completion'))) this.state.shapeConfirmed = true;
  }

  private foldToolCalls(choiceIndex: number, raw: unknown, streamed: boolean): void {
    const calls = asArray(raw);
    if (calls === undefined) return;
    for (let j = 0; j < calls.length; j++) {
      const call = asObject(calls[j]);
      if (call === undefined) continue;
      // Streamed fragments are keyed by their `index`; a whole message lists calls in order.
      const toolIndex = streamed ? asIndex(call['index'], j) : j;
      const fn = asObject(call['function']) ?? {};
      this.foldFunction(`${choiceIndex}:${toolIndex}`, asString(call['id']), fn, streamed);
    }
  }

  private foldFunction(key: string, id: string | undefined, fn: JsonObject, streamed: boolean): void {
    const t = this.state.toolCall(key);
    if (t === undefined) return;
    t.setId(id);
    t.setName(asString(fn['name']));
    const args = fn['arguments'];
    if (typeof args === 'string') t.appendArgs(args);
    // Some compatible servers send arguments as an object in non-streamed bodies.
    else if (!streamed && args !== undefined && args !== null) t.appendArgs(JSON.stringify(args));
  }

  private foldUsage(raw: unknown): void {
    const u = asObject(raw);
    if (u === undefined) return;
    this.state.setUsage({
      // prompt_tokens already includes cached tokens, as the convention wants.
      inputTokens: asCount(u['prompt_tokens']),
      outputTokens: asCount(u['completion_tokens']),
      cachedInputTokens: asCount(asObject(u['prompt_tokens_details'])?.['cached_tokens']),
      reasoningTokens: asCount(asObject(u['completion_tokens_details'])?.['reasoning_tokens']),
    });
  }
}
