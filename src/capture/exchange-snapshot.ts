/**
 * What the gRPC event loop hands to a body worker once an exchange is over:
 * everything observed on one ext_proc stream, already bounded in size. The
 * worker turns it into an ExchangeRow (decoding, cutting, redaction,
 * serialization); the event loop never does that work itself.
 *
 * Header values travel as latin1 strings, i.e. one char per wire byte, so
 * non-UTF-8 bytes survive the thread hop unchanged; the worker decides how to
 * render them. Body bytes travel in one ArrayBuffer per direction that is
 * transferred (moved), not copied.
 */
import type { EnvoyUsage } from '../extproc/wire/token-usage-decoder';
import type { ExchangeOutcome } from './exchange-outcome';
import type { CaptureDecision } from '../policy/capture-decision';

export type HeaderList = Array<[name: string, latin1Value: string]>;

export interface DirectionSnapshot {
  /** Lower-cased names in arrival order, pseudo-headers included; repeated names kept. */
  headers: HeaderList;
  trailers: HeaderList;
  /** True once the headers message for this direction arrived. */
  headersSeen: boolean;
  /**
   * Body bytes (as they came off the wire, still content-encoded) not yet
   * handed to the worker in chunk tasks; undefined when the body is not kept
   * (content type excluded, or no body). Large bodies travel in chunk tasks
   * while they stream; this is the rest.
   */
  bodyPending?: Uint8Array;
  /** The body went to the worker in chunks before the end (the worker holds state for it). */
  bodyStreamed: boolean;
  /**
   * Workers were too far behind to take more of this body: bytes after that
   * point were counted, not processed (row note: processing_backlog).
   */
  streamAbandoned: boolean;
  /** Total body bytes seen on the wire, including what was not kept. */
  bodySize: number;
  /** Number of body messages received. */
  bodyChunks: number;
  /** Why the body is not kept, when it is not ('' otherwise). */
  bodyAbsentReason: string;
  /** An end marker (end_of_stream or trailers) was seen for this direction. */
  ended: boolean;
  /** Milliseconds since the exchange started at the first body chunk (-1 if none). */
  firstBodyChunkMs: number;
  /** Largest gap between consecutive body chunks, in milliseconds. */
  maxBodyGapMs: number;
}

export interface ExchangeSnapshot {
  captureId: string;
  /** Exchange start: first ext_proc message of the stream, wall clock, epoch nanoseconds as a decimal string. */
  startedAtNs: string;
  durationMs: number;
  /** Milliseconds from the start to the response headers (-1 when none arrived). */
  responseHeadersMs: number;
  outcome: ExchangeOutcome;
  observabilityMode: boolean;
  /** Effective body modes from protocol_config, e.g. "STREAMED/NONE"; '' when Envoy did not send it. */
  bodyModes: string;
  extProcMessages: number;
  /** How the capture policy said to keep this exchange (level, deciding rule, opt-out, retention, body cap). */
  capture: CaptureDecision;
  /** ext_proc attributes flattened to strings ("request.id" → value). */
  attributes: Record<string, string>;
  /** metadata_context flattened as "namespace.key" → string value. */
  metadata: Record<string, string>;
  /** Token usage Envoy's ai_protocol_manager filter extracted (typed metadata), when it was forwarded. */
  envoyUsage?: EnvoyUsage;
  request: DirectionSnapshot;
  response: DirectionSnapshot;
}
