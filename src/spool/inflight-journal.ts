/**
 * The in-flight journal: exchanges that are over on the gRPC event loop but
 * whose rows are not in the spool yet (a worker lane is gathering or
 * processing them). Without it a kill -9 in that window — tens of
 * milliseconds under load — loses them without a trace.
 *
 * Layout of <data-dir>/inflight/:
 *   000000000007.jnl   append-only files in the spool's segment format
 *                      (record-format.ts: header, then checksummed records)
 *
 * Records are JSON objects:
 *   {"spoolSegment":N}              first record: the spool's active segment when
 *                                   the file was started (rows of its entries land there or later)
 *   {"begin":[entry…],"done":[id…]} exchanges handed to a worker, then exchanges
 *                                   whose rows reached the spool (or were counted as dropped)
 *
 * Cost on the event loop: begin() only queues the entry; the queued entries
 * go to disk as one record, with one write(2), in a process.nextTick — before
 * the HTTP/2 session flushes this turn's replies to Envoy (it does that from
 * a native immediate), so an exchange whose last reply left the process is
 * in the journal. done() is one write per worker batch. No fsync: this
 * covers a killed process (the page cache survives it), not power loss,
 * which the spool's own fsync window already does not cover either.
 *
 * Retirement: every entry counts against the file it was written to; a file
 * past rotateBytes gets a successor, and files are deleted oldest first once
 * every entry in them is done (a done mark can sit in a newer file than its
 * begin, never an older one, so deleting in order never orphans a begin).
 *
 * At open, the previous run's files are read: entries begun and never done
 * are `unfinished`. Their rows either never reached the spool, or did so in
 * the last append before the kill (the done mark is the next write): the
 * caller looks them up by capture id in the spool segments from
 * `spoolSegmentFloor` on, and rebuilds the others. The previous files are
 * removed by discardPrevious() once that is settled and synced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { fsyncDirSync } from './atomic-file';
import { RECORD_HEADER_BYTES, encodeRecord, encodeSegmentHeader, scanSegment } from './record-format';

/** What is journaled per exchange: any JSON object with the exchange's capture id. */
export interface JournalEntry {
  id: string;
}

export interface InflightJournalOptions {
  dir: string;
  /** A file past this size gets a successor; it is deleted once all its exchanges are done. */
  rotateBytes: number;
  /** The spool's active segment (its rows of entries journaled from now on land there or later). */
  spoolSegment: () => number;
  /** Called when a write fails (the exchanges are then not covered until the next write succeeds). */
  onWriteError?: (err: Error) => void;
  log?: Logger;
}

/** What opening the journal found of the previous run. */
export interface JournalRecovery {
  files: number;
  /** Entries begun and never marked done. */
  unfinished: number;
  /** Torn records cut off at a file's end (the process died during that write). */
  tornRecords: number;
  /** Damaged regions skipped in the middle of a file. */
  corruptRegions: number;
}

interface JournalFile {
  file: string;
  size: number;
  /** Entries written here and not yet done. */
  open: number;
}

const FILE_NAME = /^(\d{12,})\.jnl$/;

function fileName(gen: number): string {
  return `${String(gen).padStart(12, '0')}.jnl`;
}

export class InflightJournal {
  readonly dir: string;
  readonly recovery: JournalRecovery = { files: 0, unfinished: 0, tornRecords: 0, corruptRegions: 0 };
  /** Entries of the previous run that were never done, in journal order. */
  readonly unfinished: JournalEntry[] = [];
  /** The lowest spool segment the previous run's unfinished rows can be in. */
  spoolSegmentFloor = Number.POSITIVE_INFINITY;
  /** Ascending by gen; the last one is written. */
  private readonly files: JournalFile[] = [];
  private readonly previousFiles: string[] = [];
  private readonly openEntries = new Map<string, JournalFile>();
  private queued: string[] = [];
  private flushScheduled = false;
  private fd = -1;
  private nextGen = 1;
  private closed = false;

  private constructor(private readonly options: InflightJournalOptions) {
    this.dir = options.dir;
    fs.mkdirSync(this.dir, { recursive: true });
  }

  /** Reads what the previous run left, then starts a fresh file for this run. */
  static open(options: InflightJournalOptions): InflightJournal {
    const journal = new InflightJournal(options);
    journal.readPrevious();
    journal.startFile();
    return journal;
  }

  /** Exchanges journaled and not yet done. */
  get openCount(): number {
    return this.openEntries.size;
  }

  get fileCount(): number {
    return this.files.length;
  }

  /** Queues an exchange handed to a worker; written before this turn's replies leave the process. */
  begin(id: string, entryJson: string): void {
    if (this.closed) return;
    const active = this.files[this.files.length - 1]!;
    this.openEntries.set(id, active);
    active.open += 1;
    this.queued.push(entryJson);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushQueued);
    }
  }

  /** Marks exchanges whose rows reached the spool (or were counted as dropped): one write. */
  done(ids: readonly string[]): void {
    const done: string[] = [];
    for (const id of ids) {
      const file = this.openEntries.get(id);
      if (file === undefined) continue;
      this.openEntries.delete(id);
      file.open -= 1;
      done.push(id);
    }
    if (done.length === 0) return;
    this.write(done);
    this.collect();
  }

  /** Removes the previous run's files once their unfinished entries are settled (rebuilt and synced, or found spooled). */
  discardPrevious(): void {
    for (const file of this.previousFiles) fs.rmSync(file, { force: true });
    if (this.previousFiles.length > 0) fsyncDirSync(this.dir);
    this.previousFiles.length = 0;
  }

  /** Clean shutdown, after the pipeline is idle: nothing is in flight, so nothing is left behind. */
  close(): void {
    if (this.closed) return;
    this.write([]);
    this.closed = true;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    if (this.openEntries.size > 0) {
      this.options.log?.warn({ exchanges: this.openEntries.size }, 'in-flight journal closed with exchanges not spooled; the next start rebuilds them');
      return;
    }
    for (const file of this.files) fs.rmSync(file.file, { force: true });
    this.files.length = 0;
  }

  private readonly flushQueued = (): void => {
    this.flushScheduled = false;
    this.write([]);
  };

  /** One record: the queued begins, then `done`. */
  private write(done: string[]): void {
    if (this.closed || (this.queued.length === 0 && done.length === 0)) return;
    let json = '{';
    if (this.queued.length > 0) json += `"begin":[${this.queued.join(',')}]`;
    if (done.length > 0) json += `${this.queued.length > 0 ? ',' : ''}"done":${JSON.stringify(done)}`;
    this.queued = [];
    this.append(encodeRecord(Buffer.from(json + '}', 'utf8')));
    if (this.files[this.files.length - 1]!.size < this.options.rotateBytes) return;
    try {
      this.startFile();
    } catch (err) {
      // Keep writing to the current file; the next write tries again.
      this.options.onWriteError?.(err as Error);
      return;
    }
    this.collect();
  }

  private append(record: Buffer): void {
    const active = this.files[this.files.length - 1]!;
    let written = 0;
    try {
      while (written < record.length) written += fs.writeSync(this.fd, record, written, record.length - written, active.size + written);
      active.size += record.length;
    } catch (err) {
      // Leave no half record: the next write starts where this one should have.
      if (written > 0) {
        try {
          fs.ftruncateSync(this.fd, active.size);
        } catch {
          // The checksum makes a start-up read skip what this could not undo.
        }
      }
      this.options.onWriteError?.(err as Error);
    }
  }

  /** Deletes the oldest files while every entry in them is done (never the written one). */
  private collect(): void {
    while (this.files.length > 1 && this.files[0]!.open === 0) {
      fs.rmSync(this.files.shift()!.file, { force: true });
    }
  }

  /** Makes a new file the written one; on failure the current one stays in use. */
  private startFile(): void {
    const gen = this.nextGen++;
    const file = path.join(this.dir, fileName(gen));
    const start = Buffer.concat([encodeSegmentHeader(0), encodeRecord(Buffer.from(JSON.stringify({ spoolSegment: this.options.spoolSegment() }), 'utf8'))]);
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, start, 0, start.length, 0);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw err;
    }
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = fd;
    this.files.push({ file, size: start.length, open: 0 });
  }

  private readPrevious(): void {
    const names = fs.readdirSync(this.dir);
    const gens = names
      .map((name) => FILE_NAME.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
    const begun = new Map<string, JournalEntry>();
    for (const gen of gens) {
      this.nextGen = Math.max(this.nextGen, gen + 1);
      const file = path.join(this.dir, fileName(gen));
      this.previousFiles.push(file);
      this.recovery.files += 1;
      const buffer = fs.readFileSync(file);
      const scan = scanSegment(buffer);
      if (scan === undefined) continue; // died while creating it: nothing was journaled there
      this.recovery.tornRecords += scan.tornTail;
      this.recovery.corruptRegions += scan.corruptRegions;
      scan.offsets.forEach((offset, i) => {
        const start = offset + RECORD_HEADER_BYTES;
        let record: { spoolSegment?: number; begin?: JournalEntry[]; done?: string[] };
        try {
          record = JSON.parse(buffer.toString('utf8', start, start + scan.lengths[i]!)) as typeof record;
        } catch {
          this.recovery.corruptRegions += 1;
          return;
        }
        if (typeof record.spoolSegment === 'number') this.spoolSegmentFloor = Math.min(this.spoolSegmentFloor, record.spoolSegment);
        for (const entry of record.begin ?? []) if (typeof entry?.id === 'string') begun.set(entry.id, entry);
        for (const id of record.done ?? []) begun.delete(id);
      });
    }
    this.unfinished.push(...begun.values());
    this.recovery.unfinished = this.unfinished.length;
    if (this.spoolSegmentFloor === Number.POSITIVE_INFINITY) this.spoolSegmentFloor = 0;
    if (this.recovery.tornRecords > 0 || this.recovery.corruptRegions > 0) {
      this.options.log?.warn({ dir: this.dir, ...this.recovery }, 'CAP_ERR_SPOOL_CORRUPT: in-flight journal records cut or damaged (the process died during a write)');
    }
  }
}
