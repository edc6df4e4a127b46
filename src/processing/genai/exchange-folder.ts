/**
 * The one entry point the body worker uses per exchange: give it the
 * exchange's routing facts, push decoded body bytes as they arrive, and
 * finish() returns the folded GenAiSummary (or undefined when the exchange
 * is not a GenAI call we recognise).
 *
 * It picks the response parser from the response content type (SSE, NDJSON,
 * AWS eventstream, or a whole JSON body) and the folder from the detected
 * API, and keeps only folded state: parsers hold at most one event, the
 * request scanner a few hundred bytes, a non-streaming body at most
 * maxJsonBodyBytes. Nothing here throws on traffic; only bad configuration
 * (limits, mapping) throws, from the constructor.
 */
import { AnthropicMessagesFolder } from './anthropic-messages-folder';
import type { ApiFolder } from './api-folder';
import { AwsEventStreamDecoder } from './aws-eventstream-decoder';
import { BedrockConverseFolder } from './bedrock-converse-folder';
import { BedrockInvokeFolder } from './bedrock-invoke-folder';
import { DEFAULT_MAX_TOOL_CALLS, DEFAULT_REQUEST_SCAN_MAX_BYTES } from './defaults';
import { withEnvoyUsage, type EnvoyUsage } from './envoy-usage';
import { requirePositiveInt } from './errors';
import { FoldState } from './fold-state';
import { GeminiFolder } from './gemini-folder';
import type { GenAiApi, GenAiSummary } from './genai-summary';
import { JsonArrayParser } from './json-array-parser';
import { parseJson } from './json-access';
import { NdjsonParser } from './ndjson-parser';
import { OllamaChatFolder } from './ollama-chat-folder';
import { OpenAiChatFolder } from './openai-chat-folder';
import { OpenAiEndpointsFolder } from './openai-endpoints-folder';
import { OpenAiResponsesFolder } from './openai-responses-folder';
import { readProviderError } from './provider-errors';
import { ProviderDetector, type ProviderDetection, type ProviderMappingEntry } from './provider-detection';
import { RequestFieldScanner } from './request-field-scanner';
import { SseParser } from './sse-parser';

export interface ExchangeFolderLimits {
  /** Folded output text kept (bytes of UTF-8). */
  outputTextMaxBytes: number;
  /** Largest SSE event / NDJSON line / eventstream frame parsed (bytes). */
  maxEventBytes: number;
  /** Arguments kept per tool call (bytes of UTF-8). */
  toolArgsMaxBytes: number;
  /** Largest non-streaming JSON body parsed (bytes); defaults to maxEventBytes. */
  maxJsonBodyBytes?: number;
  /** Tool calls kept; defaults to DEFAULT_MAX_TOOL_CALLS. */
  maxToolCalls?: number;
  /** Request bytes scanned for model/stream; defaults to DEFAULT_REQUEST_SCAN_MAX_BYTES. */
  requestScanMaxBytes?: number;
}

export interface ResponseInfo {
  /** 0 when not known yet. */
  statusCode?: number;
  responseContentType?: string;
  /** The x-amzn-errortype response header (Bedrock names its error there, e.g. "ThrottlingException:http://..."). */
  awsErrorType?: string;
}

export interface ExchangeFolderOptions extends ResponseInfo {
  /** :authority (host, maybe with port). */
  authority: string;
  /** :path; the query is ignored. */
  path: string;
  method: string;
  requestContentType?: string;
  limits: ExchangeFolderLimits;
  /** Declared mappings; validated once per distinct array (throws CAP_ERR_GENAI_MAPPING_INVALID). */
  providerMapping?: readonly ProviderMappingEntry[];
  /** A detector built once by the caller; takes precedence over providerMapping. */
  providerDetector?: ProviderDetector;
}

export interface FinishInfo {
  /** The response reached its end (end_of_stream); false when the client reset or the stream was cut. */
  responseComplete: boolean;
  /** Token usage Envoy extracted itself and forwarded as typed metadata, if it did. */
  envoyUsage?: EnvoyUsage;
}

/**
 * How the response body is read. 'json' waits for the first non-blank byte:
 * a "[" makes it 'json-array' (a JSON array streamed element by element, as
 * Gemini does without ?alt=sse), anything else one whole document. 'opaque'
 * bodies (audio, images) are not parsed at all.
 */
type ResponseMode = 'sse' | 'ndjson' | 'eventstream' | 'json' | 'json-array' | 'opaque';

/** Detectors are validated once per mapping array, not once per exchange. */
const detectorCache = new WeakMap<readonly ProviderMappingEntry[], ProviderDetector>();
const builtInDetector = new ProviderDetector();

export function detectorFor(mapping: readonly ProviderMappingEntry[] | undefined): ProviderDetector {
  if (mapping === undefined || mapping.length === 0) return builtInDetector;
  let d = detectorCache.get(mapping);
  if (d === undefined) {
    d = new ProviderDetector(mapping);
    detectorCache.set(mapping, d);
  }
  return d;
}

export class ExchangeFolder {
  private readonly detection: ProviderDetection | undefined;
  private readonly limits: Required<ExchangeFolderLimits>;
  private readonly state: FoldState | undefined;
  private readonly folder: ApiFolder | undefined;
  private readonly request: RequestFieldScanner | undefined;
  private statusCode = 0;
  private responseContentType = '';
  private awsErrorType: string | undefined;
  private mode: ResponseMode | undefined;
  private sse: SseParser | undefined;
  private ndjson: NdjsonParser | undefined;
  private eventstream: AwsEventStreamDecoder | undefined;
  private jsonArray: JsonArrayParser | undefined;
  /** In 'json' mode: the first non-blank byte has been seen (and said whether the body is an array). */
  private jsonShapeKnown = false;
  private body: Buffer[] = [];
  private bodyBytes = 0;
  private bodyTooLarge = false;
  private oversizedEvents = 0;
  private finished = false;

  constructor(options: ExchangeFolderOptions) {
    const l = options.limits;
    this.limits = {
      outputTextMaxBytes: requirePositiveInt('limits.outputTextMaxBytes', l.outputTextMaxBytes),
      maxEventBytes: requirePositiveInt('limits.maxEventBytes', l.maxEventBytes),
      toolArgsMaxBytes: requirePositiveInt('limits.toolArgsMaxBytes', l.toolArgsMaxBytes),
      maxJsonBodyBytes: requirePositiveInt('limits.maxJsonBodyBytes', l.maxJsonBodyBytes ?? l.maxEventBytes),
      maxToolCalls: requirePositiveInt('limits.maxToolCalls', l.maxToolCalls ?? DEFAULT_MAX_TOOL_CALLS),
      requestScanMaxBytes: requirePositiveInt('limits.requestScanMaxBytes', l.requestScanMaxBytes ?? DEFAULT_REQUEST_SCAN_MAX_BYTES),
    };
    const detector = options.providerDetector ?? detectorFor(options.providerMapping);
    // Only generation calls are folded; a GET on the same path (e.g. retrieving a stored response) is not one.
    this.detection = options.method.toUpperCase() === 'POST' ? detector.detect(options.authority, options.path) : undefined;
    this.setResponseInfo(options);
    if (this.detection === undefined) return;
    this.state = new FoldState(this.limits);
    this.folder = createFolder(this.detection.api, this.state);
    const rct = (options.requestContentType ?? '').toLowerCase();
    if (rct === '' || rct.includes('json')) {
      this.request = new RequestFieldScanner(['model', 'stream', 'stream_options'], this.limits.requestScanMaxBytes);
    }
  }

  /** True when finish() will return a summary. */
  get recognised(): boolean {
    return this.detection !== undefined;
  }

  /** Status and content type arrive with the response headers, after some request bytes; call before the first pushResponse. */
  setResponseInfo(info: ResponseInfo): void {
    if (info.statusCode !== undefined && info.statusCode !== 0) this.statusCode = info.statusCode;
    if (info.responseContentType !== undefined && this.mode === undefined) this.responseContentType = info.responseContentType.toLowerCase();
    if (info.awsErrorType !== undefined && info.awsErrorType !== '') this.awsErrorType = info.awsErrorType;
  }

  pushRequest(bytes: Uint8Array): void {
    if (this.finished) return;
    this.request?.push(bytes);
  }

  pushResponse(bytes: Uint8Array): void {
    if (this.finished || this.state === undefined || bytes.byteLength === 0) return;
    this.ensureMode(bytes);
    switch (this.mode) {
      case 'sse':
        this.sse!.push(bytes);
        break;
      case 'ndjson':
        this.ndjson!.push(bytes);
        break;
      case 'eventstream':
        this.eventstream!.push(bytes);
        break;
      case 'json-array':
        this.jsonArray!.push(bytes);
        break;
      case 'opaque':
        break;
      default:
        if (!this.jsonShapeKnown && this.startJsonBody(bytes)) return;
        if (this.bodyTooLarge) return;
        if (this.bodyBytes + bytes.byteLength > this.limits.maxJsonBodyBytes) {
          this.bodyTooLarge = true;
          this.body = [];
          return;
        }
        this.body.push(Buffer.from(bytes));
        this.bodyBytes += bytes.byteLength;
    }
  }

  finish(info: FinishInfo): GenAiSummary | undefined {
    if (this.detection === undefined || this.state === undefined || this.folder === undefined) return undefined;
    if (!this.finished) {
      this.finished = true;
      this.ensureMode();
      this.endParsers();
    }
    const envoy = info.envoyUsage;
    // A path-only guess on an unknown host stands only if the response had the API's shape, or Envoy parsed it as that API.
    if (this.detection.confirmByShape && !this.state.shapeConfirmed && !(envoy !== undefined && envoy.protocol === this.detection.api && envoy.status !== 'failed')) return undefined;
    // Envoy read the whole answer when the body never reached us: that is its end.
    if (envoy?.status === 'complete' && this.state.eventCount === 0) this.state.endMarkerSeen = true;
    return withEnvoyUsage(this.summarise(info.responseComplete), envoy);
  }

  private ensureMode(firstBytes?: Uint8Array): void {
    if (this.mode !== undefined) return;
    let ct = this.responseContentType;
    // Some proxies drop or genericise the content type of streams; an event stream announces itself in its first bytes.
    if ((ct === '' || ct.startsWith('application/octet-stream') || ct.startsWith('text/plain')) && firstBytes !== undefined && looksLikeSse(firstBytes)) {
      ct = 'text/event-stream';
    }
    const maxEventBytes = this.limits.maxEventBytes;
    const folder = this.folder!;
    if (ct.includes('text/event-stream')) {
      this.mode = 'sse';
      this.sse = new SseParser({ maxEventBytes, onEvent: (event) => folder.foldStreamUnit({ kind: 'sse', event }) });
    } else if (ct.includes('ndjson') || ct.includes('jsonl') || ct.includes('json-seq')) {
      this.mode = 'ndjson';
      this.ndjson = new NdjsonParser({
        maxLineBytes: maxEventBytes,
        onValue: (value) => folder.foldStreamUnit({ kind: 'json', value }),
      });
    } else if (ct.includes('vnd.amazon.eventstream')) {
      this.mode = 'eventstream';
      this.eventstream = new AwsEventStreamDecoder({
        maxMessageBytes: maxEventBytes,
        onMessage: (message) => folder.foldStreamUnit({ kind: 'eventstream', message }),
      });
    } else if (ct.startsWith('audio/') || ct.startsWith('image/') || ct.startsWith('video/') || ct.startsWith('application/octet-stream')) {
      this.mode = 'opaque';
    } else {
      this.mode = 'json';
    }
  }

  /** The first bytes of a JSON body: true when they opened an array and went to the element parser. */
  private startJsonBody(bytes: Uint8Array): boolean {
    let i = 0;
    while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
    if (i === bytes.length) return false;
    this.jsonShapeKnown = true;
    if (bytes[i] !== 0x5b) return false;
    const folder = this.folder!;
    this.mode = 'json-array';
    this.jsonArray = new JsonArrayParser({
      maxElementBytes: this.limits.maxEventBytes,
      onValue: (value) => folder.foldStreamUnit({ kind: 'json', value }),
    });
    this.jsonArray.push(bytes);
    return true;
  }

  private endParsers(): void {
    const s = this.state!;
    if (this.sse !== undefined) {
      this.sse.end();
      this.oversizedEvents += this.sse.stats.oversizedEvents;
    } else if (this.ndjson !== undefined) {
      this.ndjson.end();
      this.oversizedEvents += this.ndjson.stats.oversizedLines;
      s.malformedEvents += this.ndjson.stats.invalidLines;
    } else if (this.eventstream !== undefined) {
      this.eventstream.end();
      this.oversizedEvents += this.eventstream.stats.oversizedMessages;
    } else if (this.jsonArray !== undefined) {
      this.jsonArray.end();
      this.oversizedEvents += this.jsonArray.stats.oversizedElements;
      s.malformedEvents += this.jsonArray.stats.invalidElements;
    } else if (this.mode === 'json') {
      this.foldJsonBody();
    }
    if (this.statusCode >= 400 && s.errorType === null) {
      // An error status with a stream or unreadable body still says what kind of failure it was.
      s.setError(this.awsErrorName() ?? String(this.statusCode), undefined);
    }
  }

  private foldJsonBody(): void {
    const s = this.state!;
    if (this.bodyTooLarge) {
      this.oversizedEvents += 1;
      return;
    }
    if (this.bodyBytes === 0) return;
    const text = Buffer.concat(this.body, this.bodyBytes).toString('utf8');
    this.body = [];
    const parsed = parseJson(text);
    if (!parsed.ok) {
      s.malformedEvents += 1;
      return;
    }
    if (this.statusCode >= 400) {
      s.eventCount += 1;
      const e = readProviderError(parsed.value);
      s.setError(this.awsErrorName() ?? e?.type ?? String(this.statusCode), e?.message);
      return;
    }
    this.folder!.foldBody(parsed.value);
  }

  /** "ThrottlingException:http://internal.amazon.com/coral/..." → "ThrottlingException". */
  private awsErrorName(): string | undefined {
    if (this.awsErrorType === undefined) return undefined;
    const colon = this.awsErrorType.indexOf(':');
    return colon === -1 ? this.awsErrorType : this.awsErrorType.slice(0, colon);
  }

  private summarise(responseComplete: boolean): GenAiSummary {
    const d = this.detection!;
    const s = this.state!;
    const streaming = this.mode === 'sse' || this.mode === 'ndjson' || this.mode === 'eventstream' || this.mode === 'json-array';
    const requestModel = this.request?.get('model');
    const requestStream = this.request?.get('stream');
    return {
      provider: d.provider,
      api: d.api,
      operation: d.operation,
      requestModel: typeof requestModel === 'string' && requestModel !== '' ? requestModel : (d.pathModel ?? null),
      requestStream: typeof requestStream === 'boolean' ? requestStream : null,
      responseModel: s.responseModel,
      responseId: s.responseId,
      streaming,
      statusCode: this.statusCode,
      inputTokens: s.usage.inputTokens,
      outputTokens: s.usage.outputTokens,
      cachedInputTokens: s.usage.cachedInputTokens,
      cacheCreationInputTokens: s.usage.cacheCreationInputTokens,
      reasoningTokens: s.usage.reasoningTokens,
      usageSource: s.usageSeen ? 'provider' : 'missing',
      finishReasons: s.finishReasons.filter((r) => r !== ''),
      outputText: s.text.text,
      outputTextTruncated: s.text.truncated,
      outputTextBytes: s.text.totalBytes,
      toolCalls: s.toolCalls(),
      toolCallsDropped: s.toolCallsDropped,
      eventCount: s.eventCount,
      oversizedEvents: this.oversizedEvents,
      malformedEvents: s.malformedEvents,
      badFrames: this.eventstream?.stats.badFrames ?? 0,
      errorType: s.errorType,
      errorMessage: s.errorMessage,
      endMarkerSeen: streaming ? s.endMarkerSeen : null,
      complete: responseComplete && (!streaming || s.endMarkerSeen) && !(this.eventstream?.stats.corrupt ?? false),
    };
  }
}

const SSE_STARTS = ['data:', 'event:', ': ', 'id:', '\uFEFFdata:'];

function looksLikeSse(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 16)).toString('utf8');
  return SSE_STARTS.some((p) => head.startsWith(p));
}

function createFolder(api: GenAiApi, state: FoldState): ApiFolder {
  switch (api) {
    case 'openai_chat_completions':
      return new OpenAiChatFolder(state);
    case 'openai_responses':
      return new OpenAiResponsesFolder(state);
    case 'openai_embeddings':
    case 'openai_moderations':
    case 'openai_images':
    case 'openai_audio':
      return new OpenAiEndpointsFolder(state);
    case 'gemini_generate_content':
      return new GeminiFolder(state, 'generate');
    case 'gemini_count_tokens':
      return new GeminiFolder(state, 'count_tokens');
    case 'gemini_embed_content':
      return new GeminiFolder(state, 'embed');
    case 'bedrock_invoke':
    case 'bedrock_invoke_stream':
      return new BedrockInvokeFolder(state);
    case 'anthropic_messages':
      return new AnthropicMessagesFolder(state);
    case 'ollama_chat':
      return new OllamaChatFolder(state);
    case 'bedrock_converse':
    case 'bedrock_converse_stream':
      return new BedrockConverseFolder(state);
  }
}
