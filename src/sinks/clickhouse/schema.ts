/**
 * The http_exchanges table, shared by the embedded and the remote store.
 * Its columns come from src/row/exchange-row.ts; this file adds the table's
 * layout.
 *
 * - PARTITION BY day: TTL drops whole parts (ttl_only_drop_parts) and
 *   time-range queries prune partitions.
 * - ORDER BY (hour, Authority, Timestamp): time-range scans read a contiguous
 *   range, and "all calls to api.openai.com in the last hour" reads one
 *   Authority run inside each hour.
 * - Bloom-filter skip indexes on the ids people paste into a query
 *   (CaptureId, RequestId, TraceId).
 * - ZSTD(1) codecs everywhere: level 3 on the bodies doubled the insert CPU
 *   for bodies about 10% smaller.
 * - non_replicated_deduplication_window: a batch re-sent with the same
 *   insert_deduplication_token after an unclear failure is not stored twice.
 *
 * New columns are added with ADD COLUMN IF NOT EXISTS at start-up, so an
 * older table is migrated in place.
 *
 * Embedded engine only: merge_selector_base = 20 (ClickHouse's default is 5).
 * The in-process engine shares the capture service's cores, and with the
 * default a row is rewritten by background merges about log5(parts) times
 * (level 5-6 after a few minutes of load). Measured here with ~650-row
 * inserts: merges drop from ~30 us to a few us per row, for ~15-30 live parts
 * per day partition instead of ~2-5, which a time-range query reads in
 * parallel anyway. A remote server keeps its own merge policy.
 */
import { COLUMN_NAMES, ROW_COLUMNS, type ColumnName } from '../../row/exchange-row';

export const TABLE = 'http_exchanges';

/** Column name and ClickHouse type, in table order, from the row's one definition. */
export const COLUMNS: ReadonlyArray<readonly [name: ColumnName, type: string]> = COLUMN_NAMES.map((name) => [name, ROW_COLUMNS[name].type] as const);

const INDEXES = [
  'INDEX idx_capture_id CaptureId TYPE bloom_filter(0.001) GRANULARITY 1',
  'INDEX idx_request_id RequestId TYPE bloom_filter(0.001) GRANULARITY 1',
  'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
];

function ttlClause(ttlDays: number): string {
  return ttlDays > 0 ? `TTL toDateTime(Timestamp) + INTERVAL ${ttlDays} DAY` : '';
}

/** MergeTree settings for the embedded engine (see the header comment). */
export const EMBEDDED_TABLE_SETTINGS: ReadonlyArray<readonly [name: string, value: number]> = [['merge_selector_base', 20]];

/**
 * Statements that bring any database to the current schema; each is
 * idempotent. `tableSettings` are set at creation and re-applied to an
 * existing table.
 */
export function schemaStatements(ttlDays: number, tableSettings: ReadonlyArray<readonly [name: string, value: number]> = []): string[] {
  const settingList = tableSettings.map(([name, value]) => `${name} = ${value}`);
  const create = [
    `CREATE TABLE IF NOT EXISTS ${TABLE} (`,
    [...COLUMNS.map(([name, type]) => `  ${name} ${type}`), ...INDEXES.map((index) => `  ${index}`)].join(',\n'),
    ')',
    'ENGINE = MergeTree',
    'PARTITION BY toDate(Timestamp)',
    'ORDER BY (toStartOfHour(Timestamp), Authority, Timestamp)',
    ttlClause(ttlDays),
    `SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000${settingList.map((setting) => `, ${setting}`).join('')}`,
  ]
    .filter((line) => line !== '')
    .join('\n');
  const statements = [create];
  for (const [name, type] of COLUMNS) statements.push(`ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS ${name} ${type}`);
  if (settingList.length > 0) statements.push(`ALTER TABLE ${TABLE} MODIFY SETTING ${settingList.join(', ')}`);
  statements.push(
    ttlDays > 0
      ? `ALTER TABLE ${TABLE} MODIFY TTL toDateTime(Timestamp) + INTERVAL ${ttlDays} DAY SETTINGS materialize_ttl_after_modify = 0`
      : `ALTER TABLE ${TABLE} REMOVE TTL`,
  );
  return statements;
}
