/**
 * Moves records from the spool to one sink: its own cursor, its own
 * batching (rows / bytes / delay since the oldest unread record, whichever
 * comes first), its own retries. One batch is in flight at a time, so order is
 * kept and the cursor only ever moves forward past acknowledged batches.
 *
 * Retries: a retryable failure is retried forever with exponential backoff
 * and jitter (or the sink's retryAfterMs), since the data is safe on disk
 * and the disk budget — not a retry count — decides what gets dropped. A
 * non-retryable failure (the sink says the data itself is refused) is
 * retried `rejectAttempts` times in case the classification was wrong, then
 * the batch is counted as dropped{reason="rejected"} and the loop moves on.
 *
 * Nothing here runs on the capture path: append() only nudges the loop.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { CaptureMetrics } from '../../metrics';
import type { Spool, SpoolPosition } from '../../spool/spool';
import { CursorWriteError, type SpoolBatch, type SpoolConsumer } from '../../spool/spool-consumer';
import type { RowBatch, Sink, WriteResult } from '../sink';
import { retryDelayMs, type BackoffPolicy } from './backoff';
import type { SinkAccounting, SinkCounts } from './sink-accounting';
import { describeError, errorFields } from '../../errors';

export interface DeliveryLoopOptions {
  maxRows: number;
  maxBytes: number;
  maxDelayMs: number;
  backoff: BackoffPolicy;
  rejectAttempts: number;
  log: Logger;
  metrics?: CaptureMetrics;
}

export type DeliveryState = 'idle' | 'batching' | 'sending' | 'retrying' | 'stopped';

export interface SinkStatus extends SinkCounts {
  sink: string;
  /** The sink implementation behind the name (chdb, clickhouse, otlp). */
  destination: string;
  pending: number;
  /** captured - delivered - pending - dropped: 0 unless the accounting is broken. */
  unaccounted: number;
  /** Records this sink acknowledged over the spool's lifetime (from its cursor). */
  deliveredLifetime: number;
  state: DeliveryState;
  cursor: SpoolPosition;
  consecutiveFailures: number;
  lastError?: string;
  lastErrorAt?: string;
  nextAttemptAt?: string;
  lastDeliveredAt?: string;
}

type SleepReason = 'empty' | 'delay' | 'retry';

export class DeliveryLoop {
  private mode: 'run' | 'drain' | 'stop' = 'run';
  private running: Promise<void> | undefined;
  private sleeping: { reason: SleepReason; wake: () => void } | undefined;
  private waitingSince: number | undefined;
  private readonly flushWaiters: Array<{ target: SpoolPosition; resolve: () => void }> = [];
  private readonly unsubscribe: () => void;
  private state: DeliveryState = 'idle';
  private consecutiveFailures = 0;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private nextAttemptAt: number | undefined;
  private lastDeliveredAt: number | undefined;

  constructor(
    readonly name: string,
    private readonly spool: Spool,
    private readonly consumer: SpoolConsumer,
    readonly sink: Sink,
    readonly accounting: SinkAccounting,
    private readonly options: DeliveryLoopOptions,
  ) {
    // A backlog found at start is old already: send it without waiting for the delay.
    if (consumer.recovered > 0) this.waitingSince = 0;
    this.unsubscribe = spool.onAppend(() => this.onAppend());
  }

  start(): void {
    this.running ??= this.run().catch((err: unknown) => {
      this.state = 'stopped';
      this.options.log.error({ sink: this.name, ...errorFields(err) }, 'delivery loop failed');
    });
  }

  /** Resolves when everything appended before the call is delivered (or dropped) for this sink. */
  flush(): Promise<void> {
    const target = this.spool.endPosition();
    if (this.consumer.doneUpTo(target)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.flushWaiters.push({ target, resolve });
      this.wake('delay');
      this.wake('empty');
    });
  }

  /**
   * Delivers what it can within `deadlineMs` (no batching delay, retries go
   * on), then stops. What is not delivered stays in the spool for the next start.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.running === undefined) {
      this.unsubscribe();
      return;
    }
    this.mode = 'drain';
    this.wakeAny();
    const finished = await raceTimeout(this.running, deadlineMs);
    if (!finished) {
      this.mode = 'stop';
      this.wakeAny();
      // A write already sent cannot be recalled; give it a moment to settle, then leave it.
      const settled = await raceTimeout(this.running, 2000);
      if (!settled) this.options.log.warn({ sink: this.name }, 'a batch write was still in flight at shutdown; it is re-sent at the next start');
    }
    this.unsubscribe();
    this.state = 'stopped';
    for (const waiter of this.flushWaiters.splice(0)) waiter.resolve();
  }

  status(): SinkStatus {
    const counts = this.accounting.counts;
    const pending = this.consumer.pending;
    const dropped = Object.values(counts.dropped).reduce((sum, n) => sum + n, 0);
    return {
      sink: this.name,
      destination: this.sink.name,
      ...counts,
      dropped: { ...counts.dropped },
      bodiesDropped: { ...counts.bodiesDropped },
      pending,
      unaccounted: counts.captured - counts.delivered - pending - dropped,
      deliveredLifetime: this.consumer.delivered,
      state: this.state,
      cursor: this.consumer.acknowledged,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      lastErrorAt: iso(this.lastErrorAt),
      nextAttemptAt: iso(this.nextAttemptAt),
      lastDeliveredAt: iso(this.lastDeliveredAt),
    };
  }

  get pending(): number {
    return this.consumer.pending;
  }

  private onAppend(): void {
    this.waitingSince ??= Date.now();
    if (this.sleeping?.reason === 'empty') this.wake('empty');
    else if (this.sleeping?.reason === 'delay') {
      const unread = this.consumer.unread();
      if (unread.records >= this.options.maxRows || unread.bytes >= this.options.maxBytes) this.wake('delay');
    }
  }

  private async run(): Promise<void> {
    const { maxRows, maxBytes, maxDelayMs } = this.options;
    let cursorFailures = 0;
    while (this.mode !== 'stop') {
      const unread = this.consumer.unread();
      if (unread.records === 0 && !this.consumer.hasReplay) {
        this.waitingSince = undefined;
        this.settleFlushWaiters();
        if (this.mode === 'drain') break;
        this.state = 'idle';
        await this.sleep('empty');
        continue;
      }
      const urgent = this.consumer.hasReplay || this.flushWaiters.length > 0 || this.mode === 'drain' || unread.records >= maxRows || unread.bytes >= maxBytes;
      if (!urgent) {
        this.waitingSince ??= Date.now();
        const due = this.waitingSince + maxDelayMs - Date.now();
        if (due > 0) {
          this.state = 'batching';
          await this.sleep('delay', due);
          continue;
        }
      }
      let batch: SpoolBatch | undefined;
      try {
        batch = await this.consumer.next(maxRows, maxBytes);
      } catch (err) {
        this.noteFailure(describeError(err));
        if (err instanceof CursorWriteError) {
          // Nothing was lost: the same batch is read again once the cursor can be saved.
          cursorFailures += 1;
          const delay = retryDelayMs(this.options.backoff, cursorFailures);
          this.options.log.error({ sink: this.name, ...errorFields(err, 'CAP_ERR_SPOOL_WRITE'), retryInMs: delay }, 'spool cursor not saved; batch not started, retrying');
          this.state = 'retrying';
          await this.sleep('retry', delay);
          continue;
        }
        this.options.log.error({ sink: this.name, ...errorFields(err, 'CAP_ERR_SPOOL_READ') }, 'spool records unreadable; counted as dropped');
        continue;
      }
      cursorFailures = 0;
      this.waitingSince = undefined;
      if (batch === undefined) continue;
      await this.deliver(batch);
      this.settleFlushWaiters();
    }
    this.state = 'stopped';
  }

  private async deliver(batch: SpoolBatch): Promise<void> {
    if (batch.lines.length === 0) {
      await this.ack(batch, false);
      return;
    }
    const lines = batch.lines;
    let payload: Buffer | undefined;
    let text: string | undefined;
    // Joined and decoded only for the sinks that need them: the stores take the lines as they are.
    const joined = (): Buffer => (payload ??= Buffer.concat(lines));
    const rowBatch: RowBatch = {
      lines,
      get payload(): Buffer {
        return joined();
      },
      get jsonEachRow(): string {
        text ??= joined().toString('utf8');
        return text;
      },
      rowCount: batch.lines.length,
      byteLength: batch.bytes,
      batchId: batch.id,
    };
    const metrics = this.options.metrics;
    let attempt = 0;
    let rejections = 0;
    for (;;) {
      this.state = 'sending';
      const started = performance.now();
      let result: WriteResult;
      try {
        result = await this.sink.write(rowBatch);
      } catch (err) {
        result = { ok: false, retryable: true, error: err instanceof Error ? err : new Error(String(err)) };
      }
      if (result.ok) {
        this.accounting.delivered(rowBatch.rowCount);
        // Labelled by the delivery name, like every per-sink metric and `status`; the store kind is status's `destination`.
        metrics?.rowsWritten.inc({ sink: this.name }, rowBatch.rowCount);
        metrics?.batchSeconds.observe({ sink: this.name }, (performance.now() - started) / 1000);
        this.consecutiveFailures = 0;
        this.nextAttemptAt = undefined;
        this.lastDeliveredAt = Date.now();
        if (attempt > 0) this.options.log.info({ sink: this.name, attempts: attempt + 1, rows: rowBatch.rowCount }, 'sink recovered; batch delivered');
        await this.ack(batch, true);
        return;
      }
      attempt += 1;
      this.noteFailure(result.error.message);
      metrics?.errors.inc({ kind: `${this.name}_write` });
      if (!result.retryable) {
        rejections += 1;
        if (rejections >= this.options.rejectAttempts) {
          this.accounting.dropped(rowBatch.rowCount, 'rejected');
          this.options.log.error({ sink: this.name, ...errorFields(result.error), rows: rowBatch.rowCount, batchId: batch.id }, 'sink refused a batch as invalid; counted as dropped');
          await this.ack(batch, false);
          return;
        }
      }
      if (this.mode === 'stop') return; // Stays in flight on disk: the next start re-sends it with the same id.
      const delay = retryDelayMs(this.options.backoff, attempt, result.retryAfterMs);
      this.nextAttemptAt = Date.now() + delay;
      this.state = 'retrying';
      const log = attempt === 1 || attempt % 10 === 0 ? this.options.log.warn.bind(this.options.log) : this.options.log.debug.bind(this.options.log);
      log({ sink: this.name, ...errorFields(result.error), attempt, retryInMs: delay, rows: rowBatch.rowCount }, 'sink write failed; retrying');
      await this.sleep('retry', delay);
      if ((this.mode as string) === 'stop') return; // stop() may have run while this slept
    }
  }

  private async ack(batch: SpoolBatch, delivered: boolean): Promise<void> {
    try {
      await this.consumer.ack(batch, delivered);
    } catch (err) {
      // The sink has the batch; after a restart it is re-sent with the same id (deduplicated by ClickHouse).
      this.options.log.error({ sink: this.name, ...errorFields(err, 'CAP_ERR_SPOOL_WRITE') }, 'cursor not saved');
    }
  }

  private noteFailure(message: string): void {
    this.consecutiveFailures += 1;
    this.lastError = message;
    this.lastErrorAt = Date.now();
  }

  private settleFlushWaiters(): void {
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const waiter = this.flushWaiters[i]!;
      if (this.consumer.doneUpTo(waiter.target)) {
        this.flushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private sleep(reason: SleepReason, ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (this.sleeping?.wake === wake) this.sleeping = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(wake, ms);
      this.sleeping = { reason, wake };
    });
  }

  private wake(reason: SleepReason): void {
    if (this.sleeping?.reason === reason) this.sleeping.wake();
  }

  private wakeAny(): void {
    this.sleeping?.wake();
  }
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

async function raceTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([promise.then(() => true as const), timeout]);
  clearTimeout(timer);
  return result;
}
