/**
 * The contract every storage or export destination follows (the shape of
 * OpenTelemetry's LogRecordExporter): take a batch, say how it went, flush,
 * shut down. Batching and retry policy live outside the sink.
 */

/** A batch of finished rows, already serialized as JSONEachRow lines. */
export interface RowBatch {
  /**
   * The same lines as UTF-8 bytes, one buffer per row (each ending in "\n"),
   * when the batch was read from the spool: stores write them as they are, so
   * a large batch is neither turned into a string and back nor concatenated
   * on the event loop.
   */
  readonly lines?: readonly Buffer[];
  /** All of `lines` in one buffer (concatenated on first use). */
  readonly payload?: Buffer;
  /** Newline-terminated JSON objects, one per exchange (decoded from payload on first use). */
  readonly jsonEachRow: string;
  readonly rowCount: number;
  /** UTF-8 byte length of jsonEachRow. */
  readonly byteLength: number;
  /**
   * Stable identity of the batch: its place in the spool (spool id, segment, first record,
   * count: `batchId()` in spool/spool-consumer.ts), so a retry, even after a crash, carries the same id; the ClickHouse
   * stores use it as the insert deduplication token. `replay` names its batches `replay-SINCE-N`.
   */
  readonly batchId: string;
}

/** A batch's rows as UTF-8 buffers: the spool's row buffers when it has them, else its text in one buffer. */
export function batchBuffers(batch: RowBatch): readonly Buffer[] {
  return batch.lines ?? [batch.payload ?? Buffer.from(batch.jsonEachRow, 'utf8')];
}

export type WriteResult = { readonly ok: true } | { readonly ok: false; readonly retryable: boolean; readonly error: Error; readonly retryAfterMs?: number };

export interface Sink {
  /** The kind of destination ("chdb", "clickhouse", "otlp"): `destination` in status and logs. Metric labels carry the delivery name instead. */
  readonly name: string;
  /** Prepare the destination (schema, connectivity). Rejects with a CaptureError when unusable. */
  open(): Promise<void>;
  write(batch: RowBatch): Promise<WriteResult>;
  /** Release resources; pending writes must have settled. */
  close(): Promise<void>;
}
