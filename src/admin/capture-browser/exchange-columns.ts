/**
 * Column names as the browser's queries use them, typed by the row's one
 * definition (src/row/exchange-row.ts): a renamed or removed column fails the
 * build, not a user's page.
 */
import { COLUMN_NAMES, type ColumnName } from '../../row/exchange-row';
import { TABLE } from '../../sinks/clickhouse/schema';

export { TABLE };

export function column(name: ColumnName): string {
  return name;
}

/**
 * A column in a WHERE clause: qualified by the table, because a SELECT alias
 * of the same name (the list's shortened Path) would otherwise stand in for
 * the column there, and a search would look at 512 characters of the path and
 * miss the text index, which is declared on the column.
 */
export function tableColumn(name: ColumnName): string {
  return `${TABLE}.${name}`;
}

/** What one row of the list shows: small columns only (bodies stay on the server until a row is opened). */
export const LIST_COLUMNS: readonly ColumnName[] = [
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
];

/** One exchange: every column of the table. */
export const DETAIL_COLUMNS: readonly ColumnName[] = COLUMN_NAMES;
