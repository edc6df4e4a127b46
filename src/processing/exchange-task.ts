/**
 * The messages between the event loop and the body workers. Two kinds:
 * a chunk of one body (sent while a large body streams, so the worker folds
 * and hashes it as it arrives) and the finished exchange. Plain data only:
 * these cross a thread boundary by structured clone, bodies by transfer.
 */
import type { ExchangeSnapshot } from '../capture/exchange-snapshot';
import type { DirectionStats } from './build-row';

export type ChunkDirection = 'request' | 'response';

/** What a worker needs to know about an exchange before its headers are rendered. */
export interface BodyContext {
  method: string;
  authority: string;
  path: string;
  requestContentType: string;
  requestContentEncoding: string;
  /** 0 until the response headers arrived. */
  statusCode: number;
  responseContentType: string;
  responseContentEncoding: string;
  awsErrorType: string;
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

export interface FinishResult {
  /** Length of this row's spool record in BatchReply.records. */
  recordBytes: number;
  request: DirectionStats;
  response: DirectionStats;
  redactions: Record<string, number>;
  genAi: boolean;
}
