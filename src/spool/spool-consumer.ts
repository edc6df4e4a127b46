/**
 * One sink's view of the spool: where it has read to, what it has
 * acknowledged, and the cursor file that makes both survive a crash.
 *
 * cursor-<name>.json holds the acknowledged position plus the batch in
 * flight (its exact range), written atomically:
 *   - before the sink is asked to write a batch ("intent": segment, record, count),
 *   - after the sink acknowledged it (position advanced, intent cleared).
 * After a crash the first batch is therefore re-read with exactly the same
 * range, and its id — derived from the spool id and that range — is the
 * same: ClickHouse drops it as a duplicate (insert_deduplication_token), an
 * OTLP receiver sees it again with the same capture ids.
 */
import * as path from 'node:path';
import { readJsonFile, writeJsonAtomic } from './atomic-file';
import type { Spool, SpoolPosition } from './spool';

/** Accounting events for one consumer; each record is captured once and ends delivered, pending or dropped. */
export interface ConsumerHooks {
  /** Records that entered this consumer's queue: appended now, or found in the spool at start. */
  captured(count: number, source: 'appended' | 'recovered'): void;
  dropped(count: number, reason: string): void;
  /** Records that will be delivered without their bodies. */
  bodiesDropped(count: number, reason: string): void;
}

export interface SpoolRange {
  segment: number;
  record: number;
  count: number;
}

export interface CursorState {
  format: 1;
  spoolId: string;
  segment: number;
  record: number;
  /** Records acknowledged by this sink over the spool's lifetime. */
  delivered: number;
  inflight: SpoolRange | null;
  updatedAt: string;
}

export interface SpoolBatch {
  /** `<spoolId>-<segment>-<record>-<count>`: the same range always gets the same id. */
  readonly id: string;
  readonly range: SpoolRange;
  /** Payloads (JSONEachRow lines) that passed their checksum. */
  readonly lines: Buffer[];
  readonly bytes: number;
  /** True when this is the in-flight batch of a previous run, re-sent. */
  readonly replayed: boolean;
}

/** next() could not persist the batch in flight: nothing was read or dropped; try again later. */
export class CursorWriteError extends Error {
  override readonly name = 'CursorWriteError';
}

export function cursorFileName(name: string): string {
  return `cursor-${name}.json`;
}

export function batchId(spoolId: string, range: SpoolRange): string {
  return `${spoolId}-${range.segment}-${range.record}-${range.count}`;
}

export class SpoolConsumer {
  readonly file: string;
  /** Records found in the spool for this consumer when it was registered. */
  readonly recovered: number;
  private ackPos: SpoolPosition;
  private readPos: SpoolPosition;
  private replay: SpoolRange | undefined;
  private inflightCount = 0;
  private deliveredTotal = 0;

  constructor(
    private readonly spool: Spool,
    readonly name: string,
    readonly hooks: ConsumerHooks,
  ) {
    this.file = path.join(spool.dir, cursorFileName(name));
    const state = readJsonFile<CursorState>(this.file);
    this.ackPos = { segment: 0, record: 0 };
    if (state !== undefined && state.spoolId === spool.spoolId) {
      this.ackPos = { segment: state.segment, record: state.record };
      this.deliveredTotal = state.delivered;
      const intent = state.inflight;
      const segment = intent === null ? undefined : spool.segment(intent.segment);
      if (intent !== null && segment !== undefined && intent.record + intent.count <= segment.count) this.replay = intent;
    }
    this.readPos = this.replay !== undefined ? { segment: this.replay.segment, record: this.replay.record } : this.ackPos;
    this.recovered = spool.countFrom(this.readPos).records;
    if (this.recovered > 0) hooks.captured(this.recovered, 'recovered');
    const torn = spool.recovery.tornTailRecords;
    if (torn > 0) {
      hooks.captured(torn, 'recovered');
      hooks.dropped(torn, 'spool_torn_tail');
    }
  }

  /** Position up to which this sink has acknowledged everything. */
  get acknowledged(): SpoolPosition {
    return this.ackPos;
  }

  get readPosition(): SpoolPosition {
    return this.readPos;
  }

  get inflight(): number {
    return this.inflightCount;
  }

  get delivered(): number {
    return this.deliveredTotal;
  }

  /** True while the first batch must be the previous run's in-flight batch. */
  get hasReplay(): boolean {
    return this.replay !== undefined;
  }

  /** Records not yet read (what the next batches will carry). */
  unread(): { records: number; bytes: number } {
    return this.spool.countFrom(this.readPos);
  }

  /** Records captured for this sink and neither delivered nor dropped. */
  get pending(): number {
    return this.inflightCount + this.unread().records;
  }

  /** True when nothing before `target` is still unread or in flight. */
  doneUpTo(target: SpoolPosition): boolean {
    if (this.inflightCount > 0) return false;
    const next = this.spool.normalize(this.readPos);
    return next.segment > target.segment || (next.segment === target.segment && next.record >= target.record);
  }

  /**
   * Reads the next batch (at most maxRows records and maxBytes payload bytes,
   * at least one record, never across a segment end) and persists it as the
   * batch in flight. Undefined when there is nothing to read.
   */
  async next(maxRows: number, maxBytes: number): Promise<SpoolBatch | undefined> {
    if (this.inflightCount > 0) throw new Error(`spool consumer ${this.name} already has a batch in flight`);
    let range: SpoolRange;
    const replayed = this.replay !== undefined;
    if (this.replay !== undefined) {
      range = this.replay;
      this.replay = undefined;
    } else {
      const pos = this.spool.normalize(this.readPos);
      const segment = this.spool.segment(pos.segment);
      if (segment === undefined || pos.record >= segment.count) return undefined;
      let count = 0;
      let bytes = 0;
      while (pos.record + count < segment.count && count < maxRows) {
        const length = segment.lengths[pos.record + count]!;
        if (count > 0 && bytes + length > maxBytes) break;
        bytes += length;
        count += 1;
      }
      range = { segment: pos.segment, record: pos.record, count };
    }
    const previousReadPos = this.readPos;
    this.readPos = { segment: range.segment, record: range.record + range.count };
    this.inflightCount = range.count;
    // readRange takes its offsets and file descriptor before its first await.
    const [reading, persisting] = await Promise.allSettled([this.spool.readRange(range.segment, range.record, range.count), this.persist(range)]);
    if (reading.status === 'rejected') {
      // Unreadable: these records are lost for this sink; the loop goes on with the next ones.
      this.inflightCount = 0;
      this.hooks.dropped(range.count, 'spool_read_failed');
      this.ackPos = this.readPos;
      throw reading.reason;
    }
    if (persisting.status === 'rejected') {
      // The records are intact; only the cursor file could not be written (disk
      // full). Nothing advances and nothing is counted: the same range is read
      // again on the next attempt, with the same batch id.
      this.inflightCount = 0;
      this.readPos = previousReadPos;
      if (replayed) this.replay = range;
      const cause = persisting.reason as Error;
      throw new CursorWriteError(`spool cursor ${this.name} not saved: ${cause.message}`, { cause });
    }
    const payloads = reading.value;
    const lines = payloads.filter((payload): payload is Buffer => payload !== undefined);
    if (lines.length < range.count) this.hooks.dropped(range.count - lines.length, 'spool_corrupt');
    this.inflightCount = lines.length;
    return { id: batchId(this.spool.spoolId, range), range, lines, bytes: lines.reduce((sum, line) => sum + line.length, 0), replayed };
  }

  /** The sink took the batch (or it was given up on and counted): advance and persist the cursor. */
  async ack(batch: SpoolBatch, delivered: boolean): Promise<void> {
    if (delivered) this.deliveredTotal += batch.lines.length;
    this.inflightCount = 0;
    if (this.replay === undefined) this.ackPos = this.readPos;
    await this.persist(null);
    this.spool.collect();
  }

  /** Index in segment `seq` from which records are still unread by this consumer. */
  unreadFrom(seq: number): number {
    if (this.readPos.segment > seq) return Number.POSITIVE_INFINITY;
    if (this.readPos.segment < seq) return 0;
    return this.readPos.record;
  }

  /** Segment `seq` is being deleted: continue after it. */
  skipPast(seq: number): void {
    if (this.readPos.segment <= seq) {
      this.readPos = { segment: seq + 1, record: 0 };
      if (this.replay !== undefined && this.replay.segment <= seq) this.replay = undefined;
      if (this.inflightCount === 0 && this.replay === undefined) this.ackPos = this.readPos;
    }
  }

  private persist(inflight: SpoolRange | null): Promise<void> {
    const state: CursorState = {
      format: 1,
      spoolId: this.spool.spoolId,
      segment: this.ackPos.segment,
      record: this.ackPos.record,
      delivered: this.deliveredTotal,
      inflight,
      updatedAt: new Date().toISOString(),
    };
    return writeJsonAtomic(this.file, state);
  }
}
