/**
 * Everything a worker does for one exchange, across the tasks that carry its
 * body chunks and the final one that carries the snapshot: decode and keep
 * head+tail of each body, fold GenAI calls as bytes arrive, then build the
 * row (render text, redact secrets, serialize).
 *
 * Lives in a worker thread, keyed by CaptureId; every task of one exchange
 * goes to the same worker (see the lanes of exchange-pipeline.ts), so the state never moves.
 */
import type { ExchangeSnapshot } from '../capture/exchange-snapshot';
import type { GenAiSummary } from './genai/genai-summary';
import { ExchangeFolder, type ExchangeFolderLimits } from './genai/exchange-folder';
import type { ProviderDetector } from './genai/provider-detection';
import { BodyStreamProcessor, type BodyStreamResult } from './body-stream-processor';
import type { BodyContext, ChunkDirection } from './worker-contract';

/** The limits of a folded exchange, set by the configuration (RuntimeConfig.foldLimits). */
export type FoldLimits = Pick<ExchangeFolderLimits, 'outputTextMaxBytes' | 'maxEventBytes' | 'toolArgsMaxBytes'>;

export interface ExchangeProcessorOptions {
  maxBytes: number;
  headBytes: number;
  providerDetector: ProviderDetector;
  foldLimits: FoldLimits;
}

export interface ProcessedBodies {
  request: BodyStreamResult | undefined;
  response: BodyStreamResult | undefined;
  genAi: GenAiSummary | undefined;
}

export class ExchangeProcessor {
  private request: BodyStreamProcessor | undefined;
  private response: BodyStreamProcessor | undefined;
  private folder: ExchangeFolder | undefined;
  private folderDecided = false;
  private responseInfoSet = false;
  lastTouchedMs = Date.now();

  constructor(private readonly options: ExchangeProcessorOptions) {}

  async push(direction: ChunkDirection, bytes: Uint8Array, context: BodyContext): Promise<void> {
    this.lastTouchedMs = Date.now();
    this.ensureFolder(context);
    if (direction === 'response') this.ensureResponseInfo(context);
    const stream = this.streamFor(direction, context);
    await stream.push(bytes);
  }

  async finish(snapshot: ExchangeSnapshot, context: BodyContext): Promise<ProcessedBodies> {
    this.ensureFolder(context);
    this.ensureResponseInfo(context);
    for (const direction of ['request', 'response'] as const) {
      const pending = snapshot[direction].bodyPending;
      if (pending !== undefined && pending.length > 0) await this.streamFor(direction, context).push(pending);
    }
    const request = this.request === undefined ? undefined : await this.request.end();
    const response = this.response === undefined ? undefined : await this.response.end();
    const genAi = this.folder?.finish({ responseComplete: snapshot.response.ended && !snapshot.response.streamAbandoned, envoyUsage: snapshot.envoyUsage });
    return { request, response, genAi };
  }

  private streamFor(direction: ChunkDirection, context: BodyContext): BodyStreamProcessor {
    const existing = direction === 'request' ? this.request : this.response;
    if (existing !== undefined) return existing;
    const folder = this.folder;
    // A policy rule's own body cap keeps the configured share of head and tail.
    const { maxBytes, headBytes } = this.options;
    const cap = context.maxBytes;
    const created = new BodyStreamProcessor({
      contentEncoding: direction === 'request' ? context.requestContentEncoding : context.responseContentEncoding,
      maxBytes: cap,
      headBytes: cap === maxBytes || maxBytes === 0 ? headBytes : Math.floor((cap * headBytes) / maxBytes),
      onDecoded: folder === undefined ? undefined : direction === 'request' ? (bytes) => folder.pushRequest(bytes) : (bytes) => folder.pushResponse(bytes),
    });
    if (direction === 'request') this.request = created;
    else this.response = created;
    return created;
  }

  private ensureFolder(context: BodyContext): void {
    if (this.folderDecided) return;
    this.folderDecided = true;
    const folder = new ExchangeFolder({
      authority: context.authority,
      path: context.path,
      method: context.method,
      requestContentType: context.requestContentType,
      limits: this.options.foldLimits,
      providerDetector: this.options.providerDetector,
    });
    if (folder.recognised) this.folder = folder;
  }

  private ensureResponseInfo(context: BodyContext): void {
    if (this.responseInfoSet || this.folder === undefined || context.statusCode === 0) return;
    this.responseInfoSet = true;
    this.folder.setResponseInfo({ statusCode: context.statusCode, responseContentType: context.responseContentType, awsErrorType: context.awsErrorType });
  }
}
