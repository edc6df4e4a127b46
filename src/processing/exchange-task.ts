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

export interface FinishTask {
  kind: 'finish';
  snapshot: ExchangeSnapshot;
  context: BodyContext;
}

export type ExchangeTask = ChunkTask | FinishTask;

export interface FinishResult {
  line: string;
  request: DirectionStats;
  response: DirectionStats;
  redactions: Record<string, number>;
  genAi: boolean;
}
