/**
 * The contract between the exchange folder (which picks a parser from the
 * response content type) and the per-API folders (which know what a
 * provider's events mean). A folder never parses bytes itself.
 */
import type { AwsEventStreamMessage } from './aws-eventstream-decoder';
import type { SseEvent } from './sse-parser';

export type StreamUnit =
  | { kind: 'sse'; event: SseEvent }
  /** One NDJSON line, parsed. */
  | { kind: 'json'; value: unknown }
  | { kind: 'eventstream'; message: AwsEventStreamMessage };

export interface ApiFolder {
  /** One unit of a streamed response, in arrival order. */
  foldStreamUnit(unit: StreamUnit): void;
  /** A whole non-streaming success body, parsed. */
  foldBody(value: unknown): void;
}
