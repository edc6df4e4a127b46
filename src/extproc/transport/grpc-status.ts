/**
 * The gRPC status codes this server ends calls with (the numbers of
 * grpc/status.proto), and the error that carries one out of the framing.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** Ends one call with `code`; the connection and every other call go on. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: GrpcStatusCode,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcCallError';
  }
}
