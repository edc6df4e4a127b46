/**
 * Folds AWS Bedrock Converse (/model/{modelId}/converse, JSON) and
 * ConverseStream (/model/{modelId}/converse-stream, eventstream frames).
 *
 * Stream frames carry `:message-type` = event | exception | error, and for
 * events `:event-type` naming the JSON payload:
 *   messageStart       {role}
 *   contentBlockStart  {contentBlockIndex, start: {toolUse: {toolUseId, name}}}
 *   contentBlockDelta  {contentBlockIndex, delta: {text} | {toolUse: {input}} | {reasoningContent}}
 *   contentBlockStop   {contentBlockIndex}
 *   messageStop        {stopReason}
 *   metadata           {usage: {inputTokens, outputTokens, totalTokens, cacheReadInputTokens, cacheWriteInputTokens}, metrics}
 * Exceptions name their kind in `:exception-type` (throttlingException,
 * modelStreamErrorException, ...) with {"message"} as payload.
 *
 * Bedrock's inputTokens excludes cache reads and writes (totalTokens adds
 * them); the convention's input_tokens includes them, so they are summed.
 * The stream is complete when both messageStop and metadata arrived: usage
 * comes after the stop reason.
 *
 * Bedrock returns no model or response id in the body; the model comes from
 * the path (requestModel) and the request id from a header the caller has.
 */
import type { ApiFolder, StreamUnit } from './api-folder';
import { headerString } from './aws-eventstream-decoder';
import type { FoldState } from './fold-state';
import { asArray, asCount, asIndex, asObject, asString, parseJson, type JsonObject } from './json-access';

export class BedrockConverseFolder implements ApiFolder {
  private sawStop = false;
  private sawMetadata = false;

  constructor(private readonly state: FoldState) {}

  foldStreamUnit(unit: StreamUnit): void {
    const s = this.state;
    if (unit.kind !== 'eventstream') {
      s.malformedEvents += 1;
      return;
    }
    s.eventCount += 1;
    const m = unit.message;
    const messageType = headerString(m, ':message-type') ?? 'event';
    if (messageType === 'error') {
      s.setError(headerString(m, ':error-code'), headerString(m, ':error-message'));
      return;
    }
    const parsed = parseJson(Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('utf8'));
    const payload = parsed.ok ? asObject(parsed.value) : undefined;
    if (messageType === 'exception') {
      s.setError(headerString(m, ':exception-type'), asString(payload?.['message']) ?? asString(payload?.['Message']));
      return;
    }
    if (payload === undefined) {
      s.malformedEvents += 1;
      return;
    }
    switch (headerString(m, ':event-type')) {
      case 'contentBlockStart': {
        const toolUse = asObject(asObject(payload['start'])?.['toolUse']);
        if (toolUse !== undefined) {
          const t = s.toolCall(String(asIndex(payload['contentBlockIndex'], 0)));
          t?.setId(asString(toolUse['toolUseId']));
          t?.setName(asString(toolUse['name']));
        }
        break;
      }
      case 'contentBlockDelta': {
        const delta = asObject(payload['delta']);
        if (delta === undefined) break;
        const text = asString(delta['text']);
        if (text !== undefined) s.text.append(text);
        const input = asString(asObject(delta['toolUse'])?.['input']);
        const key = String(asIndex(payload['contentBlockIndex'], 0));
        if (input !== undefined && s.hasToolCall(key)) s.toolCall(key)?.appendArgs(input);
        break;
      }
      case 'messageStop':
        this.sawStop = true;
        s.setFinishReasonAt(0, asString(payload['stopReason']));
        break;
      case 'metadata':
        this.sawMetadata = true;
        this.foldUsage(asObject(payload['usage']));
        break;
      default:
        // messageStart, contentBlockStop: nothing to fold.
        break;
    }
    s.endMarkerSeen = this.sawStop && this.sawMetadata;
  }

  foldBody(value: unknown): void {
    const s = this.state;
    const body = s.takeDocument(value);
    if (body === undefined) return;
    s.setFinishReasonAt(0, asString(body['stopReason']));
    this.foldUsage(asObject(body['usage']));
    const content = asArray(asObject(asObject(body['output'])?.['message'])?.['content']) ?? [];
    for (let i = 0; i < content.length; i++) {
      const block = asObject(content[i]);
      if (block === undefined) continue;
      const text = asString(block['text']);
      if (text !== undefined) s.text.append(text);
      const toolUse = asObject(block['toolUse']);
      if (toolUse !== undefined) {
        const t = s.toolCall(String(i));
        t?.setId(asString(toolUse['toolUseId']));
        t?.setName(asString(toolUse['name']));
        if (toolUse['input'] !== undefined) t?.appendArgs(JSON.stringify(toolUse['input']));
      }
    }
  }

  private foldUsage(u: JsonObject | undefined): void {
    if (u === undefined) return;
    const input = asCount(u['inputTokens']);
    const cacheRead = asCount(u['cacheReadInputTokens']);
    const cacheWrite = asCount(u['cacheWriteInputTokens']);
    this.state.setUsage({
      inputTokens: input !== undefined ? input + (cacheRead ?? 0) + (cacheWrite ?? 0) : undefined,
      outputTokens: asCount(u['outputTokens']),
      cachedInputTokens: cacheRead,
      cacheCreationInputTokens: cacheWrite,
    });
  }
}
