/**
 * Moves finished exchanges from the gRPC event loop to the body workers and
 * their rows on to storage.
 *
 *   ProcessStream ──snapshot──▶ submit ──(transfer bodies)──▶ piscina worker
 *                                                               │ buildRow
 *   RowBatcher ◀──────── JSONEachRow line ◀────────────────────┘
 *
 * submit() never blocks and never throws: when the worker queue is full the
 * exchange is dropped and counted (rows_dropped{reason="worker_queue_full"});
 * when a worker fails the row is built on this thread without bodies, so the
 * record survives and says why its bodies are missing.
 */
import * as path from 'node:path';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { ExchangeSnapshot } from '../capture/exchange-snapshot';
import type { CaptureMetrics } from '../metrics';
import { buildRow, type DirectionStats, type RowBuildOptions } from './build-row';

export const EXCHANGE_WORKER_FILE = path.resolve(__dirname, '..', '..', 'workers', 'exchange-worker.js');

interface ExchangeTaskResult {
  line: string;
  request: DirectionStats;
  response: DirectionStats;
}

export interface ExchangePipelineOptions {
  workerThreads: number;
  queueMax: number;
  build: RowBuildOptions;
  metrics: CaptureMetrics;
  log: Logger;
  onRow: (line: string) => void;
}

export class ExchangePipeline {
  private readonly pool: Piscina;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: ExchangePipelineOptions) {
    this.pool = new Piscina({
      filename: EXCHANGE_WORKER_FILE,
      minThreads: options.workerThreads,
      maxThreads: options.workerThreads,
      maxQueue: options.queueMax,
      // Row building is async (streaming decoders); let a thread overlap a few.
      concurrentTasksPerWorker: 4,
      workerData: options.build,
      idleTimeout: Number.MAX_SAFE_INTEGER,
    });
    this.pool.on('error', (err: Error) => {
      options.metrics.errors.inc({ kind: 'worker_crash' });
      options.log.error({ err: err.message }, 'CAP_ERR_WORKER: body worker crashed');
    });
  }

  get pending(): number {
    return this.inFlight;
  }

  submit(snapshot: ExchangeSnapshot): void {
    const metrics = this.options.metrics;
    metrics.bodyBytesSeen.inc({ direction: 'request' }, snapshot.request.bodySize);
    metrics.bodyBytesSeen.inc({ direction: 'response' }, snapshot.response.bodySize);
    if (this.pool.queueSize >= this.options.queueMax) {
      metrics.rowsDropped.inc({ reason: 'worker_queue_full' });
      this.options.log.warn({ captureId: snapshot.captureId }, 'CAP_ERR_PENDING_FULL: worker queue full; exchange dropped');
      return;
    }
    const transfer: ArrayBuffer[] = [];
    for (const head of [snapshot.request.bodyHead, snapshot.response.bodyHead]) {
      if (head !== undefined && head.buffer instanceof ArrayBuffer && !transfer.includes(head.buffer)) transfer.push(head.buffer);
    }
    this.inFlight += 1;
    metrics.rowsPending.inc();
    this.pool
      .run(snapshot, { transferList: transfer })
      .then((result: ExchangeTaskResult) => this.deliver(result))
      .catch((err: Error) => this.fallback(snapshot, err))
      .finally(() => {
        this.inFlight -= 1;
        metrics.rowsPending.dec();
        if (this.inFlight === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
  }

  /** Resolves once every submitted exchange has produced its row. */
  async whenIdle(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.whenIdle();
    await this.pool.destroy();
  }

  private deliver(result: ExchangeTaskResult): void {
    const metrics = this.options.metrics;
    for (const direction of ['request', 'response'] as const) {
      const stats = result[direction];
      if (stats.capturedBytes > 0) metrics.bodyBytesCaptured.inc({ direction }, stats.capturedBytes);
      if (stats.truncated) metrics.bodiesTruncated.inc({ direction });
      if (stats.note !== '' && stats.note !== 'no_body') metrics.bodyNotes.inc({ direction, note: stats.note });
    }
    this.options.onRow(result.line);
  }

  private async fallback(snapshot: ExchangeSnapshot, err: Error): Promise<void> {
    this.options.metrics.errors.inc({ kind: 'worker_task_failed' });
    this.options.log.error({ err: err.message, captureId: snapshot.captureId }, 'CAP_ERR_WORKER: row built without bodies after a worker failure');
    try {
      const built = await buildRow(snapshot, this.options.build, false);
      this.deliver({ line: JSON.stringify(built.row) + '\n', request: built.request, response: built.response });
    } catch (inner) {
      this.options.metrics.rowsDropped.inc({ reason: 'row_build_failed' });
      this.options.log.error({ err: (inner as Error).message, captureId: snapshot.captureId }, 'CAP_ERR_WORKER: row could not be built; exchange dropped');
    }
  }
}
