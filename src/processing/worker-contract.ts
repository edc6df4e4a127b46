/**
 * Everything that crosses the thread boundary between the event loop and the
 * body workers, in one place: the settings a worker starts with (workerData),
 * the tasks sent to it, and its replies. Two kinds of task: a chunk of one
 * body (sent while a large body streams, so the worker folds and hashes it as
 * it arrives) and the finished exchange. Plain data only: these cross by
 * structured clone, bodies by transfer. A type added to a message belongs
 * here, so what a worker can receive is read in one file.
 */
import type { BodyContext, ChunkDirection } from '../capture/body-context';
import type { ExchangeSnapshot } from '../capture/exchange-snapshot';
import type { BodyRedactorOptions } from './redaction/body-redactor';
import type { ProviderMappingEntry } from './genai/provider-detection';
import type { FoldLimits } from './exchange-processor';

export type { BodyContext, ChunkDirection };

/** How a row is built: the part of the worker settings the event loop also uses, for rows without bodies. */
export interface RowBuildOptions {
  maxBytes: number;
  /** Lower-cased header names to redact. */
  redactHeaders: readonly string[];
  /**
   * The installation's redaction key (hex, redaction/redaction-marker.ts) every
   * marker is made with; undefined: a random key of this process.
   */
  redactionKey?: string;
}

/** What every worker is started with (structured-cloned into workerData). */
export interface WorkerSettings extends RowBuildOptions {
  /** Bytes of a long body kept from its start; the rest of maxBytes keeps its end. */
  headBytes: number;
  providerMapping: ProviderMappingEntry[];
  /** undefined: body secret redaction off. */
  bodyRedaction: BodyRedactorOptions | undefined;
  /** Limits of a folded exchange (the fold's text, tool arguments, single events). */
  foldLimits: FoldLimits;
  /** Worker state of an exchange untouched this long is dropped (its finish never came). */
  staleStateMs: number;
}

export interface ChunkTask {
  kind: 'chunk';
  captureId: string;
  direction: ChunkDirection;
  bytes: Uint8Array;
  context: BodyContext;
}

/**
 * The finished exchange. Snapshot and context travel as one JSON string:
 * structured clone walks the snapshot's many small objects (header pairs,
 * attribute maps) at 15-40 us per exchange, JSON at a few. The body bytes
 * not yet handed over travel beside it, transferred.
 */
export interface FinishTask {
  kind: 'finish';
  captureId: string;
  /** JSON of FinishPayload (bodyPending left out). */
  payload: string;
  requestBody?: Uint8Array;
  responseBody?: Uint8Array;
}

export interface FinishPayload {
  snapshot: ExchangeSnapshot;
  context: BodyContext;
}

export type ExchangeTask = ChunkTask | FinishTask;

/** What one piscina task carries: the tasks of one worker lane that queued up, in order. */
export interface TaskBatch {
  tasks: ExchangeTask[];
}

/** Per task of a batch: nothing for a chunk, the row for a finish, or why it failed. */
export type BatchResult = FinishResult | undefined | { error: string };

/** A batch's answer: one result per task, and the worker's own memory after it. */
export interface BatchReply {
  results: BatchResult[];
  /**
   * The rows of the successful finish tasks, in task order, as spool records
   * (record-format.ts) back to back; each FinishResult gives its recordBytes.
   * Transferred, so the event loop neither copies, encodes nor checksums a row.
   */
  records: ArrayBuffer | undefined;
  /** The worker isolate's heap in use and its external memory (body buffers, head+tail buffers). */
  memory: { heapUsedBytes: number; externalBytes: number };
}

/** What became of one body: kept bytes, cut, and why it is absent or raw. */
export interface DirectionStats {
  capturedBytes: number;
  truncated: boolean;
  note: string;
}

export interface FinishResult {
  /** Length of this row's spool record in BatchReply.records. */
  recordBytes: number;
  request: DirectionStats;
  response: DirectionStats;
  redactions: Record<string, number>;
  genAi: boolean;
}
