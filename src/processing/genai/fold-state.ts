/**
 * The mutable state every API folder writes into, and the only place that
 * grows with the stream: text and tool arguments are CappedText, tool calls
 * and finish reasons have a count cap, short fields a byte cap. Folders only
 * decide *what* a provider event means; this decides how much is kept.
 */
import { CappedText, utf8Prefix } from './capped-text';
import { DEFAULT_MAX_TOOL_CALLS, MAX_DROPPED_TOOL_CALL_KEYS, ERROR_MESSAGE_MAX_BYTES, MAX_FINISH_REASONS, SHORT_FIELD_MAX_BYTES, TOOL_CALL_ID_MAX_BYTES, TOOL_CALL_NAME_MAX_BYTES } from './defaults';
import type { GenAiToolCall } from './genai-summary';
import type { StreamUnit } from './api-folder';
import { asObject, asString, parseJson, type JsonObject } from './json-access';
import { readProviderError } from './provider-errors';

export interface FoldLimits {
  outputTextMaxBytes: number;
  toolArgsMaxBytes: number;
  maxToolCalls?: number;
}

interface ToolCallState {
  id: string;
  name: string;
  args: CappedText;
}

export interface UsageNumbers {
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  cacheCreationInputTokens: number | null;
  reasoningTokens: number | null;
}

export class FoldState {
  readonly text: CappedText;
  responseId: string | null = null;
  responseModel: string | null = null;
  readonly usage: UsageNumbers = {
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    cacheCreationInputTokens: null,
    reasoningTokens: null,
  };
  usageSeen = false;
  readonly finishReasons: string[] = [];
  errorType: string | null = null;
  errorMessage: string | null = null;
  eventCount = 0;
  malformedEvents = 0;
  endMarkerSeen = false;
  toolCallsDropped = 0;
  /** A unit had the API's own shape (e.g. a chat completion's choices): confirms a path-only detection. */
  shapeConfirmed = false;

  private readonly toolArgsMaxBytes: number;
  private readonly maxToolCalls: number;
  private readonly tools = new Map<string, ToolCallState>();

  /**
   * A whole JSON document (a non-streaming body, an NDJSON line): counted as
   * one event when it is an object, as malformed otherwise.
   */
  takeDocument(value: unknown): JsonObject | undefined {
    const document = asObject(value);
    if (document === undefined) {
      this.malformedEvents += 1;
      return undefined;
    }
    this.eventCount += 1;
    return document;
  }

  /**
   * A whole answer document (takeDocument), unless it is the provider's error
   * (as `isError` recognises it): that is recorded as the provider error, and
   * undefined returned, so the folder folds only answers.
   */
  takeAnswer(value: unknown, isError: (document: JsonObject) => boolean): JsonObject | undefined {
    const document = this.takeDocument(value);
    if (document === undefined || !isError(document)) return document;
    this.setProviderError(document);
    return undefined;
  }

  /** The JSON object in a stream event's data (the event itself is already counted); malformed when it is not one. */
  parseEventObject(data: string): JsonObject | undefined {
    const parsed = parseJson(data);
    const object = parsed.ok ? asObject(parsed.value) : undefined;
    if (object === undefined) this.malformedEvents += 1;
    return object;
  }

  /**
   * An SSE stream unit's JSON object and its type (the JSON `type`, which is
   * authoritative since some proxies drop `event:` lines, else the event
   * name), counted as one event; undefined, counted as malformed, when the
   * unit is not an SSE event or its data not an object.
   */
  sseObject(unit: StreamUnit): { object: JsonObject; type: string } | undefined {
    if (unit.kind !== 'sse') {
      this.malformedEvents += 1;
      return undefined;
    }
    this.eventCount += 1;
    const object = this.parseEventObject(unit.event.data);
    if (object === undefined) return undefined;
    return { object, type: asString(object['type']) ?? unit.event.type };
  }

  constructor(limits: FoldLimits) {
    this.text = new CappedText(limits.outputTextMaxBytes);
    this.toolArgsMaxBytes = limits.toolArgsMaxBytes;
    this.maxToolCalls = limits.maxToolCalls ?? DEFAULT_MAX_TOOL_CALLS;
  }

  setResponseId(v: string | undefined): void {
    if (v !== undefined && v !== '') this.responseId = utf8Prefix(v, SHORT_FIELD_MAX_BYTES);
  }

  /** Empty strings are ignored: Azure's first chunk carries model "" before the real one. */
  setResponseModel(v: string | undefined): void {
    if (v !== undefined && v !== '') this.responseModel = utf8Prefix(v, SHORT_FIELD_MAX_BYTES);
  }

  /** Each provided number replaces the previous one: providers send cumulative usage, last one wins. */
  setUsage(u: Partial<UsageNumbers>): void {
    for (const key of Object.keys(u) as (keyof UsageNumbers)[]) {
      const v = u[key];
      if (v !== undefined && v !== null) {
        this.usage[key] = v;
        this.usageSeen = true;
      }
    }
  }

  addFinishReason(v: string | undefined): void {
    if (v === undefined || v === '' || this.finishReasons.length >= MAX_FINISH_REASONS) return;
    this.finishReasons.push(utf8Prefix(v, SHORT_FIELD_MAX_BYTES));
  }

  /** Sets finish reason slot i (one per choice / output), so a restated reason does not duplicate. */
  setFinishReasonAt(i: number, v: string | undefined): void {
    if (v === undefined || v === '' || i >= MAX_FINISH_REASONS) return;
    while (this.finishReasons.length < i) this.finishReasons.push('');
    this.finishReasons[i] = utf8Prefix(v, SHORT_FIELD_MAX_BYTES);
  }

  /** First error wins: later events are usually consequences of it. */
  setError(type: string | undefined, message: string | undefined): void {
    if (this.errorType !== null || this.errorMessage !== null) return;
    this.errorType = utf8Prefix(type && type !== '' ? type : 'error', SHORT_FIELD_MAX_BYTES);
    this.errorMessage = message !== undefined ? utf8Prefix(message, ERROR_MESSAGE_MAX_BYTES) : null;
  }

  /** The error a provider document carries (an error event, an error body), in any of the providers' shapes. */
  setProviderError(value: unknown): void {
    const e = readProviderError(value);
    this.setError(e?.type, e?.message);
  }

  /**
   * The tool call for key (provider index / block index / item id), created
   * on first sight. Returns undefined once the count cap is reached, and
   * counts each distinct dropped key once.
   */
  toolCall(key: string): { setId(v: string | undefined): void; setName(v: string | undefined): void; appendArgs(v: string): void } | undefined {
    let t = this.tools.get(key);
    if (t === undefined) {
      if (this.tools.size >= this.maxToolCalls) {
        if (!this.droppedKeys.has(key) && this.droppedKeys.size < MAX_DROPPED_TOOL_CALL_KEYS) this.droppedKeys.add(key);
        this.toolCallsDropped = this.droppedKeys.size;
        return undefined;
      }
      t = { id: '', name: '', args: new CappedText(this.toolArgsMaxBytes) };
      this.tools.set(key, t);
    }
    const state = t;
    return {
      setId: (v) => {
        if (v !== undefined && v !== '' && state.id === '') state.id = utf8Prefix(v, TOOL_CALL_ID_MAX_BYTES);
      },
      setName: (v) => {
        if (v !== undefined && v !== '' && state.name === '') state.name = utf8Prefix(v, TOOL_CALL_NAME_MAX_BYTES);
      },
      appendArgs: (v) => state.args.append(v),
    };
  }

  hasToolCall(key: string): boolean {
    return this.tools.has(key);
  }

  /** Replaces a tool call's arguments (a final event restating the whole value). */
  resetToolArgs(key: string): void {
    this.tools.get(key)?.args.reset();
  }

  toolCalls(): GenAiToolCall[] {
    const out: GenAiToolCall[] = [];
    for (const t of this.tools.values()) {
      out.push({ id: t.id, name: t.name, arguments: t.args.text, argumentsTruncated: t.args.truncated });
    }
    return out;
  }

  // Distinct dropped keys, so a call's many fragments count once; bounded by MAX_DROPPED_TOOL_CALL_KEYS.
  private readonly droppedKeys = new Set<string>();
}
