/**
 * The in-flight journal: exchanges that are over on the gRPC event loop but
 * whose rows are not in the spool yet (a worker lane is gathering or
 * processing them). Without it a kill -9 in that window — tens of
 * milliseconds under load — loses them without a trace.
 *
 * Layout of <data-dir>/inflight/:
 *   000000000007.jnl   append-only, in the spool's segment format
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
 * Size: past rotateBytes, and past twice what the open entries take, the
 * file is replaced by a new one that starts with the entries still open
 * (kept in memory, a few hundred bytes each), and the old one is deleted.
 * One file at a time, however long an exchange stays in a worker, and a
 * backlog of open entries is rewritten only after as many bytes again were
 * written; a crash between the two files leaves both, read as one.
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
import { fsyncDirSync, makePrivateDirSync, PRIVATE_FILE_MODE } from './atomic-file';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeRecord, encodeSegmentHeader, scanSegment } from './record-format';
import type { ErrorCode } from '../errors';

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
  private readonly previousFiles: string[] = [];
  /** Begun and not done: capture id → entry JSON (what a new file starts with). */
  private readonly openEntries = new Map<string, string>();
  /** Bytes of the open entries' JSON (what a new file starts with). */
  private openBytes = 0;
  private queued: string[] = [];
  private flushScheduled = false;
  private file = '';
  private fd = -1;
  private size = 0;
  private nextGen = 1;
  private closed = false;

  private constructor(private readonly options: InflightJournalOptions) {
    this.dir = options.dir;
    makePrivateDirSync(this.dir);
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

  /** Queues an exchange handed to a worker; written before this turn's replies leave the process. */
  begin(id: string, entryJson: string): void {
    if (this.closed) return;
    this.openEntries.set(id, entryJson);
    this.openBytes += entryJson.length;
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
      const json = this.openEntries.get(id);
      if (json === undefined) continue;
      this.openEntries.delete(id);
      this.openBytes -= json.length;
      done.push(id);
    }
    if (done.length > 0) this.write(done);
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
    try {
      fs.rmSync(this.file, { force: true });
    } catch (err) {
      this.options.onWriteError?.(err as Error);
    }
  }

  private readonly flushQueued = (): void => {
    this.flushScheduled = false;
    this.write([]);
  };

  /** One record: the queued begins, then `done`. */
  private write(done: string[]): void {
    if (this.closed || (this.queued.length === 0 && done.length === 0)) return;
    const record = journalRecord(this.queued, done);
    this.queued = [];
    this.append(record);
    if (this.size < this.options.rotateBytes || this.size < 2 * this.openBytes) return;
    const old = this.file;
    try {
      this.startFile();
    } catch (err) {
      // Keep writing to the current file; the next write tries again.
      this.options.onWriteError?.(err as Error);
      return;
    }
    try {
      fs.rmSync(old, { force: true });
    } catch (err) {
      // Left behind, it is read as part of the journal at the next start: no harm but its size.
      this.options.onWriteError?.(err as Error);
    }
  }

  private append(record: Buffer): void {
    let written = 0;
    try {
      while (written < record.length) written += fs.writeSync(this.fd, record, written, record.length - written, this.size + written);
      this.size += record.length;
    } catch (err) {
      // Leave no half record: the next write starts where this one should have.
      if (written > 0) {
        try {
          fs.ftruncateSync(this.fd, this.size);
        } catch {
          // The checksum makes a start-up read skip what this could not undo.
        }
      }
      this.options.onWriteError?.(err as Error);
    }
  }

  /** Makes a new file, holding every open entry, the written one; on failure the current one stays in use. */
  private startFile(): void {
    const file = path.join(this.dir, fileName(this.nextGen++));
    const parts = [encodeSegmentHeader(0), encodeRecord(Buffer.from(JSON.stringify({ spoolSegment: this.options.spoolSegment() }), 'utf8'))];
    if (this.openEntries.size > 0) parts.push(journalRecord([...this.openEntries.values()], []));
    const start = Buffer.concat(parts);
    const fd = fs.openSync(file, 'w', PRIVATE_FILE_MODE);
    try {
      fs.writeSync(fd, start, 0, start.length, 0);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw err;
    }
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.file = file;
    this.fd = fd;
    this.size = start.length;
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
      if (scan === undefined) {
        // Shorter than a header: died while creating it, nothing was journaled there.
        if (buffer.length >= SEGMENT_HEADER_BYTES) this.recovery.corruptRegions += 1;
        continue;
      }
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
      this.options.log?.warn({ code: 'CAP_ERR_SPOOL_CORRUPT' satisfies ErrorCode, dir: this.dir, ...this.recovery }, 'in-flight journal records cut or damaged (the process died during a write)');
    }
  }
}

/** One journal record: entries begun (JSON texts), then ids done. */
function journalRecord(begun: readonly string[], done: readonly string[]): Buffer {
  let json = '{';
  if (begun.length > 0) json += `"begin":[${begun.join(',')}]`;
  if (done.length > 0) json += `${begun.length > 0 ? ',' : ''}"done":${JSON.stringify(done)}`;
  return encodeRecord(Buffer.from(json + '}', 'utf8'));
}
