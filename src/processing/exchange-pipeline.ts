/**
 * Moves exchanges from the gRPC event loop to the body workers, and their
 * rows on to storage.
 *
 *   ExchangeAssembler ──chunk tasks (large bodies, while they stream)──┐
 *   ProcessStream ──finish task (snapshot + last bytes)────────────────┤
 *                                                                      ▼
 *                                   worker pool chosen by CaptureId (sticky)
 *                                   ExchangeProcessor: decode, fold, hash, head+tail
 *                                                                      │ JSONEachRow line
 *   onRow ◀────────────────────────────────────────────────────────────┘
 *
 * Every task of one exchange goes to the same single-thread pool, because
 * its decoder, hash and GenAI fold state live in that worker's memory. Body
 * buffers are transferred, never copied across. Nothing here blocks or
 * throws into the caller:
 * - chunk tasks beyond `backlogMaxBytes` are refused, and that body is then
 *   only counted (row note processing_backlog);
 * - a full finish queue drops the exchange and counts it
 *   (rows_dropped{reason="worker_queue_full"});
 * - when a worker fails, the row is built on this thread without bodies, so
 *   the record survives and says why its bodies are missing.
 */
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { ExchangeSnapshot } from '../capture/exchange-snapshot';
import type { CaptureMetrics } from '../metrics';
import { buildRow, type RowBuildOptions } from './build-row';
import type { BodyContext, ChunkDirection, ChunkTask, FinishResult, FinishTask } from './exchange-task';
import type { ProviderMappingEntry } from './genai/provider-detection';
import type { BodyRedactorOptions } from './genai/body-redactor';

export const EXCHANGE_WORKER_FILE = path.resolve(__dirname, '..', '..', 'workers', 'exchange-worker.js');

/** What every worker is started with (structured-cloned into workerData). */
export interface WorkerSettings extends RowBuildOptions {
  /** Bytes of a long body kept from its start; the rest of maxBytes keeps its end. */
  headBytes: number;
  providerMapping: ProviderMappingEntry[];
  /** undefined: body secret redaction off. */
  bodyRedaction: BodyRedactorOptions | undefined;
  maxEventBytes: number;
  /** Worker state of an exchange untouched this long is dropped (its finish never came). */
  staleStateMs: number;
}

export interface ExchangePipelineOptions {
  workerThreads: number;
  queueMax: number;
  backlogMaxBytes: number;
  settings: WorkerSettings;
  metrics: CaptureMetrics;
  log: Logger;
  onRow: (line: string) => void;
}

export class ExchangePipeline {
  private readonly pools: Piscina[];
  private inFlight = 0;
  private backlogBytes = 0;
  private idleWaiters: Array<() => void> = [];
  /** Exchanges whose chunk task failed: their worker state is gone, the body is incomplete. */
  private readonly brokenStreams = new Set<string>();
  /**
   * The last task of each exchange with tasks in flight. piscina does not
   * run queued tasks in submission order, and an exchange's chunks must be
   * folded in order, so each task of an exchange starts only after the
   * previous one settled.
   */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly options: ExchangePipelineOptions) {
    this.pools = Array.from({ length: Math.max(1, options.workerThreads) }, () => {
      const pool = new Piscina({
        filename: EXCHANGE_WORKER_FILE,
        minThreads: 1,
        maxThreads: 1,
        // Several exchanges' tasks may interleave at their await points (each has its own
        // state); one exchange's tasks never overlap, because enqueue() chains them.
        // With one task at a time, the main↔worker round trip caps throughput.
        concurrentTasksPerWorker: 16,
        maxQueue: options.queueMax,
        workerData: options.settings,
        idleTimeout: Number.MAX_SAFE_INTEGER,
      });
      pool.on('error', (err: Error) => {
        options.metrics.errors.inc({ kind: 'worker_crash' });
        options.log.error({ err: err.message }, 'CAP_ERR_WORKER: body worker crashed');
      });
      return pool;
    });
  }

  get pending(): number {
    return this.inFlight;
  }

  /** Hands a chunk of a streaming body to its exchange's worker; false when the backlog is full. */
  readonly shipChunk = (captureId: string, direction: ChunkDirection, bytes: Uint8Array, context: BodyContext): boolean => {
    const pool = this.poolFor(captureId);
    // Read before the transfer: a transferred view reports length 0 afterwards.
    const length = bytes.length;
    if (this.backlogBytes + length > this.options.backlogMaxBytes || pool.queueSize >= this.options.queueMax) {
      this.options.metrics.errors.inc({ kind: 'processing_backlog' });
      return false;
    }
    this.backlogBytes += length;
    this.options.metrics.processingBacklogBytes.set(this.backlogBytes);
    const task: ChunkTask = { kind: 'chunk', captureId, direction, bytes, context };
    this.enqueue(captureId, () => pool.run(task, { transferList: [bytes.buffer as ArrayBuffer] }))
      .catch((err: Error) => {
        this.brokenStreams.add(captureId);
        this.options.metrics.errors.inc({ kind: 'worker_task_failed' });
        this.options.log.error({ err: err.message, captureId }, 'CAP_ERR_WORKER: body chunk could not be processed');
      })
      .finally(() => {
        this.backlogBytes -= length;
        this.options.metrics.processingBacklogBytes.set(this.backlogBytes);
      });
    return true;
  };

  submit(snapshot: ExchangeSnapshot, context: BodyContext): void {
    const metrics = this.options.metrics;
    metrics.bodyBytesSeen.inc({ direction: 'request' }, snapshot.request.bodySize);
    metrics.bodyBytesSeen.inc({ direction: 'response' }, snapshot.response.bodySize);
    const pool = this.poolFor(snapshot.captureId);
    if (pool.queueSize >= this.options.queueMax) {
      metrics.rowsDropped.inc({ reason: 'worker_queue_full' });
      this.options.log.warn({ captureId: snapshot.captureId }, 'CAP_ERR_PENDING_FULL: worker queue full; exchange dropped');
      this.brokenStreams.delete(snapshot.captureId);
      return;
    }
    this.inFlight += 1;
    metrics.rowsPending.inc();
    const settled = (): void => {
      this.inFlight -= 1;
      metrics.rowsPending.dec();
      if (this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    };
    if (this.brokenStreams.delete(snapshot.captureId)) {
      // The worker lost this exchange's body state; keep the record without bodies.
      this.fallback(snapshot, new Error('an earlier body chunk failed'));
      settled();
      return;
    }
    const transfer: ArrayBuffer[] = [];
    for (const pending of [snapshot.request.bodyPending, snapshot.response.bodyPending]) {
      if (pending !== undefined) transfer.push(pending.buffer as ArrayBuffer);
    }
    const task: FinishTask = { kind: 'finish', snapshot, context };
    this.enqueue(snapshot.captureId, () => pool.run(task, { transferList: transfer }) as Promise<FinishResult>, true)
      .then((result: FinishResult) => this.deliver(result))
      .catch((err: Error) => this.fallback(snapshot, err))
      .finally(settled);
  }

  /** Resolves once every submitted exchange has produced its row. */
  async whenIdle(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.whenIdle();
    await Promise.all(this.pools.map((pool) => pool.destroy()));
  }

  /** Runs `start` after the exchange's previous task settled; `last` forgets the chain afterwards. */
  private enqueue<T>(captureId: string, start: () => Promise<T>, last = false): Promise<T> {
    const previous = this.chains.get(captureId);
    const result = previous === undefined ? start() : previous.then(start);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    if (last) {
      this.chains.delete(captureId);
    } else {
      this.chains.set(captureId, settled);
      // Forget a chain nobody extended, so the map holds only exchanges with work in flight.
      void settled.then(() => {
        if (this.chains.get(captureId) === settled) this.chains.delete(captureId);
      });
    }
    return result;
  }

  private poolFor(captureId: string): Piscina {
    if (this.pools.length === 1) return this.pools[0]!;
    // The id's random tail spreads exchanges evenly.
    const index = parseInt(captureId.slice(-4), 16) % this.pools.length;
    return this.pools[index]!;
  }

  private deliver(result: FinishResult): void {
    const metrics = this.options.metrics;
    for (const direction of ['request', 'response'] as const) {
      const stats = result[direction];
      if (stats.capturedBytes > 0) metrics.bodyBytesCaptured.inc({ direction }, stats.capturedBytes);
      if (stats.truncated) metrics.bodiesTruncated.inc({ direction });
      if (stats.note !== '' && stats.note !== 'no_body') metrics.bodyNotes.inc({ direction, note: stats.note });
    }
    for (const [rule, count] of Object.entries(result.redactions)) metrics.bodyRedactions.inc({ rule }, count);
    if (result.genAi) metrics.genAiExchanges.inc();
    this.options.onRow(result.line);
  }

  private fallback(snapshot: ExchangeSnapshot, err: Error): void {
    this.options.metrics.errors.inc({ kind: 'worker_task_failed' });
    this.options.log.error({ err: err.message, captureId: snapshot.captureId }, 'CAP_ERR_WORKER: row built without bodies after a worker failure');
    try {
      const built = buildRow(snapshot, this.options.settings);
      this.deliver({ line: JSON.stringify(built.row) + '\n', request: built.request, response: built.response, redactions: {}, genAi: false });
    } catch (inner) {
      this.options.metrics.rowsDropped.inc({ reason: 'row_build_failed' });
      this.options.log.error({ err: (inner as Error).message, captureId: snapshot.captureId }, 'CAP_ERR_WORKER: row could not be built; exchange dropped');
    }
  }
}
