/**
 * The spool plus one delivery loop per sink, as the service sees them, and
 * the in-flight journal in front of the spool:
 *
 *   journal.begin ─▶ <data-dir>/inflight ◀─ journal.done  (exchanges in a worker, see inflight-journal.ts)
 *   onRecords(records) ─▶ append (sync, never throws) ─▶ <data-dir>/spool
 *                                                   ├─ DeliveryLoop "clickhouse" ─▶ EmbeddedStore | RemoteStore
 *                                                   └─ DeliveryLoop "otlp"       ─▶ OtlpSink (when configured)
 *
 * Sinks are registered under stable names ("clickhouse" whether the store is
 * embedded or remote), because the name keys the cursor file: switching the
 * store's URL keeps the backlog; the metric label `sink` is that name.
 */
import * as path from 'node:path';
import type { Logger } from 'pino';
import type { BackoffPolicy } from './backoff';
import type { CaptureMetrics } from '../../metrics';
import { InflightJournal, type JournalEntry, type JournalRecovery } from '../../spool/inflight-journal';
import { encodeRecord } from '../../spool/record-format';
import { Spool, type SpoolRecovery, type SpoolStats } from '../../spool/spool';
import type { Sink } from '../sink';
import { DeliveryLoop, type SinkStatus } from './delivery-loop';
import { SinkAccounting } from './sink-accounting';
import { errorFields } from '../../errors';

export const SPOOL_DIR_NAME = 'spool';
export const INFLIGHT_DIR_NAME = 'inflight';
/** Drop reason of an exchange the last run journaled whose row could not be rebuilt from its entry. */
export const LOST_IN_FLIGHT = 'lost_in_flight_at_crash';
/** Non-retryable failures of the same batch before it is counted as rejected. */
const REJECT_ATTEMPTS = 3;

/** GET /status and `egress-capture status`. */
export interface DeliveryStatus {
  spool: {
    dir: string;
    spoolId: string;
    bytes: number;
    maxBytes: number;
    segments: number;
    records: number;
    fsyncIntervalMs: number;
    recovery: SpoolRecovery;
    stats: SpoolStats;
  };
  inflight: InflightStatus;
  sinks: SinkStatus[];
  /** True when captured = delivered + pending + dropped holds for every sink. */
  balanced: boolean;
}

/** The in-flight journal: exchanges handed to a worker whose rows are not spooled yet. */
export interface InflightStatus {
  dir: string;
  /** Exchanges journaled now, not yet spooled. */
  open: number;
  /** What this start found of the run before it. */
  recovery: InflightRecovery;
}

export interface InflightRecovery extends JournalRecovery {
  /** Unfinished entries whose row had reached the spool after all (killed between the two writes). */
  alreadySpooled: number;
  /** Rows rebuilt without bodies (note lost_in_crash) and spooled. */
  rebuilt: number;
  /** Entries that could not be rebuilt or spooled: counted as dropped for every sink. */
  lost: number;
}

/** What the hub reads from the configuration: where the spool lives, its bounds, and how sinks are batched and retried. */
export interface DeliverySettings {
  dataDir: string;
  spoolSegmentBytes: number;
  spoolMaxBytes: number;
  spoolFsyncIntervalMs: number;
  inflightJournalRotateBytes: number;
  batchMaxRows: number;
  batchMaxBytes: number;
  batchMaxDelayMs: number;
  sinkRetryInitialMs: BackoffPolicy['initialMs'];
  sinkRetryMaxMs: BackoffPolicy['maxMs'];
  sinkRetryAfterMaxMs: BackoffPolicy['retryAfterMaxMs'];
}

export function spoolDir(dataDir: string): string {
  return path.join(dataDir, SPOOL_DIR_NAME);
}

export function inflightDir(dataDir: string): string {
  return path.join(dataDir, INFLIGHT_DIR_NAME);
}

export class DeliveryHub {
  private readonly loops: DeliveryLoop[] = [];
  private stopped = false;
  private readonly inflightRecovery: InflightRecovery;

  private constructor(
    readonly spool: Spool,
    /** Handed to the pipeline: it journals what it gives its workers. */
    readonly journal: InflightJournal,
    private readonly config: DeliverySettings,
    private readonly log: Logger,
    private readonly metrics: CaptureMetrics,
  ) {
    metrics.spoolGaugeSource = () => ({
      spoolBytes: this.spool.bytes,
      spoolSegments: this.spool.segmentCount,
      pending: Object.fromEntries(this.loops.map((loop) => [loop.name, loop.pending])),
    });
    this.inflightRecovery = { ...journal.recovery, alreadySpooled: 0, rebuilt: 0, lost: 0 };
  }

  static open(config: DeliverySettings, log: Logger, metrics: CaptureMetrics): DeliveryHub {
    const spool = Spool.open({
      dir: spoolDir(config.dataDir),
      segmentMaxBytes: config.spoolSegmentBytes,
      maxBytes: config.spoolMaxBytes,
      fsyncIntervalMs: config.spoolFsyncIntervalMs,
      log,
    });
    const recovery = spool.recovery;
    if (recovery.records > 0 || recovery.tornTailRecords > 0) log.info({ spool: spool.dir, ...recovery }, 'spool replayed');
    const journal = InflightJournal.open({
      dir: inflightDir(config.dataDir),
      rotateBytes: config.inflightJournalRotateBytes,
      spoolSegment: () => spool.endPosition().segment,
      onWriteError: (err) => {
        metrics.errors.inc({ kind: 'inflight_journal_write' });
        log.error(errorFields(err, 'CAP_ERR_SPOOL_WRITE'), 'in-flight journal not written; a kill -9 now would lose the exchanges in the workers');
      },
      log,
    });
    return new DeliveryHub(spool, journal, config, log, metrics);
  }

  /** Registers a sink before start(); its cursor file decides where it resumes. */
  addSink(name: string, sink: Sink): DeliveryLoop {
    const accounting = new SinkAccounting(name, this.metrics);
    const consumer = this.spool.registerConsumer(name, accounting);
    const loop = new DeliveryLoop(name, this.spool, consumer, sink, accounting, {
      maxRows: this.config.batchMaxRows,
      maxBytes: this.config.batchMaxBytes,
      maxDelayMs: this.config.batchMaxDelayMs,
      backoff: { initialMs: this.config.sinkRetryInitialMs, maxMs: this.config.sinkRetryMaxMs, retryAfterMaxMs: this.config.sinkRetryAfterMaxMs },
      rejectAttempts: REJECT_ATTEMPTS,
      log: this.log,
      metrics: this.metrics,
    });
    this.loops.push(loop);
    if (consumer.recovered > 0) this.log.info({ sink: name, records: consumer.recovered }, 'undelivered records found in the spool; delivering');
    return loop;
  }

  /**
   * Start-up, after every addSink and before start(): the exchanges the last
   * run journaled and never marked spooled (it was killed while a worker had
   * them). Those whose row reached the spool after all are left alone (looked
   * up by capture id); the others get the row `rebuild` makes of their entry,
   * appended like any other; an entry that cannot be rebuilt is counted as
   * dropped (lost_in_flight_at_crash) for every sink. The old journal files
   * go only once that is synced, so a crash here just repeats it.
   */
  recoverInflight(rebuild: (entry: JournalEntry) => string): void {
    const unfinished = this.journal.unfinished;
    const counts = this.inflightRecovery;
    if (unfinished.length > 0) {
      const spooled = this.spool.captureIdsFrom(this.journal.spoolSegmentFloor);
      const records: Buffer[] = [];
      let unbuilt = 0;
      for (const entry of unfinished) {
        if (spooled.has(entry.id)) {
          counts.alreadySpooled += 1;
          continue;
        }
        try {
          records.push(encodeRecord(Buffer.from(rebuild(entry), 'utf8')));
        } catch (err) {
          unbuilt += 1;
          this.log.error({ ...errorFields(err, 'CAP_ERR_SPOOL_CORRUPT'), captureId: entry.id }, 'in-flight journal entry could not be rebuilt into a row; counted as dropped');
        }
      }
      // A record the spool refuses is counted there (spool_write_failed, per sink).
      counts.rebuilt = this.spool.appendRecords(records);
      counts.lost = unbuilt + records.length - counts.rebuilt;
      if (unbuilt > 0) {
        for (const loop of this.loops) {
          loop.accounting.captured(unbuilt, 'recovered');
          loop.accounting.dropped(unbuilt, LOST_IN_FLIGHT);
        }
      }
      this.metrics.inflightRecovered.inc({ result: 'rebuilt' }, counts.rebuilt);
      this.metrics.inflightRecovered.inc({ result: 'already_spooled' }, counts.alreadySpooled);
      this.metrics.inflightRecovered.inc({ result: 'lost' }, counts.lost);
      try {
        this.spool.sync();
      } catch (err) {
        this.log.error(errorFields(err, 'CAP_ERR_SPOOL_WRITE'), 'spool fsync after the in-flight recovery failed');
      }
      this.log.warn({ journal: this.journal.dir, ...counts }, 'exchanges in flight at the last crash: rows rebuilt without bodies (note lost_in_crash)');
    }
    this.journal.discardPrevious();
  }

  start(): void {
    for (const loop of this.loops) loop.start();
  }

  /** Appends one JSONEachRow line (tests and tools; the pipeline hands over encoded records). */
  append(line: string): void {
    if (!this.spool.append(line)) this.metrics.rowsDropped.inc({ reason: 'spool_write_failed' });
  }

  /** The pipeline's onRecords: capture never waits for, or fails because of, a sink. */
  appendRecords(records: Buffer[]): void {
    const lost = records.length - this.spool.appendRecords(records);
    if (lost > 0) this.metrics.rowsDropped.inc({ reason: 'spool_write_failed' }, lost);
  }

  /** Resolves when everything appended so far reached the named sinks (all when omitted). */
  async flush(names?: string[]): Promise<void> {
    await Promise.all(this.loops.filter((loop) => names === undefined || names.includes(loop.name)).map((loop) => loop.flush()));
  }

  /**
   * SIGTERM path, after the pipeline is closed: fsync the spool, let every
   * sink deliver for up to `deadlineMs` (in parallel), then close the spool.
   * Nothing undelivered is dropped: it is replayed at the next start.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.spool.sync();
    } catch (err) {
      this.log.error(errorFields(err, 'CAP_ERR_SPOOL_WRITE'), 'spool fsync at shutdown failed');
    }
    await Promise.all(this.loops.map((loop) => loop.stop(deadlineMs)));
    const left = this.loops.filter((loop) => loop.pending > 0).map((loop) => ({ sink: loop.name, pending: loop.pending }));
    if (left.length > 0) this.log.warn({ left }, 'undelivered records stay in the spool for the next start');
    this.journal.close();
    this.spool.close();
  }

  /** Closes every registered sink (after stop()). */
  async closeSinks(): Promise<void> {
    for (const loop of this.loops) {
      try {
        await loop.sink.close();
      } catch (err) {
        this.log.error({ sink: loop.name, ...errorFields(err) }, 'sink close failed');
      }
    }
  }

  status(): DeliveryStatus {
    const sinks = this.loops.map((loop) => loop.status());
    return {
      spool: {
        dir: this.spool.dir,
        spoolId: this.spool.spoolId,
        bytes: this.spool.bytes,
        maxBytes: this.spool.maxBytes,
        segments: this.spool.segmentCount,
        records: this.spool.records,
        fsyncIntervalMs: this.config.spoolFsyncIntervalMs,
        recovery: { ...this.spool.recovery },
        stats: { ...this.spool.stats },
      },
      inflight: { dir: this.journal.dir, open: this.journal.openCount, recovery: { ...this.inflightRecovery } },
      sinks,
      balanced: sinks.every((sink) => sink.unaccounted === 0),
    };
  }
}
