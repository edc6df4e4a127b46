/**
 * Folds Anthropic Messages (/v1/messages) into the final message.
 *
 * Stream (named SSE events, the JSON `type` repeats the event name):
 *   message_start        message.{id, model, usage.{input_tokens, cache_*_input_tokens, output_tokens}}
 *   content_block_start  index, content_block {type: text | tool_use{id,name} | thinking | ...}
 *   content_block_delta  index, delta {text_delta.text | input_json_delta.partial_json | thinking_delta ...}
 *   content_block_stop   index
 *   message_delta        delta.stop_reason, usage.output_tokens (cumulative; newer versions repeat input/cache counts)
 *   message_stop         the end marker
 *   ping                 keep-alive
 *   error                error {type, message}, e.g. overloaded_error mid-stream
 *
 * Anthropic's input_tokens excludes cached input; the semantic convention's
 * gen_ai.usage.input_tokens includes it, so inputTokens is the sum of
 * input_tokens, cache_read_input_tokens and cache_creation_input_tokens.
 *
 * Output text joins every text block in order; thinking blocks are not output
 * text. Any block whose type ends in "tool_use" (tool_use, server_tool_use,
 * mcp_tool_use) is a tool call.
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import type { FoldState } from './fold-state';
import { asArray, asCount, asIndex, asObject, asString } from './json-access';

interface RawUsage {
  input?: number;
  cacheRead?: number;
  cacheCreation?: number;
}

export class AnthropicMessagesFolder implements ApiFolder {
  /** Latest raw input-side counts; the normalised sum is recomputed whenever one changes. */
  private readonly raw: RawUsage = {};

  constructor(private readonly state: FoldState) {}

  foldStreamUnit(unit: StreamUnit): void {
    const s = this.state;
    const unitObject = s.sseObject(unit);
    if (unitObject === undefined) return;
    const { object: ev, type } = unitObject;
    switch (type) {
      case 'message_start': {
        const m = asObject(ev['message']);
        if (m === undefined) break;
        s.setResponseId(asString(m['id']));
        s.setResponseModel(asString(m['model']));
        this.foldUsage(m['usage']);
        break;
      }
      case 'content_block_start': {
        const index = asIndex(ev['index'], 0);
        const block = asObject(ev['content_block']);
        const blockType = asString(block?.['type']);
        if (block === undefined || blockType === undefined) break;
        if (blockType === 'text') {
          const text = asString(block['text']);
          if (text !== undefined) s.text.append(text);
        } else if (blockType.endsWith('tool_use')) {
          const t = s.toolCall(String(index));
          t?.setId(asString(block['id']));
          t?.setName(asString(block['name']));
          // The start event carries input {} as a placeholder; the JSON arrives in input_json_delta.
        }
        break;
      }
      case 'content_block_delta': {
        const index = asIndex(ev['index'], 0);
        const delta = asObject(ev['delta']);
        const deltaType = asString(delta?.['type']);
        if (delta === undefined) break;
        if (deltaType === 'text_delta') {
          const text = asString(delta['text']);
          if (text !== undefined) s.text.append(text);
        } else if (deltaType === 'input_json_delta' && s.hasToolCall(String(index))) {
          const part = asString(delta['partial_json']);
          if (part !== undefined) s.toolCall(String(index))?.appendArgs(part);
        }
        break;
      }
      case 'message_delta': {
        const delta = asObject(ev['delta']);
        s.setFinishReasonAt(0, asString(delta?.['stop_reason']));
        this.foldUsage(ev['usage']);
        break;
      }
      case 'message_stop':
        s.endMarkerSeen = true;
        break;
      case 'error':
        s.setProviderError(ev);
        break;
      default:
        // ping, content_block_stop and future event types carry nothing we fold.
        break;
    }
  }

  foldBody(value: unknown): void {
    const s = this.state;
    const body = s.takeAnswer(value, (document) => document['type'] === 'error');
    if (body === undefined) return;
    s.setResponseId(asString(body['id']));
    s.setResponseModel(asString(body['model']));
    this.foldUsage(body['usage']);
    s.setFinishReasonAt(0, asString(body['stop_reason']));
    const content = asArray(body['content']) ?? [];
    for (let i = 0; i < content.length; i++) {
      const block = asObject(content[i]);
      const blockType = asString(block?.['type']);
      if (block === undefined || blockType === undefined) continue;
      if (blockType === 'text') {
        const text = asString(block['text']);
        if (text !== undefined) s.text.append(text);
      } else if (blockType.endsWith('tool_use')) {
        const t = s.toolCall(String(i));
        t?.setId(asString(block['id']));
        t?.setName(asString(block['name']));
        if (block['input'] !== undefined) t?.appendArgs(JSON.stringify(block['input']));
      }
    }
  }

  private foldUsage(raw: unknown): void {
    const u = asObject(raw);
    if (u === undefined) return;
    const input = asCount(u['input_tokens']);
    const cacheRead = asCount(u['cache_read_input_tokens']);
    const cacheCreation = asCount(u['cache_creation_input_tokens']);
    if (input !== undefined) this.raw.input = input;
    if (cacheRead !== undefined) this.raw.cacheRead = cacheRead;
    if (cacheCreation !== undefined) this.raw.cacheCreation = cacheCreation;
    const r = this.raw;
    this.state.setUsage({
      inputTokens: r.input !== undefined ? r.input + (r.cacheRead ?? 0) + (r.cacheCreation ?? 0) : undefined,
      outputTokens: asCount(u['output_tokens']),
      cachedInputTokens: cacheRead,
      cacheCreationInputTokens: cacheCreation,
    });
  }
}
