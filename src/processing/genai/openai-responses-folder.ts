/**
 * Folds the OpenAI Responses API (/v1/responses).
 *
 * Stream: named SSE events whose JSON `type` repeats the name:
 *   response.created / response.in_progress   response {id, model, status}
 *   response.output_item.added                output_index, item {type: message | function_call{id, call_id, name} | reasoning ...}
 *   response.output_text.delta                item_id, output_index, delta
 *   response.function_call_arguments.delta    item_id, output_index, delta
 *   response.function_call_arguments.done     arguments (the whole value, restated)
 *   response.completed / response.incomplete  response {status, incomplete_details, usage, output}
 *   response.failed                           response.error {code, message}
 *   error                                     {code, message, param}
 * Usage: input_tokens (includes cached), output_tokens (includes reasoning),
 * input_tokens_details.cached_tokens, output_tokens_details.reasoning_tokens.
 *
 * Finish reasons: the Responses API has no finish_reason; we record the
 * final status ('completed', 'failed') or, for 'incomplete', its reason
 * (e.g. 'max_output_tokens').
 *
 * Non-streaming: the same response object as response.completed carries.
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import type { FoldState } from './fold-state';
import { asArray, asCount, asIndex, asObject, asString, type JsonObject } from './json-access';

export class OpenAiResponsesFolder implements ApiFolder {
  /** Deltas were folded; a final response object then only adds what deltas cannot carry. */
  private sawTextDelta = false;

  constructor(private readonly state: FoldState) {}

  foldStreamUnit(unit: StreamUnit): void {
    const s = this.state;
    const unitObject = s.sseObject(unit);
    if (unitObject === undefined) return;
    const { object: ev, type } = unitObject;
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
        this.foldResponseHeader(asObject(ev['response']));
        break;
      case 'response.output_item.added':
      case 'response.output_item.done': {
        const item = asObject(ev['item']);
        if (item?.['type'] === 'function_call') {
          const key = this.toolKey(ev, item);
          const t = s.toolCall(key);
          t?.setId(asString(item['call_id']) ?? asString(item['id']));
          t?.setName(asString(item['name']));
        }
        break;
      }
      case 'response.output_text.delta': {
        const delta = asString(ev['delta']);
        if (delta !== undefined) {
          this.sawTextDelta = true;
          s.text.append(delta);
        }
        break;
      }
      case 'response.function_call_arguments.delta': {
        const delta = asString(ev['delta']);
        if (delta !== undefined) s.toolCall(this.toolKey(ev, undefined))?.appendArgs(delta);
        break;
      }
      case 'response.function_call_arguments.done': {
        // The whole value restated: trust it over the fragments (one might have been an oversized event).
        const args = asString(ev['arguments']);
        const key = this.toolKey(ev, undefined);
        if (args !== undefined && s.hasToolCall(key)) {
          s.resetToolArgs(key);
          s.toolCall(key)?.appendArgs(args);
        }
        break;
      }
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        s.endMarkerSeen = true;
        this.foldFinal(asObject(ev['response']));
        break;
      case 'error':
        s.setProviderError(ev);
        break;
      default:
        break;
    }
  }

  foldBody(value: unknown): void {
    const s = this.state;
    const body = s.takeDocument(value);
    if (body === undefined) return;
    this.foldFinal(body);
  }

  /** Tool calls are keyed by output_index (present on every related event); item_id as a fallback. */
  private toolKey(ev: JsonObject, item: JsonObject | undefined): string {
    const idx = ev['output_index'];
    if (typeof idx === 'number') return `o${asIndex(idx, 0)}`;
    return `i${asString(ev['item_id']) ?? asString(item?.['id']) ?? ''}`;
  }

  private foldResponseHeader(r: JsonObject | undefined): void {
    if (r === undefined) return;
    this.state.setResponseId(asString(r['id']));
    this.state.setResponseModel(asString(r['model']));
  }

  private foldFinal(r: JsonObject | undefined): void {
    const s = this.state;
    if (r === undefined) return;
    this.foldResponseHeader(r);
    const status = asString(r['status']);
    if (status === 'incomplete') {
      s.setFinishReasonAt(0, asString(asObject(r['incomplete_details'])?.['reason']) ?? 'incomplete');
    } else {
      s.setFinishReasonAt(0, status);
    }
    const error = asObject(r['error']);
    if (error !== undefined) s.setError(asString(error['code']) ?? asString(error['type']), asString(error['message']));
    const u = asObject(r['usage']);
    if (u !== undefined) {
      s.setUsage({
        inputTokens: asCount(u['input_tokens']),
        outputTokens: asCount(u['output_tokens']),
        cachedInputTokens: asCount(asObject(u['input_tokens_details'])?.['cached_tokens']),
        reasoningTokens: asCount(asObject(u['output_tokens_details'])?.['reasoning_tokens']),
      });
    }
    // Output: from the final object only when no deltas built it (non-streaming, or deltas lost).
    const output = asArray(r['output']) ?? [];
    for (let i = 0; i < output.length; i++) {
      const item = asObject(output[i]);
      if (item === undefined) continue;
      if (item['type'] === 'message' && !this.sawTextDelta) {
        for (const part of asArray(item['content']) ?? []) {
          const p = asObject(part);
          if (p?.['type'] === 'output_text') {
            const text = asString(p['text']);
            if (text !== undefined) s.text.append(text);
          }
        }
      } else if (item['type'] === 'function_call') {
        const key = `o${i}`;
        const known = s.hasToolCall(key);
        const t = s.toolCall(key);
        t?.setId(asString(item['call_id']) ?? asString(item['id']));
        t?.setName(asString(item['name']));
        const args = asString(item['arguments']);
        if (args !== undefined) {
          if (known) s.resetToolArgs(key);
          s.toolCall(key)?.appendArgs(args);
        }
      }
    }
    if (!this.sawTextDelta) this.sawTextDelta = !s.text.isEmpty;
  }
}
