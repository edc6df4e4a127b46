/**
 * What one emulated exchange produced: what the client and the upstream saw,
 * every ext_proc message in both directions, and every protocol violation the
 * emulator detected in the server's behaviour.
 */
import type { ProcessingRequest, ProcessingResponse } from '../../src/extproc/wire/protocol';
import type { HeaderList } from './http-exchange-spec';

export type ViolationKind =
  /** A reply arrived while nothing of that direction awaited one. */
  | 'reply-for-unknown-message'
  /** A reply of the right direction but for a later message (e.g. body reply while headers await). */
  | 'wrong-order'
  /** A reply whose oneof does not fit (e.g. response_headers while request_headers awaits), or no oneof. */
  | 'spurious-reply'
  /** A reply in observability mode, where the server must stay silent. */
  | 'reply-in-observability-mode'
  /** FULL_DUPLEX_STREAMED: echoed bytes differ from what Envoy sent, or exceed it. */
  | 'fds-echo-mismatch'
  /** FULL_DUPLEX_STREAMED: a streamed body before the headers reply, or a body reply without streamed_response. */
  | 'fds-out-of-order'
  /** FULL_DUPLEX_STREAMED: end_of_stream echoed before Envoy sent it, or never echoed though Envoy sent it. */
  | 'fds-end-of-stream'
  /** FULL_DUPLEX_STREAMED: streamed_response used in another body mode. */
  | 'streamed-response-outside-fds'
  /** The server sent something a passive processor never should (immediate_response, override_message_timeout, mutations). */
  | 'active-reply';

export interface ProtocolViolation {
  kind: ViolationKind;
  detail: string;
  atMs: number;
}

export interface TimedMessage<T> {
  /** Milliseconds since the exchange started. */
  atMs: number;
  message: T;
}

export type FailureKind = 'message-timeout' | 'spurious-reply' | 'grpc-error' | 'buffer-overflow' | 'stream-idle-timeout' | 'immediate-response';

export interface ExchangeFailure {
  kind: FailureKind;
  /** What Envoy would put in %RESPONSE_CODE_DETAILS%. */
  details: string;
  /** false when failure_mode_allow let the request continue unprocessed. */
  failedClosed: boolean;
  /** gRPC status code behind a 'grpc-error'. */
  grpcCode?: number;
  atMs: number;
}

export type CloseReason =
  /** 1.37+: right after the last expected reply. */
  | 'last-reply'
  /** The response direction processes nothing (encodeHeaders closes). */
  | 'no-response-processing'
  /** At the end of the HTTP exchange (filter destroy). */
  | 'end-of-exchange'
  /** Observability mode: deferred_close_timeout after the exchange. */
  | 'deferred'
  /** Timeout, spurious reply, gRPC error, immediate response. */
  | 'error'
  /** The downstream client reset. */
  | 'client-reset';

export interface ExchangeResult {
  name?: string;
  downstream: {
    /** The status the client receives (upstream's, or Envoy's local reply), or 'reset'. */
    status: number | 'reset';
    /** Local-reply details (e.g. ext_proc_error_per-message_timeout_exceeded), or 'via_upstream'. */
    details: string;
    headers?: HeaderList;
    /** Body bytes delivered to the client (for FDS: what the server streamed back). */
    body: Buffer;
    trailers?: HeaderList;
    complete: boolean;
  };
  upstream: {
    /** Whether the request headers reached the upstream at all. */
    requestStarted: boolean;
    headers?: HeaderList;
    /** Request body bytes the upstream received (for FDS: what the server streamed back). */
    body: Buffer;
    trailers?: HeaderList;
    complete: boolean;
  };
  /** Messages Envoy sent, in order. */
  sent: Array<TimedMessage<ProcessingRequest>>;
  /** Replies received, in order (including ignored ones). */
  received: Array<TimedMessage<ProcessingResponse>>;
  violations: ProtocolViolation[];
  failure?: ExchangeFailure;
  /** Whether an ext_proc call was opened at all. */
  streamOpened: boolean;
  /** The gRPC status that ended the call before Envoy closed it: the server's, or the connection's (UNAVAILABLE, INTERNAL on GOAWAY/reset). */
  grpcStatus?: { code: number; details: string };
  /** How Envoy closed the call (absent if it was never opened or the server ended it first). */
  close?: { reason: CloseReason; atMs: number };
  /** Processing stopped early (server OK end, fail-open) and the rest of the exchange went through unprocessed. */
  continuedUnprocessed: boolean;
  /** Replies received after processing completed or the call was closed (Envoy ignores them). */
  ignoredReplies: number;
  /** mode_override replies in order, and whether Envoy applies each (request headers reply, allow_mode_override, 1.34+ semantics). */
  modeOverrides: Array<{ accepted: boolean; mode: NonNullable<ProcessingResponse['mode_override']> }>;
  /** When the HTTP exchange was over for the client (before any deferred close). */
  httpFinishedAtMs: number;
  durationMs: number;
}
