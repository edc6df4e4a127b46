/**
 * The durable spool between capture and the sinks.
 *
 * Every finished exchange is appended here (one record per JSONEachRow
 * line, see record-format.ts) before any sink sees it; each sink reads the
 * spool through its own SpoolConsumer with its own persisted cursor, so a
 * slow or dead sink holds back only its own cursor, never capture or the
 * other sink.
 *
 * Layout of <data-dir>/spool/:
 *   spool.json            spool identity (random id, highest segment number reserved)
 *   000000000042.seg      append-only segments; the highest one is written, the others are sealed
 *   cursor-<sink>.json    per-sink cursor (see spool-consumer.ts)
 *
 * Positions are (segment, record index). Segment numbers are never reused
 * (spool.json holds the highest one reserved, SEGMENT_NUMBERS_RESERVED at a
 * time, so most rotations write no metadata; a restart skips what was left of
 * the reservation), and every run appends to a fresh segment, so a position
 * names the same record forever — which is what makes batch ids derived from
 * positions safe as ClickHouse deduplication tokens.
 *
 * Durability (fsyncIntervalMs): appends are written with write(2) at once,
 * so they survive a process crash (kill -9) as soon as append() returns;
 * surviving a kernel crash or power loss needs fdatasync, which is grouped:
 * at most one per fsyncIntervalMs (default 100 ms) covering every append
 * since the last one. 0 = fdatasync inside every append (each exchange costs a
 * disk flush on the event loop: safest, slowest). Larger values lose at most
 * that window of exchanges on power loss and cost fewer flushes.
 *
 * A rotation flushes nothing on the event loop either (with fsyncIntervalMs >
 * 0), since the gRPC replies wait behind it (five flushes took 3-15 ms on a
 * virtual disk): the sealed segment's fdatasync runs in the background, and
 * the new segment's header and directory entry are flushed with the next
 * grouped fdatasync, inside the same window. A power cut inside that window
 * can leave the new file without its header: the next start removes it when
 * it is shorter than one, and sets it aside as unreadable otherwise (its
 * records were all inside the window). With 0, a rotation flushes
 * synchronously, as every append does.
 *
 * Disk budget (maxBytes, whole files): the spool frees space in this order,
 * counting every loss per sink —
 *   1. rewrite sealed segments, oldest first, with their bodies emptied
 *      (RequestBodyNote/ResponseBodyNote = dropped_spool_full): started in
 *      the background once the spool is within a segment (or a quarter of the
 *      budget) of the limit, on a worker thread (segment-strip-worker.ts), so
 *      the JSON work on up to a whole segment never stalls the event loop;
 *   2. at the limit itself, empty the bodies of the incoming record;
 *   3. delete whole segments, oldest first (records dropped, reason spool_full).
 * Metadata is dropped only when even bodiless records do not fit: after every
 * body is gone, or when appends outrun the background rewrite.
 *
 * Index updates are single-threaded on the event loop: append() and the
 * budget's cheap steps are synchronous, a rewrite's result is renamed over
 * its segment and indexed in one tick, and reads of record bytes take their
 * file descriptor and offsets in the same tick, so a concurrent rewrite
 * (rename over) or deletion (unlink) never mixes two versions.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { fsyncDir, fsyncDirSync, makePrivateDirSync, PRIVATE_FILE_MODE, readJsonFile, writeJsonAtomicSync } from './atomic-file';
import { stripBodies } from './body-stripper';
import { FLAG_BODIES_STRIPPED, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeRecord, encodeSegmentHeader, scanSegment, validRecordAt } from './record-format';
import type { StripJob, StripReply } from './segment-strip-worker';
import { SpoolConsumer, type ConsumerHooks } from './spool-consumer';
import { describeError, errorFields, type ErrorCode } from '../errors';

export interface SpoolPosition {
  segment: number;
  record: number;
}

export function comparePositions(a: SpoolPosition, b: SpoolPosition): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.record - b.record;
}

export interface SpoolOptions {
  /** The spool directory itself (normally <data-dir>/spool). */
  dir: string;
  segmentMaxBytes: number;
  maxBytes: number;
  fsyncIntervalMs: number;
  log?: Logger;
}

/** What opening the spool found on disk. */
export interface SpoolRecovery {
  segments: number;
  records: number;
  bytes: number;
  /** Torn last records cut off (a crash during write, or unsynced pages lost). */
  tornTailRecords: number;
  /** Damaged regions in the middle of a segment that were skipped. */
  corruptRegions: number;
  /** Segment files whose header was unreadable, renamed to *.corrupt. */
  unreadableSegments: number;
}

export interface SpoolStats {
  appended: number;
  appendFailed: number;
  fsyncs: number;
  segmentsStripped: number;
  segmentsDropped: number;
  segmentsDeleted: number;
}

/** Why append() refused a record; the reason label of the per-sink drop counter. */
export type AppendFailureReason = 'spool_write_failed' | 'spool_record_too_large' | 'spool_closed';

export class Segment {
  constructor(
    readonly seq: number,
    readonly file: string,
    public offsets: number[],
    public lengths: number[],
    public size: number,
    public flags: number,
  ) {}

  get count(): number {
    return this.offsets.length;
  }

  /** Payload bytes of records [from, count). */
  payloadBytesFrom(from: number): number {
    const count = this.offsets.length;
    if (from >= count) return 0;
    const end = this.offsets[count - 1]! + RECORD_HEADER_BYTES + this.lengths[count - 1]!;
    return end - this.offsets[from]! - RECORD_HEADER_BYTES * (count - from);
  }
}

interface SpoolMeta {
  format: 1;
  spoolId: string;
  lastSegment: number;
}

const META_FILE = 'spool.json';
/** Segment numbers reserved in spool.json at once: one metadata flush per this many rotations. */
const SEGMENT_NUMBERS_RESERVED = 16;
/** A row's CaptureId is its second column (build-row.ts), well inside its first bytes. */
const CAPTURE_ID_SEARCH_BYTES = 160;
const CAPTURE_ID_NEAR_START = /"CaptureId":"([^"\\]*)"/;
const SEGMENT_NAME = /^(\d{12,})\.seg$/;

/** The JSON line inside an encoded record (only the disk-budget paths need it as text). */
function payloadText(record: Buffer): string {
  return record.toString('utf8', RECORD_HEADER_BYTES);
}

const STRIP_WORKER_FILE = path.join(__dirname, 'segment-strip-worker.js');

/** One worker thread per rewrite: rare (only past the budget's watermark), and nothing stays resident. */
function runStripWorker(job: StripJob): Promise<StripReply> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(STRIP_WORKER_FILE, { workerData: { stripJob: job } });
    let replied = false;
    worker.once('message', (reply: StripReply) => {
      replied = true;
      resolve(reply);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!replied) reject(new Error(`segment rewrite worker exited with code ${code}`));
    });
  });
}

export function segmentFileName(seq: number): string {
  return `${String(seq).padStart(12, '0')}.seg`;
}

export class Spool {
  readonly dir: string;
  readonly spoolId: string;
  readonly recovery: SpoolRecovery = { segments: 0, records: 0, bytes: 0, tornTailRecords: 0, corruptRegions: 0, unreadableSegments: 0 };
  /** Segment deletions under way (removeSegment). */
  private readonly removals = new Set<Promise<void>>();
  readonly stats: SpoolStats = { appended: 0, appendFailed: 0, fsyncs: 0, segmentsStripped: 0, segmentsDropped: 0, segmentsDeleted: 0 };
  /** Ascending by seq; the last one is the active (written) segment. */
  private readonly segments: Segment[] = [];
  private activeFd = -1;
  private totalBytes = 0;
  private lastSegment: number;
  /** The highest segment number spool.json reserves (durable); numbers up to it may be handed out without writing it. */
  private reservedThrough: number;
  /** Sealed segments' descriptors whose last fdatasync runs in the background (closed when it ends); sync() flushes them too. */
  private readonly sealing = new Set<number>();
  /** A segment file was created since the directory was last flushed. */
  private dirDirty = false;
  /** Background directory flushes under way: sync() must not return before an equivalent one. */
  private dirSyncsRunning = 0;
  private readonly consumers = new Map<string, SpoolConsumer>();
  private readonly appendListeners = new Set<() => void>();
  private syncTimer: NodeJS.Timeout | undefined;
  private lastSyncAt = 0;
  private dirty = false;
  private closed = false;
  /** The background rewrite of a sealed segment without bodies, while one runs. */
  private stripJob: Promise<void> | undefined;

  private constructor(private readonly options: SpoolOptions) {
    this.dir = options.dir;
    makePrivateDirSync(this.dir);
    const meta = readJsonFile<SpoolMeta>(path.join(this.dir, META_FILE));
    this.spoolId = meta?.spoolId ?? randomBytes(6).toString('hex');
    this.lastSegment = meta?.lastSegment ?? 0;
    this.reservedThrough = this.lastSegment;
  }

  /** Opens (or creates) the spool, repairs what a crash left behind, and starts a fresh segment. */
  static open(options: SpoolOptions): Spool {
    const spool = new Spool(options);
    spool.recover();
    spool.startSegment();
    return spool;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Records currently in the spool (delivered or not). */
  get records(): number {
    return this.segments.reduce((sum, segment) => sum + segment.count, 0);
  }

  /** The position right after the last appended record. */
  endPosition(): SpoolPosition {
    const active = this.active;
    return { segment: active.seq, record: active.count };
  }

  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** A reader with its own persisted cursor; `hooks` receive its accounting events. */
  registerConsumer(name: string, hooks: ConsumerHooks): SpoolConsumer {
    if (!/^[a-z0-9_-]+$/.test(name)) throw new Error(`invalid spool consumer name "${name}"`);
    if (this.consumers.has(name)) throw new Error(`spool consumer "${name}" is already registered`);
    const consumer = new SpoolConsumer(this, name, hooks);
    this.consumers.set(name, consumer);
    return consumer;
  }

  /**
   * Appends one JSONEachRow line. Never throws: a record that cannot be
   * stored is counted as captured and dropped (with the reason) for every
   * consumer, and false is returned.
   */
  append(line: string): boolean {
    return this.appendRecords([encodeRecord(Buffer.from(line, 'utf8'))]) === 1;
  }

  /**
   * Appends records already encoded (record-format.ts; the body workers build
   * them off the event loop). Never throws; returns how many were stored, the
   * others are counted as dropped with their reason. When the whole group
   * fits the budget and the active segment (the normal case) it costs one
   * write(2); otherwise each record goes through the budget rules alone.
   */
  appendRecords(records: Buffer[]): number {
    if (records.length === 0) return 0;
    let groupBytes = 0;
    for (const record of records) groupBytes += record.length;
    const active = this.active;
    // Anything the budget or a rotation would touch takes the record-by-record path.
    const fitsAsGroup = !this.closed && this.activeFd >= 0 && this.totalBytes + groupBytes <= this.options.maxBytes && active.size + groupBytes <= this.options.segmentMaxBytes;
    let stored = 0;
    let grouped = false;
    if (fitsAsGroup && records.length > 1) {
      try {
        this.writeActive(records);
        grouped = true;
      } catch {
        // Nothing of the group stayed on disk (writeActive cut it off): one by one below, each failure counted.
      }
    }
    if (grouped) {
      stored = records.length;
      this.stats.appended += stored;
      this.forEachConsumer((consumer) => consumer.hooks.captured(stored, 'appended'));
    } else {
      for (const record of records) if (this.appendOne(record)) stored += 1;
    }
    if (stored > 0) {
      this.scheduleSync();
      this.startStripping();
      for (const listener of this.appendListeners) listener();
    }
    return stored;
  }

  private appendOne(encoded: Buffer): boolean {
    let reason: AppendFailureReason = 'spool_write_failed';
    let record = encoded;
    try {
      if (this.closed) {
        reason = 'spool_closed';
        throw new Error('the spool is closed');
      }
      let strippable = true;
      if (SEGMENT_HEADER_BYTES + record.length > this.options.maxBytes) {
        // Alone larger than the whole budget: only its metadata can be kept.
        const stripped = stripBodies(payloadText(record));
        if (stripped !== undefined) record = encodeRecord(Buffer.from(stripped, 'utf8'));
        if (SEGMENT_HEADER_BYTES + record.length > this.options.maxBytes) {
          reason = 'spool_record_too_large';
          throw new Error(`record of ${record.length} bytes exceeds the spool budget of ${this.options.maxBytes} bytes`);
        }
        this.forEachConsumer((consumer) => consumer.hooks.bodiesDropped(1, 'spool_full'));
        strippable = false;
      }
      if (this.totalBytes + record.length > this.options.maxBytes) record = this.makeRoom(record, strippable);
      // No open segment means an earlier rotation failed (disk full): retry it now.
      if (this.activeFd < 0 || (this.active.count > 0 && this.active.size + record.length > this.options.segmentMaxBytes)) this.rotate();
      this.writeActive([record]);
    } catch (err) {
      this.stats.appendFailed += 1;
      this.options.log?.error({ ...errorFields(err, 'CAP_ERR_SPOOL_WRITE'), reason }, 'record not spooled; dropped');
      this.forEachConsumer((consumer) => {
        consumer.hooks.captured(1, 'appended');
        consumer.hooks.dropped(1, reason);
      });
      return false;
    }
    this.stats.appended += 1;
    this.forEachConsumer((consumer) => consumer.hooks.captured(1, 'appended'));
    return true;
  }

  /** Forces everything appended so far to stable storage. */
  sync(): void {
    // Every flush is tried even when one fails; the first failure is thrown at the end.
    let failure: unknown;
    const attempt = (flush: () => void): void => {
      try {
        flush();
      } catch (err) {
        failure ??= err;
      }
    };
    for (const fd of this.sealing) attempt(() => fs.fdatasyncSync(fd));
    if (this.dirDirty || this.dirSyncsRunning > 0) {
      fsyncDirSync(this.dir);
      this.dirDirty = false;
    }
    if (this.activeFd >= 0) {
      if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      attempt(() => fs.fdatasyncSync(this.activeFd));
      this.dirty = false;
      this.lastSyncAt = Date.now();
      this.stats.fsyncs += 1;
    }
    if (failure !== undefined) throw failure;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.sync();
    } catch (err) {
      this.options.log?.error(errorFields(err, 'CAP_ERR_SPOOL_WRITE'), 'final fsync failed');
    }
    this.closed = true;
    if (this.activeFd >= 0) fs.closeSync(this.activeFd);
    this.activeFd = -1;
  }

  // ---- used by SpoolConsumer ------------------------------------------------------------------

  /** The first existing position at or after `pos`. */
  normalize(pos: SpoolPosition): SpoolPosition {
    for (const segment of this.segments) {
      if (segment.seq < pos.segment) continue;
      if (segment.seq === pos.segment) {
        if (pos.record < segment.count || segment === this.active) return { segment: segment.seq, record: Math.min(pos.record, segment.count) };
        continue;
      }
      return { segment: segment.seq, record: 0 };
    }
    return this.endPosition();
  }

  segment(seq: number): Segment | undefined {
    return this.segments.find((segment) => segment.seq === seq);
  }

  isActive(segment: Segment): boolean {
    return segment === this.active;
  }

  /** Records and payload bytes at or after `pos`. */
  countFrom(pos: SpoolPosition): { records: number; bytes: number } {
    const start = this.normalize(pos);
    let records = 0;
    let bytes = 0;
    for (const segment of this.segments) {
      if (segment.seq < start.segment) continue;
      const from = segment.seq === start.segment ? start.record : 0;
      records += Math.max(0, segment.count - from);
      bytes += segment.payloadBytesFrom(from);
    }
    return { records, bytes };
  }

  /**
   * Takes the offsets of records [record, record+count) of `seq` and opens the
   * file in the same tick, then reads and checks them. Records whose checksum
   * no longer matches are returned as undefined.
   */
  async readRange(seq: number, record: number, count: number): Promise<Array<Buffer | undefined>> {
    const segment = this.segment(seq);
    if (segment === undefined || record + count > segment.count) throw new Error(`spool range ${seq}:${record}+${count} is gone`);
    const offsets = segment.offsets.slice(record, record + count);
    const lengths = segment.lengths.slice(record, record + count);
    const fd = fs.openSync(segment.file, 'r');
    try {
      const start = offsets[0]!;
      const end = offsets[count - 1]! + RECORD_HEADER_BYTES + lengths[count - 1]!;
      const buffer = Buffer.allocUnsafe(end - start);
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await new Promise<{ bytesRead: number }>((resolve, reject) =>
          fs.read(fd, buffer, filled, buffer.length - filled, start + filled, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead }))),
        );
        if (bytesRead === 0) throw new Error(`spool segment ${seq} is shorter than its index`);
        filled += bytesRead;
      }
      return offsets.map((offset, i) => {
        const at = offset - start;
        return validRecordAt(buffer, at) ? buffer.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + lengths[i]!) : undefined;
      });
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Capture ids of every record in segments `fromSeq` and later (start-up
   * only: tells which exchanges of the in-flight journal did reach the
   * spool). Reads the files whole; the id is taken from the start of each
   * row, where build-row puts it, and the row is parsed only when it is not there.
   */
  captureIdsFrom(fromSeq: number): Set<string> {
    const ids = new Set<string>();
    for (const segment of this.segments) {
      if (segment.seq < fromSeq || segment.count === 0) continue;
      const buffer = fs.readFileSync(segment.file);
      segment.offsets.forEach((offset, i) => {
        const start = offset + RECORD_HEADER_BYTES;
        const end = start + segment.lengths[i]!;
        const head = CAPTURE_ID_NEAR_START.exec(buffer.toString('latin1', start, Math.min(end, start + CAPTURE_ID_SEARCH_BYTES)));
        if (head !== null) {
          ids.add(head[1]!);
          return;
        }
        try {
          const row = JSON.parse(buffer.toString('utf8', start, end)) as { CaptureId?: unknown };
          if (typeof row.CaptureId === 'string') ids.add(row.CaptureId);
        } catch {
          // Checksum-valid yet not JSON: nothing to match against.
        }
      });
    }
    return ids;
  }

  /** Deletes sealed segments every registered consumer has acknowledged. */
  collect(): void {
    if (this.consumers.size === 0) return;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const end: SpoolPosition = { segment: oldest.seq, record: oldest.count };
      const everyoneDone = [...this.consumers.values()].every((consumer) => comparePositions(consumer.acknowledged, end) >= 0);
      if (!everyoneDone) return;
      this.removeSegment(oldest);
      this.stats.segmentsDeleted += 1;
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private forEachConsumer(fn: (consumer: SpoolConsumer) => void): void {
    for (const consumer of this.consumers.values()) fn(consumer);
  }

  private recover(): void {
    const names = fs.readdirSync(this.dir);
    for (const name of names) if (name.endsWith('.tmp')) fs.rmSync(path.join(this.dir, name), { force: true });
    const seqs = names
      .map((name) => SEGMENT_NAME.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);
    for (const seq of seqs) {
      this.lastSegment = Math.max(this.lastSegment, seq);
      const file = path.join(this.dir, segmentFileName(seq));
      const buffer = fs.readFileSync(file);
      const scan = scanSegment(buffer);
      if (scan === undefined) {
        if (buffer.length < SEGMENT_HEADER_BYTES) {
          // Died while creating the segment: nothing was ever in it.
          fs.rmSync(file, { force: true });
        } else {
          this.recovery.unreadableSegments += 1;
          fs.renameSync(file, `${file}.corrupt`);
          this.options.log?.error({ code: 'CAP_ERR_SPOOL_CORRUPT' satisfies ErrorCode, file }, 'spool segment header unreadable; moved aside');
        }
        continue;
      }
      if (scan.validLength < buffer.length) fs.truncateSync(file, scan.validLength);
      this.recovery.tornTailRecords += scan.tornTail;
      this.recovery.corruptRegions += scan.corruptRegions;
      if (scan.corruptRegions > 0) this.options.log?.error({ code: 'CAP_ERR_SPOOL_CORRUPT' satisfies ErrorCode, file, regions: scan.corruptRegions }, 'damaged spool records skipped');
      if (scan.offsets.length === 0) {
        fs.rmSync(file, { force: true });
        continue;
      }
      this.segments.push(new Segment(seq, file, scan.offsets, scan.lengths, scan.validLength, scan.flags));
      this.totalBytes += scan.validLength;
      this.recovery.segments += 1;
      this.recovery.records += scan.offsets.length;
    }
    this.recovery.bytes = this.totalBytes;
    if (this.recovery.tornTailRecords > 0) this.options.log?.warn({ records: this.recovery.tornTailRecords }, 'spool: torn record at the end of a segment cut off (crash during write)');
  }

  /**
   * Creates the next segment and makes it the active one. On failure (disk
   * full) nothing is left behind but a used-up number: the spool stays without
   * an active file and the next append tries again.
   */
  private startSegment(): void {
    const seq = this.lastSegment + 1;
    if (seq > this.reservedThrough) {
      // Persist the reservation first: a segment number must never be handed out twice.
      const reserved = seq + SEGMENT_NUMBERS_RESERVED - 1;
      writeJsonAtomicSync(path.join(this.dir, META_FILE), { format: 1, spoolId: this.spoolId, lastSegment: reserved } satisfies SpoolMeta);
      this.reservedThrough = reserved;
    }
    this.lastSegment = seq;
    const file = path.join(this.dir, segmentFileName(seq));
    try {
      this.createSegmentFile(seq, file);
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw err;
    }
  }

  private createSegmentFile(seq: number, file: string): void {
    const fd = fs.openSync(file, 'w', PRIVATE_FILE_MODE);
    const header = encodeSegmentHeader(0);
    const flushNow = this.flushesEveryAppend;
    try {
      fs.writeSync(fd, header, 0, header.length, 0);
      if (flushNow) fs.fdatasyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (flushNow) fsyncDirSync(this.dir);
    this.activeFd = fd;
    this.segments.push(new Segment(seq, file, [], [], header.length, 0));
    this.totalBytes += header.length;
    if (!flushNow) {
      // The header and the directory entry go to disk with the next grouped flush (see the header comment).
      this.dirDirty = true;
      this.scheduleSync();
    }
  }

  /**
   * Seals the active segment and starts the next one. Safe to call again
   * after a failure part-way: a segment already sealed is not touched twice,
   * so a rotation that ran out of space completes once space returns.
   */
  private rotate(): void {
    if (this.activeFd >= 0) {
      if (this.flushesEveryAppend) {
        // Every append is flushed before it returns, the last ones of this segment too.
        fs.fdatasyncSync(this.activeFd);
        this.stats.fsyncs += 1;
        fs.closeSync(this.activeFd);
      } else {
        this.sealInBackground(this.activeFd);
      }
      this.activeFd = -1;
    }
    this.startSegment();
  }

  /** The last fdatasync of a sealed segment, off the event loop; its descriptor is closed when it ends. */
  private sealInBackground(fd: number): void {
    this.sealing.add(fd);
    fs.fdatasync(fd, (err) => {
      this.sealing.delete(fd);
      if (err !== null) this.options.log?.error(errorFields(err, 'CAP_ERR_SPOOL_WRITE'), 'sealed spool segment fsync failed');
      else this.stats.fsyncs += 1;
      fs.close(fd, () => {});
    });
  }

  /** Writes whole records at the end of the active segment; on failure none of them stays. */
  private writeActive(records: Buffer[]): void {
    const active = this.active;
    let length = 0;
    for (const record of records) length += record.length;
    let written = 0;
    try {
      written = fs.writevSync(this.activeFd, records, active.size);
      // A short write (rare: signals, quotas) is finished record by record from where it stopped.
      let skip = written;
      for (const record of records) {
        if (skip >= record.length) {
          skip -= record.length;
          continue;
        }
        while (skip < record.length) {
          const n = fs.writeSync(this.activeFd, record, skip, record.length - skip, active.size + written);
          skip += n;
          written += n;
        }
        skip = 0;
      }
    } catch (err) {
      // Leave no half record behind (ENOSPC after a partial write): the next append starts clean.
      if (written > 0) {
        try {
          fs.ftruncateSync(this.activeFd, active.size);
        } catch {
          // Replay's checksum catches what this could not undo.
        }
      }
      throw err;
    }
    for (const record of records) {
      active.offsets.push(active.size);
      active.lengths.push(record.length - RECORD_HEADER_BYTES);
      active.size += record.length;
    }
    this.totalBytes += length;
  }

  /** fsyncIntervalMs 0: every append, and so every rotation, is flushed before it returns. */
  private get flushesEveryAppend(): boolean {
    return this.options.fsyncIntervalMs === 0;
  }

  private scheduleSync(): void {
    if (this.flushesEveryAppend) {
      fs.fdatasyncSync(this.activeFd);
      this.stats.fsyncs += 1;
      return;
    }
    this.dirty = true;
    if (this.syncTimer !== undefined) return;
    const wait = Math.max(0, this.lastSyncAt + this.options.fsyncIntervalMs - Date.now());
    this.syncTimer = setTimeout(() => this.backgroundSync(), wait);
    this.syncTimer.unref();
  }

  private backgroundSync(): void {
    this.syncTimer = undefined;
    if (!this.dirty || this.activeFd < 0) return;
    this.dirty = false;
    this.lastSyncAt = Date.now();
    const newEntry = this.dirDirty;
    this.dirDirty = false;
    fs.fdatasync(this.activeFd, (err) => {
      if (err !== null && err.code !== 'EBADF') this.options.log?.error(errorFields(err, 'CAP_ERR_SPOOL_WRITE'), 'spool fsync failed');
      else this.stats.fsyncs += 1;
    });
    if (newEntry) this.syncDirInBackground();
  }

  /** Makes a new segment's directory entry durable, off the event loop (best effort, as fsyncDirSync). */
  private syncDirInBackground(): void {
    this.dirSyncsRunning += 1;
    void fsyncDir(this.dir).finally(() => (this.dirSyncsRunning -= 1));
  }

  /**
   * Frees space for `record` following the budget order in the header comment;
   * returns the record to write. The rewrite of old segments runs in the
   * background (startStripping); here, at the limit itself, only cheap steps
   * are taken: the record's own bodies, then whole oldest segments.
   */
  private makeRoom(record: Buffer, strippable: boolean): Buffer {
    const max = this.options.maxBytes;
    this.startStripping();
    if (this.totalBytes + record.length > max && strippable) {
      const stripped = stripBodies(payloadText(record));
      if (stripped !== undefined) {
        record = encodeRecord(Buffer.from(stripped, 'utf8'));
        this.forEachConsumer((consumer) => consumer.hooks.bodiesDropped(1, 'spool_full'));
      }
    }
    while (this.totalBytes + record.length > max) {
      if (this.segments.length === 1) {
        if (this.active.count === 0) break;
        this.rotate();
      }
      this.dropSegment(this.segments[0]!);
    }
    return record;
  }

  /** Resolves once no segment rewrite is running (tests, and callers that want the budget settled). */
  async settled(): Promise<void> {
    while (this.stripJob !== undefined) await this.stripJob;
  }

  /**
   * Past the strip watermark (a segment, or a quarter of the budget, below
   * the limit), rewrites the oldest sealed segment that still has bodies,
   * one at a time, on a worker thread; a finished rewrite starts the next
   * while the spool is still past the watermark.
   */
  private startStripping(): void {
    if (this.stripJob !== undefined || this.closed) return;
    const headroom = Math.min(this.options.segmentMaxBytes, Math.floor(this.options.maxBytes / 4));
    if (this.totalBytes <= this.options.maxBytes - headroom) return;
    const segment = this.segments.find((candidate) => candidate !== this.active && (candidate.flags & FLAG_BODIES_STRIPPED) === 0);
    if (segment === undefined) return;
    // Marked first so a failing rewrite is not retried on every append.
    segment.flags |= FLAG_BODIES_STRIPPED;
    this.stripJob = this.stripSegment(segment).finally(() => {
      this.stripJob = undefined;
      this.startStripping();
    });
  }

  /** Rewrites a sealed segment with its bodies emptied (same records, same order, same indexes). */
  private async stripSegment(segment: Segment): Promise<void> {
    const tmp = `${segment.file}.tmp`;
    const job: StripJob = { file: segment.file, tmp, flags: segment.flags, offsets: segment.offsets, lengths: segment.lengths };
    let reply: StripReply;
    try {
      reply = await runStripWorker(job);
    } catch (err) {
      reply = { ok: false, error: describeError(err) };
    }
    // The segment may have been deleted (budget, collection) or the spool closed meanwhile.
    if (!reply.ok || this.closed || !this.segments.includes(segment)) {
      fs.rmSync(tmp, { force: true });
      if (!reply.ok) this.options.log?.error({ ...errorFields(reply.error, 'CAP_ERR_SPOOL_WRITE'), segment: segment.seq }, 'could not rewrite a spool segment without bodies');
      return;
    }
    const { offsets, lengths, strippedIndexes, size } = reply.result;
    try {
      // Rename and index update in one tick: a reader takes its offsets and descriptor together.
      fs.renameSync(tmp, segment.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      this.options.log?.error({ ...errorFields(err, 'CAP_ERR_SPOOL_WRITE'), segment: segment.seq }, 'could not rewrite a spool segment without bodies');
      return;
    }
    fsyncDirSync(this.dir);
    this.totalBytes += size - segment.size;
    segment.offsets = offsets;
    segment.lengths = lengths;
    segment.size = size;
    this.stats.segmentsStripped += 1;
    this.forEachConsumer((consumer) => {
      const from = consumer.unreadFrom(segment.seq);
      const lost = strippedIndexes.filter((index) => index >= from).length;
      if (lost > 0) consumer.hooks.bodiesDropped(lost, 'spool_full');
    });
    this.options.log?.warn({ segment: segment.seq, records: strippedIndexes.length, bytes: size }, 'spool over budget: bodies of the oldest segment dropped');
  }

  /** Deletes the oldest segment although some consumer still needs it: counted as dropped for that consumer. */
  private dropSegment(segment: Segment): void {
    this.forEachConsumer((consumer) => {
      const from = consumer.unreadFrom(segment.seq);
      const lost = Math.max(0, segment.count - from);
      if (lost > 0) consumer.hooks.dropped(lost, 'spool_full');
      consumer.skipPast(segment.seq);
    });
    this.options.log?.error(
      { code: 'CAP_ERR_SPOOL_FULL' satisfies ErrorCode, segment: segment.seq, records: segment.count },
      'spool over budget with every body already dropped; oldest segment deleted',
    );
    this.removeSegment(segment);
    this.stats.segmentsDropped += 1;
  }

  private removeSegment(segment: Segment): void {
    this.segments.splice(this.segments.indexOf(segment), 1);
    this.totalBytes -= segment.size;
    // Unlinking a full 64 MiB segment took tens of ms, which on the event loop
    // every ext_proc reply in that moment waited out; nothing waits for the
    // deletion itself, so it runs on libuv's pool. A file a crash leaves
    // behind holds only acknowledged records: the next collect() deletes it.
    const removal: Promise<void> = fs.promises
      .rm(segment.file, { force: true })
      .catch((err: unknown) => this.options.log?.error({ ...errorFields(err, 'CAP_ERR_SPOOL_WRITE'), segment: segment.seq }, 'could not delete a spool segment'))
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  /** Resolves once the segment files being deleted are gone. */
  async removed(): Promise<void> {
    await Promise.all([...this.removals]);
  }
}
