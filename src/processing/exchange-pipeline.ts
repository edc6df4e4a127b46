/**
 * Moves exchanges from the gRPC event loop to the body workers, and their
 * rows on to storage.
 *
 *   ExchangeAssembler ──chunk tasks (large bodies, while they stream)──┐
 *   ProcessStream ──finish task (snapshot + last bytes)────────────────┤
 *                                               per-worker lane (FIFO) ▼
 *                          one piscina task per batch of queued tasks, one batch in flight
 *                                   ExchangeProcessor: decode, fold, hash, head+tail
 *                                      │ rows as spool records, one transferred block per batch
 *   onRecords ◀────────────────────────────────────────────────────────┘
 *
 * Every task of one exchange goes to the same single-thread pool (a "lane"),
 * because its decoders, hash and GenAI fold state live in that worker's
 * memory. A lane sends what queued up as one batch and waits for it before
 * sending the next: that keeps each exchange's tasks in order (piscina
 * itself does not run queued tasks in submission order) and pays the
 * thread hand-off once per batch instead of once per exchange (about 45 us
 * of CPU per piscina task on this hardware). An idle lane waits a short
 * window (`batchWindowMs`) for more tasks before it sends.
 * Body buffers are transferred, never copied across. Nothing here blocks or
 * throws into the caller:
 * - every body byte queued for or inside a worker counts against
 *   `backlogMaxBytes`, chunk tasks and the last piece a finish task carries
 *   alike (and the finish task's JSON); a chunk or last piece that does not fit
 *   is refused, and that body is then only counted (row note processing_backlog);
 * - a lane holding `queueMax` tasks drops new exchanges and counts them
 *   (rows_dropped{reason="worker_queue_full"});
 * - when a worker fails, the rows of its batch are built on this thread
 *   without bodies, so the records survive and say why bodies are missing;
 * - while a finished exchange waits for or sits in a worker, it is in the
 *   in-flight journal (spool/inflight-journal.ts, entry: inflight-entry.ts),
 *   so a kill -9 before its row is spooled costs its bodies, not the
 *   exchange: the next start rebuilds it.
 */
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { ExchangeSnapshot } from '../capture/exchange-snapshot';
import type { CaptureMetrics } from '../metrics';
import type { InflightJournal } from '../spool/inflight-journal';
import { encodeRecord } from '../spool/record-format';
import { buildRow } from './build-row';
import type { BatchReply, BatchResult, BodyContext, ChunkDirection, ExchangeTask, FinishPayload, FinishResult, TaskBatch, WorkerSettings } from './worker-contract';
import { inflightEntryJson } from './inflight-entry';
import { errorFields, type ErrorCode } from '../errors';

export const EXCHANGE_WORKER_FILE = path.resolve(__dirname, '..', '..', 'workers', 'exchange-worker.js');

export interface ExchangePipelineOptions {
  workerThreads: number;
  queueMax: number;
  backlogMaxBytes: number;
  /** How long an idle lane lets tasks gather before it sends them as one batch, ms. */
  batchWindowMs: number;
  /**
   * Tasks one batch carries at most; that many queued make a lane send at
   * once, without waiting for the window. A worker that fell behind then
   * works through its queue in batches of this size instead of taking the
   * whole queue at once (its rows, bodies and records all in its heap together).
   */
  batchFullTasks: number;
  settings: WorkerSettings;
  /** V8 young generation of each worker, MiB (options.ts workerYoungGenerationMiB); V8's own sizing when absent. */
  youngGenerationMiB?: number;
  metrics: CaptureMetrics;
  log: Logger;
  /** The rows of one batch as encoded spool records (record-format.ts), in order. */
  onRecords: (records: Buffer[]) => void;
  /** Where finished exchanges are noted until onRecords took their rows; none: a kill -9 loses them. */
  journal?: InflightJournal;
}

/** One worker thread and the tasks waiting for it. */
interface Lane {
  /** Label of this lane's worker in metrics. */
  name: string;
  pool: Piscina;
  queue: ExchangeTask[];
  /** A batch is in flight or about to be sent; new tasks wait for the next one. */
  busy: boolean;
  /** The gathering window of the next batch, while it runs. */
  windowTimer: NodeJS.Timeout | undefined;
}

export class ExchangePipeline {
  private readonly lanes: Lane[];
  private inFlight = 0;
  private backlogBytes = 0;
  private idleWaiters: Array<() => void> = [];
  /** Exchanges whose chunk task failed: their worker state is gone, the body is incomplete. */
  private readonly brokenStreams = new Set<string>();
  /** Headers the journal must not write to disk (they are redacted in rows). */
  private readonly redactHeaders: ReadonlySet<string>;

  constructor(private readonly options: ExchangePipelineOptions) {
    this.redactHeaders = new Set(options.settings.redactHeaders);
    this.lanes = Array.from({ length: Math.max(1, options.workerThreads) }, (_, index) => {
      const pool = new Piscina({
        filename: EXCHANGE_WORKER_FILE,
        minThreads: 1,
        maxThreads: 1,
        // One batch in flight per lane (see the header comment).
        concurrentTasksPerWorker: 1,
        workerData: options.settings,
        idleTimeout: Number.MAX_SAFE_INTEGER,
        ...(options.youngGenerationMiB === undefined ? {} : { resourceLimits: { maxYoungGenerationSizeMb: options.youngGenerationMiB } }),
      });
      pool.on('error', (err: Error) => {
        options.metrics.errors.inc({ kind: 'worker_crash' });
        options.log.error(errorFields(err, 'CAP_ERR_WORKER'), 'body worker crashed');
      });
      return { name: String(index), pool, queue: [], busy: false, windowTimer: undefined };
    });
  }

  get pending(): number {
    return this.inFlight;
  }

  /** Hands a chunk of a streaming body to its exchange's worker; false when the backlog is full. */
  readonly shipChunk = (captureId: string, direction: ChunkDirection, bytes: Uint8Array, context: BodyContext): boolean => {
    const lane = this.laneFor(captureId);
    if (this.backlogBytes + bytes.length > this.options.backlogMaxBytes || lane.queue.length >= this.options.queueMax) {
      this.options.metrics.errors.inc({ kind: 'processing_backlog' });
      return false;
    }
    this.backlogBytes += bytes.length;
    this.options.metrics.processingBacklogBytes.set(this.backlogBytes);
    // Copy the context: the assembler keeps filling it in as headers arrive.
    this.enqueue(lane, { kind: 'chunk', captureId, direction, bytes, context: { ...context } });
    return true;
  };

  submit(snapshot: ExchangeSnapshot, context: BodyContext): void {
    const metrics = this.options.metrics;
    metrics.bodyCounters.request.seen.inc(snapshot.request.bodySize);
    metrics.bodyCounters.response.seen.inc(snapshot.response.bodySize);
    const lane = this.laneFor(snapshot.captureId);
    if (lane.queue.length >= this.options.queueMax) {
      metrics.rowsDropped.inc({ reason: 'worker_queue_full' });
      this.options.log.warn({ code: 'CAP_ERR_PENDING_FULL' satisfies ErrorCode, captureId: snapshot.captureId }, 'worker queue full; exchange dropped');
      this.brokenStreams.delete(snapshot.captureId);
      return;
    }
    this.inFlight += 1;
    metrics.rowsPending.inc();
    if (this.brokenStreams.delete(snapshot.captureId)) {
      // The worker lost this exchange's body state; keep the record without bodies.
      const record = this.fallback(snapshot, 'an earlier body chunk failed');
      if (record !== undefined) this.options.onRecords([record]);
      this.settle(1);
      return;
    }
    this.options.journal?.begin(snapshot.captureId, inflightEntryJson(snapshot, context, this.redactHeaders, this.options.settings.redactionKey));
    // The bodies go beside the JSON, transferred. The JSON stays in the task
    // until the batch returns: it is what a fallback row is built from.
    const requestBody = this.admitLastPiece(snapshot.request);
    const responseBody = this.admitLastPiece(snapshot.response);
    snapshot.request.bodyPending = undefined;
    snapshot.response.bodyPending = undefined;
    const task: ExchangeTask = { kind: 'finish', captureId: snapshot.captureId, payload: JSON.stringify({ snapshot, context }), requestBody, responseBody };
    // The JSON is counted too (it cannot be refused: it is the exchange), so chunks of other bodies yield to it.
    this.backlogBytes += task.payload.length;
    this.options.metrics.processingBacklogBytes.set(this.backlogBytes);
    this.enqueue(lane, task);
  }

  /**
   * The last, not yet shipped piece of a body, counted against the backlog
   * bound like a chunk; when it does not fit, the body is treated as a chunk
   * refused there (its bytes counted, not processed; note processing_backlog).
   */
  private admitLastPiece(direction: ExchangeSnapshot['request']): Uint8Array | undefined {
    const piece = direction.bodyPending;
    if (piece === undefined) return undefined;
    if (this.backlogBytes + piece.length > this.options.backlogMaxBytes) {
      this.options.metrics.errors.inc({ kind: 'processing_backlog' });
      direction.streamAbandoned = true;
      // Nothing of it reached a worker: the row says why it has no body.
      if (!direction.bodyStreamed) direction.bodyAbsentReason = 'processing_backlog';
      return undefined;
    }
    this.backlogBytes += piece.length;
    return piece;
  }

  /** Bytes a task holds against the backlog bound (read before a transfer detaches its buffers). */
  private static backlogBytesOf(task: ExchangeTask): number {
    if (task.kind === 'chunk') return task.bytes.length;
    return task.payload.length + (task.requestBody?.length ?? 0) + (task.responseBody?.length ?? 0);
  }

  /** The body buffers of a batch's tasks, transferred with it (each has its own ArrayBuffer, see PendingBody). */
  private static transferOf(tasks: ExchangeTask[]): ArrayBuffer[] {
    const buffers: ArrayBuffer[] = [];
    for (const task of tasks) {
      if (task.kind === 'chunk') buffers.push(task.bytes.buffer as ArrayBuffer);
      else {
        if (task.requestBody !== undefined) buffers.push(task.requestBody.buffer as ArrayBuffer);
        if (task.responseBody !== undefined) buffers.push(task.responseBody.buffer as ArrayBuffer);
      }
    }
    return buffers;
  }

  /** Resolves once every submitted exchange has produced its row. */
  async whenIdle(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.whenIdle();
    // Only chunks of exchanges that will never finish can still be gathering.
    for (const lane of this.lanes) clearTimeout(lane.windowTimer);
    await Promise.all(this.lanes.map((lane) => lane.pool.destroy()));
  }

  private enqueue(lane: Lane, task: ExchangeTask): void {
    lane.queue.push(task);
    // A batch in flight: this task goes with the next one, sent when it returns.
    if (lane.busy) return;
    if (lane.queue.length >= this.options.batchFullTasks) {
      clearTimeout(lane.windowTimer);
      lane.windowTimer = undefined;
      lane.busy = true;
      setImmediate(() => this.sendBatch(lane));
      return;
    }
    // An idle lane lets tasks gather for a moment: one hand-off for many exchanges.
    lane.windowTimer ??= setTimeout(() => {
      lane.windowTimer = undefined;
      lane.busy = true;
      this.sendBatch(lane);
    }, this.options.batchWindowMs);
  }

  private sendBatch(lane: Lane): void {
    if (lane.queue.length === 0) {
      lane.busy = false;
      return;
    }
    const tasks = lane.queue.splice(0, this.options.batchFullTasks);
    const transfer = ExchangePipeline.transferOf(tasks);
    // Backlog bytes of the batch, read before the transfer detaches the views.
    const chunkBytes = tasks.reduce((sum, task) => sum + ExchangePipeline.backlogBytesOf(task), 0);
    const batch: TaskBatch = { tasks };
    lane.pool
      .run(batch, { transferList: transfer })
      .then(
        (reply: BatchReply) => {
          this.options.metrics.workerMemory.set({ worker: lane.name, kind: 'heap_used' }, reply.memory.heapUsedBytes);
          this.options.metrics.workerMemory.set({ worker: lane.name, kind: 'external' }, reply.memory.externalBytes);
          this.settleBatch(tasks, reply.results, reply.records);
        },
        (err: Error) =>
          this.settleBatch(
            tasks,
            tasks.map(() => ({ error: err.message })),
            undefined,
          ),
      )
      .finally(() => {
        this.backlogBytes -= chunkBytes;
        this.options.metrics.processingBacklogBytes.set(this.backlogBytes);
        this.sendBatch(lane);
      });
  }

  private settleBatch(tasks: ExchangeTask[], results: BatchResult[], block: ArrayBuffer | undefined): void {
    const finished: string[] = [];
    let offset = 0;
    const records: Buffer[] = [];
    tasks.forEach((task, i) => {
      const result = results[i];
      if (task.kind === 'chunk') {
        if (result !== undefined && 'error' in result) {
          this.brokenStreams.add(task.captureId);
          this.options.metrics.errors.inc({ kind: 'worker_task_failed' });
          this.options.log.error({ ...errorFields(result.error, 'CAP_ERR_WORKER'), captureId: task.captureId }, 'body chunk could not be processed');
        }
        return;
      }
      finished.push(task.captureId);
      if (result !== undefined && !('error' in result) && block !== undefined) {
        records.push(Buffer.from(block, offset, result.recordBytes));
        offset += result.recordBytes;
        this.count(result);
      } else {
        // The task's own JSON is the copy kept for this case: one flat string per exchange
        // in a worker's hands, instead of its snapshot's object graph surviving young-generation GCs.
        const snapshot = (JSON.parse(task.payload) as FinishPayload).snapshot;
        const record = this.fallback(snapshot, result === undefined || !('error' in result) ? 'no result from the worker' : result.error);
        if (record !== undefined) records.push(record);
      }
    });
    if (records.length > 0) this.options.onRecords(records);
    // Spooled (or counted as dropped): out of the journal.
    this.options.journal?.done(finished);
    this.settle(finished.length);
  }

  private settle(count: number): void {
    if (count === 0) return;
    this.inFlight -= count;
    this.options.metrics.rowsPending.dec(count);
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private laneFor(captureId: string): Lane {
    if (this.lanes.length === 1) return this.lanes[0]!;
    // The id's random tail spreads exchanges evenly.
    const index = parseInt(captureId.slice(-4), 16) % this.lanes.length;
    return this.lanes[index]!;
  }

  /** Body and redaction metrics of one row. */
  private count(result: FinishResult): void {
    const metrics = this.options.metrics;
    for (const direction of ['request', 'response'] as const) {
      const stats = result[direction];
      if (stats.capturedBytes > 0) metrics.bodyCounters[direction].captured.inc(stats.capturedBytes);
      if (stats.truncated) metrics.bodyCounters[direction].truncated.inc();
      if (stats.note !== '' && stats.note !== 'no_body') metrics.bodyNotes.inc({ direction, note: stats.note });
    }
    for (const [rule, count] of Object.entries(result.redactions)) metrics.bodyRedactions.inc({ rule }, count);
    if (result.genAi) metrics.genAiExchanges.inc();
  }

  /** The row built here without bodies after a worker failure, as a spool record; undefined when even that fails. */
  private fallback(snapshot: ExchangeSnapshot, reason: string): Buffer | undefined {
    this.options.metrics.errors.inc({ kind: 'worker_task_failed' });
    this.options.log.error({ ...errorFields(reason, 'CAP_ERR_WORKER'), captureId: snapshot.captureId }, 'row built without bodies after a worker failure');
    try {
      const built = buildRow(snapshot, this.options.settings);
      this.count({ recordBytes: 0, request: built.request, response: built.response, redactions: {}, genAi: false });
      return encodeRecord(Buffer.from(JSON.stringify(built.row) + '\n', 'utf8'));
    } catch (inner) {
      this.options.metrics.rowsDropped.inc({ reason: 'row_build_failed' });
      this.options.log.error({ ...errorFields(inner, 'CAP_ERR_WORKER'), captureId: snapshot.captureId }, 'row could not be built; exchange dropped');
      return undefined;
    }
  }
}
