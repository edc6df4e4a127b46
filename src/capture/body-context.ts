/**
 * What the assembler tells the body workers about an exchange with each
 * piece of body it ships: enough to pick a decoder and a folder before the
 * exchange's headers are rendered. Plain data: it crosses to the workers by
 * structured clone (processing/worker-contract.ts).
 */
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
  /** Body bytes kept per direction for this exchange: --max-bytes, or the deciding policy rule's maxBytes. */
  maxBytes: number;
}
