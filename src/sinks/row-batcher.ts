/**
 * Collects finished rows into batches and writes them to one sink, in order.
 *
 * A batch is closed by whichever limit comes first: rows, bytes, or the delay
 * since its first row. Writes are sequential (one batch in flight), and a
 * failed write is retried with capped exponential backoff and jitter while
 * new rows keep queueing behind it. Memory is bounded by `pendingMaxBytes`:
 * past it, new rows are dropped and counted (rows_dropped{reason=
 * "pending_full"}) instead of growing the heap until the process dies.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { CaptureMetrics } from '../metrics';
import type { RowBatch, Sink } from './sink';

export interface RowBatcherOptions {
  maxRows: number;
  maxBytes: number;
  maxDelayMs: number;
  pendingMaxBytes: number;
  metrics: CaptureMetrics;
  log: Logger;
}

/** Retry policy for failed writes. */
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 10_000;
const RETRY_JITTER = 0.2;

interface OpenBatch {
  lines: string[];
  bytes: number;
  firstId: string;
}

export class RowBatcher {
  private open: OpenBatch = { lines: [], bytes: 0, firstId: '' };
  private readonly sealed: RowBatch[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private closed = false;
  private flushWaiters: Array<() => void> = [];
  private batchSeq = 0;
  private readonly instanceTag = `${process.pid.toString(36)}${Date.now().toString(36)}`;

  constructor(
    private readonly sink: Sink,
    private readonly options: RowBatcherOptions,
  ) {}

  /** Rows accepted but not yet stored. */
  get pendingRows(): number {
    return this.open.lines.length + this.sealed.reduce((sum, batch) => sum + batch.rowCount, 0);
  }

  add(line: string): void {
    const bytes = Buffer.byteLength(line);
    if (this.pendingBytes + bytes > this.options.pendingMaxBytes) {
      this.options.metrics.rowsDropped.inc({ reason: 'pending_full' });
      this.options.log.warn({ pendingBytes: this.pendingBytes }, 'CAP_ERR_PENDING_FULL: storage is behind; row dropped');
      return;
    }
    if (this.open.lines.length === 0) {
      this.open.firstId = line.slice(0, 200);
      if (!this.closed) this.timer = setTimeout(() => this.seal(), this.options.maxDelayMs);
    }
    this.open.lines.push(line);
    this.open.bytes += bytes;
    this.pendingBytes += bytes;
    if (this.open.lines.length >= this.options.maxRows || this.open.bytes >= this.options.maxBytes) this.seal();
  }

  /** Seals what is open and resolves when everything accepted so far is stored (or given up on close). */
  async flush(): Promise<void> {
    this.seal();
    if (this.sealed.length === 0 && !this.writing) return;
    await new Promise<void>((resolve) => this.flushWaiters.push(resolve));
  }

  /** Flushes, then stops: rows still unstorable after `deadlineMs` are counted as dropped. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), deadlineMs).unref());
    const result = await Promise.race([this.flush().then(() => 'flushed' as const), timeout]);
    if (result === 'timeout') {
      const lost = this.pendingRows;
      this.sealed.length = 0;
      this.open = { lines: [], bytes: 0, firstId: '' };
      if (lost > 0) {
        this.options.metrics.rowsDropped.inc({ reason: 'shutdown_store_unavailable' }, lost);
        this.options.log.error({ rows: lost }, 'CAP_ERR_STORE_WRITE: store still failing at shutdown; rows dropped');
      }
    }
  }

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.open.lines.length === 0) return;
    const jsonEachRow = this.open.lines.join('');
    this.batchSeq += 1;
    this.sealed.push({
      jsonEachRow,
      rowCount: this.open.lines.length,
      byteLength: this.open.bytes,
      // Unique per batch and stable across its retries: the ClickHouse deduplication token.
      batchId: `${this.instanceTag}-${this.batchSeq}-${this.open.lines.length}`,
    });
    this.open = { lines: [], bytes: 0, firstId: '' };
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    let attempt = 0;
    while (this.sealed.length > 0) {
      const batch = this.sealed[0]!;
      const started = performance.now();
      const result = await this.sink.write(batch);
      if (this.sealed[0] !== batch) {
        // close() gave up on it while the write was in flight.
        attempt = 0;
        continue;
      }
      if (result.ok) {
        this.options.metrics.batchSeconds.observe({ sink: this.sink.name }, (performance.now() - started) / 1000);
        this.options.metrics.rowsWritten.inc({ sink: this.sink.name }, batch.rowCount);
        this.sealed.shift();
        this.pendingBytes -= batch.byteLength;
        attempt = 0;
        continue;
      }
      this.options.metrics.errors.inc({ kind: `${this.sink.name}_write` });
      attempt += 1;
      const backoff = Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** (attempt - 1));
      const delay = result.retryAfterMs ?? backoff * (1 - RETRY_JITTER + Math.random() * 2 * RETRY_JITTER);
      this.options.log.warn({ err: result.error.message, attempt, retryInMs: Math.round(delay), rows: batch.rowCount }, 'CAP_ERR_STORE_WRITE: batch write failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.closed && this.sealed.length === 0) break;
    }
    this.writing = false;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
