/**
 * How the http_exchanges table is laid out on a ClickHouse deployment: one
 * server, a self-managed cluster (replicated and/or sharded), or ClickHouse
 * Cloud. The columns come from schema.ts; this file adds the engine, the
 * ON CLUSTER clause, and the Distributed table in front of the shards.
 *
 * - MergeTree: one server. Deduplication needs non_replicated_deduplication_window
 *   (0 by default, so a retried batch's token would do nothing).
 * - ReplicatedMergeTree('<path>', '<replica>'): every replica of a shard holds the
 *   same data through Keeper. The path and replica are macros by default
 *   ({shard}, {replica} from the server's config; {database} and {table} expanded
 *   at creation), so one statement with ON CLUSTER creates every replica's table.
 *   Deduplication is on by default; replicated_deduplication_window is set
 *   explicitly so the window the docs promise does not depend on the server version.
 * - SharedMergeTree: ClickHouse Cloud. No arguments (the service places the data);
 *   deduplication as for ReplicatedMergeTree.
 * - Distributed (with a cluster): the shards' tables are named <table>_local and the
 *   Distributed table takes the table's own name, so every query the product and its
 *   users run (`FROM http_exchanges`) reads all shards, and inserts are routed by the
 *   sharding key. The key must be deterministic: a batch re-sent after an unclear
 *   failure carries the same insert_deduplication_token, and each shard drops it only
 *   if it receives the same rows again. rand() would split the retry differently and a
 *   shard would drop rows it never stored. The key hashes RequestId (Envoy's
 *   x-request-id, shared by the attempts of one request), else the CaptureId, so the
 *   rows of a request land together and an empty RequestId does not pile up on one shard.
 */
import { sqlStringLiteral } from './sql-literal';

export const TABLE_ENGINES = ['MergeTree', 'ReplicatedMergeTree', 'SharedMergeTree'] as const;
export type TableEngine = (typeof TABLE_ENGINES)[number];

export interface TableLayout {
  /** Cluster name from the servers' remote_servers ('' = one server: no ON CLUSTER). */
  cluster: string;
  engine: TableEngine;
  /** ReplicatedMergeTree's Keeper path and replica name (macros allowed). */
  replicaPath: string;
  replicaName: string;
  /** A Distributed table over `cluster` in front of <table>_local. */
  distributed: boolean;
}

/** One server, plain MergeTree: the embedded store's layout and the remote default. */
export const SINGLE_SERVER_LAYOUT: TableLayout = {
  cluster: '',
  engine: 'MergeTree',
  replicaPath: '/clickhouse/tables/{shard}/{database}/{table}',
  replicaName: '{replica}',
  distributed: false,
};

/** The columns and indexes of a table (schema.ts declares them). */
export interface TableDefinition {
  table: string;
  columns: ReadonlyArray<readonly [name: string, type: string]>;
  /** `INDEX name expression TYPE …`, as a CREATE TABLE column list takes it. */
  indexes: readonly string[];
  /** Names of indexes an older version created and this one drops (DROP INDEX IF EXISTS). */
  retiredIndexes: readonly string[];
}

/** Blocks whose tokens (or hashes) are remembered per partition: a retry after up to this many other inserts is still recognised. */
export const DEDUPLICATION_WINDOW = 1000;

/** The sharding key of the Distributed table (see the header comment). */
export const SHARDING_KEY = "cityHash64(if(RequestId = '', CaptureId, RequestId))";

/** The table holding the data on each server: <table>_local behind a Distributed table, else the table itself. */
export function storageTable(table: string, layout: TableLayout): string {
  return layout.distributed ? `${table}_local` : table;
}

/** Settings an INSERT needs on this layout, beyond the deduplication token. */
export function insertSettings(layout: TableLayout): Record<string, number> {
  // Synchronous distribution: the INSERT returns only once every shard stored its part
  // (and dropped a repeated token), so an acknowledged batch is stored, not queued on disk
  // of the server that received it, and the token reaches the shards with the rows.
  return layout.distributed ? { distributed_foreground_insert: 1 } : {};
}

function onCluster(layout: TableLayout): string {
  return layout.cluster === '' ? '' : ` ON CLUSTER ${sqlStringLiteral(layout.cluster)}`;
}

function engineClause(layout: TableLayout): string {
  switch (layout.engine) {
    case 'MergeTree':
      return 'MergeTree';
    case 'ReplicatedMergeTree':
      return `ReplicatedMergeTree(${sqlStringLiteral(layout.replicaPath)}, ${sqlStringLiteral(layout.replicaName)})`;
    case 'SharedMergeTree':
      return 'SharedMergeTree';
  }
}

function deduplicationSetting(layout: TableLayout): string {
  return `${layout.engine === 'MergeTree' ? 'non_replicated_deduplication_window' : 'replicated_deduplication_window'} = ${DEDUPLICATION_WINDOW}`;
}

/**
 * Each row is kept for its own RetentionDays (the capture policy's, per level
 * and rule), or --ttl-days when that is 0. Without --ttl-days (0: forever)
 * only rows with a retention of their own expire.
 */
export function ttlExpression(ttlDays: number): string {
  return ttlDays > 0 ? `toDateTime(Timestamp) + toIntervalDay(if(RetentionDays = 0, ${ttlDays}, RetentionDays))` : 'toDateTime(Timestamp) + toIntervalDay(RetentionDays) WHERE RetentionDays > 0';
}

/**
 * Partitions hold one day and one retention: ttl_only_drop_parts then drops a
 * part whole when its rows expire, and a part never mixes rows kept 7 days
 * with rows kept 90 (which would keep the 7-day rows for 90).
 */
export const PARTITION_KEY = '(toDate(Timestamp), RetentionDays)';

/**
 * A table created before rows had their own retention is partitioned by day
 * alone (ClickHouse cannot change a partition key in place): there a part can
 * mix retentions, so expired rows are deleted row by row when their part is
 * merged (ttl_only_drop_parts = 0) rather than kept until the whole part
 * expires. `partitionKey` is the table's, from system.tables.
 */
export function retentionMigration(definition: TableDefinition, layout: TableLayout, partitionKey: string): string[] {
  if (partitionKey.includes('RetentionDays')) return [];
  return [`ALTER TABLE ${storageTable(definition.table, layout)}${onCluster(layout)} MODIFY SETTING ttl_only_drop_parts = 0`];
}

/** The query that reads a table's partition key for retentionMigration. */
export function partitionKeyQuery(definition: TableDefinition, layout: TableLayout): string {
  return `SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND name = ${sqlStringLiteral(storageTable(definition.table, layout))}`;
}

/** The query that lists which of the definition's retired indexes the storage table still has (one name a row), for migrationStatements. */
export function retiredIndexQuery(definition: TableDefinition, layout: TableLayout): string {
  const names = definition.retiredIndexes.map(sqlStringLiteral).join(', ');
  return `SELECT name FROM system.data_skipping_indices WHERE database = currentDatabase() AND table = ${sqlStringLiteral(storageTable(definition.table, layout))} AND name IN (${names === '' ? "''" : names})`;
}

/** The names in retiredIndexQuery's answer, read as TabSeparated (one a line). */
export function retiredIndexNames(answer: string): string[] {
  return answer.split('\n').filter((name) => name !== '');
}

/** A Distributed table stores nothing: its columns carry no codecs. */
function withoutCodec(type: string): string {
  return type.replace(/\s+CODEC\(.*\)\s*$/, '');
}

/**
 * The CREATE statements: the storage table, then the Distributed table if any.
 * - PARTITION BY day and retention: TTL drops whole parts (ttl_only_drop_parts)
 *   and time-range queries prune partitions.
 * - ORDER BY (hour, Authority, Timestamp): time-range scans read a contiguous range,
 *   and "all calls to api.openai.com in the last hour" reads one Authority run per hour.
 */
export function createStatements(definition: TableDefinition, layout: TableLayout, ttlDays: number, tableSettings: ReadonlyArray<readonly [name: string, value: number]> = []): string[] {
  const local = storageTable(definition.table, layout);
  const settings = ['index_granularity = 8192', 'ttl_only_drop_parts = 1', deduplicationSetting(layout), ...tableSettings.map(([name, value]) => `${name} = ${value}`)];
  const create = [
    `CREATE TABLE IF NOT EXISTS ${local}${onCluster(layout)} (`,
    [...definition.columns.map(([name, type]) => `  ${name} ${type}`), ...definition.indexes.map((index) => `  ${index}`)].join(',\n'),
    ')',
    `ENGINE = ${engineClause(layout)}`,
    `PARTITION BY ${PARTITION_KEY}`,
    'ORDER BY (toStartOfHour(Timestamp), Authority, Timestamp)',
    `TTL ${ttlExpression(ttlDays)}`,
    `SETTINGS ${settings.join(', ')}`,
  ].join('\n');
  if (!layout.distributed) return [create];
  const distributed = [
    `CREATE TABLE IF NOT EXISTS ${definition.table}${onCluster(layout)} (`,
    definition.columns.map(([name, type]) => `  ${name} ${withoutCodec(type)}`).join(',\n'),
    ')',
    `ENGINE = Distributed(${sqlStringLiteral(layout.cluster)}, currentDatabase(), ${local}, ${SHARDING_KEY})`,
  ].join('\n');
  return [create, distributed];
}

/**
 * Table settings the engine fixes when it creates a table: MODIFY SETTING
 * refuses them (READONLY_SETTING), so a migration leaves them as they are.
 */
export const CREATE_ONLY_SETTINGS: ReadonlySet<string> = new Set(['index_granularity', 'index_granularity_bytes']);

/**
 * Idempotent statements that bring an existing table to the current schema:
 * new columns (on the Distributed table too, which has its own column list),
 * retired indexes dropped and new ones added (on the storage table only: a
 * Distributed table has none), re-applied table settings (but CREATE_ONLY_SETTINGS), the TTL.
 *
 * `retiredPresent`: the retired indexes the table still has (retiredIndexQuery).
 * A service asks first, because DROP INDEX is a mutation even when IF EXISTS
 * finds nothing: the engine would queue a rewrite of every part at each start.
 * The printed migrations (`egress-capture schema --migrations`) list them all.
 *
 * An index added to an existing table covers the parts written from then on;
 * older parts are not rebuilt (no MATERIALIZE INDEX: it would rewrite days of
 * bodies at start-up). A query reads those parts without the index, which
 * gives the same rows, only slower, until the TTL drops them.
 */
export function migrationStatements(
  definition: TableDefinition,
  layout: TableLayout,
  ttlDays: number,
  tableSettings: ReadonlyArray<readonly [name: string, value: number]> = [],
  retiredPresent: readonly string[] = definition.retiredIndexes,
): string[] {
  const local = storageTable(definition.table, layout);
  const cluster = onCluster(layout);
  const statements = definition.columns.map(([name, type]) => `ALTER TABLE ${local}${cluster} ADD COLUMN IF NOT EXISTS ${name} ${type}`);
  if (layout.distributed) {
    for (const [name, type] of definition.columns) statements.push(`ALTER TABLE ${definition.table}${cluster} ADD COLUMN IF NOT EXISTS ${name} ${withoutCodec(type)}`);
  }
  for (const name of retiredPresent) statements.push(`ALTER TABLE ${local}${cluster} DROP INDEX IF EXISTS ${name}`);
  for (const index of definition.indexes) statements.push(`ALTER TABLE ${local}${cluster} ADD ${index.replace(/^INDEX /, 'INDEX IF NOT EXISTS ')}`);
  const modifiable = tableSettings.filter(([name]) => !CREATE_ONLY_SETTINGS.has(name));
  if (modifiable.length > 0) statements.push(`ALTER TABLE ${local}${cluster} MODIFY SETTING ${modifiable.map(([name, value]) => `${name} = ${value}`).join(', ')}`);
  statements.push(`ALTER TABLE ${local}${cluster} MODIFY TTL ${ttlExpression(ttlDays)} SETTINGS materialize_ttl_after_modify = 0`);
  return statements;
}

/**
 * Whether an existing table's engine (system.tables.engine) is what this layout
 * writes to; the reason when it is not. CREATE TABLE IF NOT EXISTS keeps a table
 * that exists, so a service reconfigured for a cluster would otherwise keep writing
 * into the single-server table it created before. ClickHouse Cloud turns every
 * MergeTree-family engine into SharedMergeTree, so that one always fits.
 */
export function engineMismatch(layout: TableLayout, table: string, actual: string): string | undefined {
  if (layout.distributed) {
    if (actual === 'Distributed') return undefined;
    return `table ${table} is ${actual}; --clickhouse-distributed needs a Distributed table by that name (the data in ${storageTable(table, layout)} on each shard): rename or drop the existing one first`;
  }
  if (actual === 'Distributed') return `table ${table} is Distributed: add --clickhouse-distributed (and --clickhouse-cluster) to write through it`;
  if (actual === 'SharedMergeTree' || actual === layout.engine) return undefined;
  if (layout.engine === 'MergeTree' && actual.endsWith('MergeTree')) return undefined;
  return `table ${table} is ${actual}, not ${layout.engine} (--clickhouse-engine)`;
}

/** The layout the remote-store options (--clickhouse-cluster, …) describe. */
export function layoutFromOptions(options: {
  clickhouseCluster: string;
  clickhouseEngine: TableEngine;
  clickhouseReplicaPath: string;
  clickhouseReplicaName: string;
  clickhouseDistributed: boolean;
}): TableLayout {
  return {
    cluster: options.clickhouseCluster,
    engine: options.clickhouseEngine,
    replicaPath: options.clickhouseReplicaPath,
    replicaName: options.clickhouseReplicaName,
    distributed: options.clickhouseDistributed,
  };
}
