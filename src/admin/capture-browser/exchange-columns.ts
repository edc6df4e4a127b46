/**
 * Column names as the browser's queries use them, checked against the
 * table's own definition (sinks/clickhouse/schema.ts): a renamed or removed
 * column fails at the first query that names it, with a message, instead of
 * as an engine error in a user's page.
 */
import { COLUMNS, TABLE } from '../../sinks/clickhouse/schema';

const KNOWN = new Set(COLUMNS.map(([name]) => name));

export { TABLE };

export function column(name: string): string {
  if (!KNOWN.has(name)) throw new Error(`the capture browser names the column ${name}, which ${TABLE} does not have (sinks/clickhouse/schema.ts)`);
  return name;
}

/** What one row of the list shows: small columns only (bodies stay on the server until a row is opened). */
export const LIST_COLUMNS: readonly string[] = [
  'CaptureId',
  'Method',
  'Authority',
  'StatusCode',
  'Outcome',
  'DurationMs',
  'ResponseFirstChunkMs',
  'RequestBodySize',
  'ResponseBodySize',
  'RequestBodyCaptured',
  'ResponseBodyCaptured',
  'RequestBodyTruncated',
  'ResponseBodyTruncated',
  'RequestBodyNote',
  'ResponseBodyNote',
  'GenAiProvider',
  'GenAiRequestModel',
  'GenAiResponseModel',
  'GenAiInputTokens',
  'GenAiOutputTokens',
  'GenAiErrorType',
  'RequestId',
  'TraceId',
].map(column);

/** One exchange: every column of the table. */
export const DETAIL_COLUMNS: readonly string[] = COLUMNS.map(([name]) => name);
