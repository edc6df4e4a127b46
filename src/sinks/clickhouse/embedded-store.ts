/**
 * The embedded ClickHouse (chdb) store: the default sink, and the engine
 * behind `egress-capture query` and the admin /query endpoint.
 *
 * chdb binds one data directory per process, and its synchronous query()
 * blocks the event loop, so only queryAsync/insert are used here (they run on
 * libuv's pool). Memory caps are set explicitly: chdb's defaults assume the
 * whole machine (0.9 × RAM server memory, 5 GiB caches).
 *
 * A batch is written to a staging file and inserted with
 * `INSERT ... SELECT * FROM file(...)`, not through chdb's insert(). That
 * call copies the whole payload into a new query buffer and counts its lines
 * before ClickHouse parses a byte (measured with perf: about a third of the
 * insert thread's time), and it needs the batch as one buffer, concatenated
 * on the event loop. Writing the spool's row buffers to a file with one
 * writev on libuv's pool and letting ClickHouse read it costs about 25% less
 * CPU per row, all in (61-68 against 85-90 us for the bench's 12.8 KiB rows).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session, drainPending } from 'chdb';
import { CaptureError, describeError } from '../../errors';
import { batchBuffers, type RowBatch, type Sink, type WriteResult } from '../sink';
import { otelLogsViewStatement } from './otel-logs-view';
import { EMBEDDED_TABLE_SETTINGS, TABLE, TABLE_DEFINITION, schemaStatements } from './schema';
import { partitionKeyQuery, retentionMigration, retiredIndexNames, retiredIndexQuery, SINGLE_SERVER_LAYOUT } from './table-layout';
import { sqlStringLiteral } from './sql-literal';

/** One engine connection with its own session settings (see EmbeddedStore.openConnection). */
export interface EngineConnection {
  /** Runs one statement; `params` are bound server-side ({name:Type} placeholders), never spliced into the text. */
  execute(sql: string, format: string, params?: Record<string, string>): Promise<{ bytes: Uint8Array; rowsRead: number; bytesRead: number }>;
  /**
   * Runs `insert` (an INSERT without data or FORMAT) with `data` in `format`
   * as its rows. Binary data (Native, RowBinary…) cannot travel inside the
   * SQL text the engine takes, so it is staged in a file of the store's own
   * and read with file() — by this statement only, never a client's.
   */
  insertData(insert: string, format: string, data: Uint8Array): Promise<void>;
  close(): void;
}

export interface EmbeddedStoreOptions {
  dataDir: string;
  /** Table TTL applied by the schema migration; undefined = open for reading only, schema untouched. */
  ttlDays: number | undefined;
  /** The engine's memory ceiling, caches and part format (src/config/options.ts declares them and their defaults). */
  memory: EngineMemoryConfig;
  /**
   * The engine's own readonly=1 for the whole session: no INSERT, DDL,
   * ALTER, file() or setting changes (readonly itself included), whatever
   * the SQL says. `query` opens the store this way unless --allow-writes.
   */
  readOnly?: boolean;
}

/** The settings the embedded engine's memory depends on, bytes (or rows). */
export interface EngineMemoryConfig {
  storeMaxMemoryBytes: number;
  storeMarkCacheBytes: number;
  storePrimaryIndexCacheBytes: number;
  storeIndexMarkCacheBytes: number;
  storeQueryConditionCacheBytes: number;
  storeUncompressedCacheBytes: number;
  storeMinBytesForWidePart: number;
  storeVerticalMergeMinRows: number;
  storeIndexGranularityBytes: number;
}

/**
 * Threads that load, check and clean up the table's parts when the store
 * opens. ClickHouse sizes these pools for a server (64, 32, 8 and 128), and
 * every thread it starts stays parked in its global pool for good: opening a
 * data directory of 150k rows left 62 threads and ~15 MiB more resident than
 * an empty one; one per core left 32 threads and ~9 MiB. The work is a few
 * small files per part, so more threads than cores gain nothing.
 */
export const PART_LOADING_THREADS = os.availableParallelism();

/** Server settings of the engine: chdb's defaults assume the whole machine (0.9 × RAM, 5 GiB caches, pools of a server). */
function engineArgs(memory: EngineMemoryConfig): string[] {
  return [
    `--max_server_memory_usage=${memory.storeMaxMemoryBytes}`,
    `--mark_cache_size=${memory.storeMarkCacheBytes}`,
    `--primary_index_cache_size=${memory.storePrimaryIndexCacheBytes}`,
    `--index_mark_cache_size=${memory.storeIndexMarkCacheBytes}`,
    `--uncompressed_cache_size=${memory.storeUncompressedCacheBytes}`,
    `--query_condition_cache_size=${memory.storeQueryConditionCacheBytes}`,
    ...['max_active_parts_loading_thread_pool_size', 'max_outdated_parts_loading_thread_pool_size', 'max_unexpected_parts_loading_thread_pool_size', 'max_parts_cleaning_thread_pool_size'].map(
      (pool) => `--${pool}=${PART_LOADING_THREADS}`,
    ),
  ];
}

/** Table settings of the embedded store: merge_selector_base (schema.ts) plus the part format and granule size that bound insert and merge memory. */
export function embeddedTableSettings(memory: EngineMemoryConfig): Array<readonly [name: string, value: number]> {
  return [
    ...EMBEDDED_TABLE_SETTINGS,
    ['min_bytes_for_wide_part', memory.storeMinBytesForWidePart],
    ['vertical_merge_algorithm_min_rows_to_activate', memory.storeVerticalMergeMinRows],
    ['index_granularity_bytes', memory.storeIndexGranularityBytes],
  ];
}
/** Under the data directory: one file per batch being inserted, removed once the insert returns. */
export const INSERT_STAGING_DIR = 'insert-staging';

export class EmbeddedStore implements Sink {
  readonly name = 'chdb';
  private session: Session | undefined;
  /** Milliseconds the last write took (for the batch histogram). */
  lastWriteMs = 0;

  constructor(private readonly options: EmbeddedStoreOptions) {}

  private get memory(): EngineMemoryConfig {
    return this.options.memory;
  }

  async open(): Promise<void> {
    if (this.options.ttlDays !== undefined && /[*?{}]/.test(this.stagingDir)) {
      // file() reads these as a glob pattern, so the staged batches could never be found.
      throw new CaptureError('CAP_ERR_STORE_OPEN', `the data directory ${this.options.dataDir} contains one of * ? { }, which ClickHouse's file() reads as a pattern; choose another --data-dir`);
    }
    try {
      fs.mkdirSync(this.options.dataDir, { recursive: true });
      this.session = new Session(this.options.dataDir, {
        connectionArgs: [...engineArgs(this.memory), ...(this.options.readOnly === true ? ['--readonly=1'] : [])],
      });
    } catch (err) {
      throw new CaptureError('CAP_ERR_STORE_OPEN', `cannot open the embedded store at ${this.options.dataDir}: ${describeError(err)}`, { cause: err });
    }
    // Commands that only read (query, replay) must not migrate the schema:
    // that would reset the TTL the running service configured.
    const ttlDays = this.options.ttlDays;
    if (ttlDays === undefined) return;
    // Files left by a process that died mid-insert: their rows are still in the spool.
    fs.rmSync(this.stagingDir, { recursive: true, force: true });
    fs.mkdirSync(this.stagingDir, { recursive: true });
    const session = this.session;
    try {
      const retired = retiredIndexNames((await session.queryAsync(retiredIndexQuery(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT), { format: 'TabSeparated' })).text());
      for (const statement of [...schemaStatements(ttlDays, retired, embeddedTableSettings(this.memory)), otelLogsViewStatement()]) await session.queryAsync(statement);
      const partitionKey = (await session.queryAsync(partitionKeyQuery(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT), { format: 'TabSeparated' })).text().trim();
      for (const statement of retentionMigration(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT, partitionKey)) await session.queryAsync(statement);
    } catch (err) {
      throw new CaptureError('CAP_ERR_STORE_OPEN', `cannot create the ${TABLE} schema: ${describeError(err)}`, { cause: err });
    }
  }

  /** Absolute: file() would resolve a relative path against ClickHouse's user_files_path, not our working directory. */
  private get stagingDir(): string {
    return path.resolve(this.options.dataDir, INSERT_STAGING_DIR);
  }

  async write(batch: RowBatch): Promise<WriteResult> {
    const session = this.requireSession();
    const started = performance.now();
    // The batch id is unique among batches in flight (spool position), and safe in a file name.
    const file = path.join(this.stagingDir, `${batch.batchId.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`);
    try {
      await writeLines(file, batchBuffers(batch));
      await session.queryAsync(
        `INSERT INTO ${TABLE} SETTINGS ${[
          `insert_deduplication_token = ${sqlStringLiteral(batch.batchId)}`,
          // ClickHouse skips unknown JSON fields by default; a field the table lacks is a bug to hear about, not data to lose.
          'input_format_skip_unknown_fields = 0',
          // One batch is small; parallel parsing would only add threads and copies.
          'input_format_parallel_parsing = 0',
          // Read the file with the table's columns (no schema inference over the data).
          'use_structure_from_insertion_table_in_table_functions = 1',
        ].join(', ')} SELECT * FROM file(${sqlStringLiteral(file)}, 'JSONEachRow')`,
      );
      this.lastWriteMs = performance.now() - started;
      return { ok: true };
    } catch (err) {
      // The embedded engine fails deterministically (bad row, full disk): retry anyway, the caller bounds it.
      return { ok: false, retryable: true, error: new CaptureError('CAP_ERR_STORE_WRITE', describeError(err), { cause: err }) };
    } finally {
      await fs.promises.rm(file, { force: true }).catch(() => undefined);
    }
  }

  /** Runs one statement and returns the result text in `format`. */
  async query(sql: string, format = 'JSONEachRow'): Promise<string> {
    const session = this.requireSession();
    try {
      const result = await session.queryAsync(sql, { format });
      return result.text();
    } catch (err) {
      throw new CaptureError('CAP_ERR_QUERY_FAILED', describeError(err), { cause: err });
    }
  }

  /**
   * Runs `sql` as given and returns the raw result bytes (binary formats
   * included) with the engine's read statistics; used by the admin port's
   * ClickHouse HTTP interface. `format` is the output format named in the SQL
   * ('' for INSERT and DDL).
   */
  async execute(sql: string, format: string): Promise<{ bytes: Uint8Array; rowsRead: number; bytesRead: number }> {
    const session = this.requireSession();
    try {
      const result = await session.queryAsync(sql, { format: format === '' ? 'TabSeparated' : format });
      return { bytes: result.bytes(), rowsRead: result.rowsRead, bytesRead: result.bytesRead };
    } catch (err) {
      throw new CaptureError('CAP_ERR_QUERY_FAILED', describeError(err), { cause: err });
    }
  }

  /**
   * A connection of its own on the same data directory, for one admin
   * request: chdb gives each connection its own session settings, so what the
   * admin interface SETs on it (readonly = 1, a client's max_result_rows)
   * never reaches the capture writer's session. Close it after the request.
   */
  openConnection(): EngineConnection {
    this.requireSession();
    const session = new Session(this.options.dataDir);
    return {
      async execute(sql, format, params) {
        const options = { format: format === '' ? 'TabSeparated' : format };
        try {
          const result = params === undefined ? await session.queryAsync(sql, options) : await session.queryBindAsync(sql, params, options);
          return { bytes: result.bytes(), rowsRead: result.rowsRead, bytesRead: result.bytesRead };
        } catch (err) {
          throw new CaptureError('CAP_ERR_QUERY_FAILED', describeError(err), { cause: err });
        }
      },
      insertData: async (insert, format, data) => {
        const file = path.join(this.stagingDir, `admin-${randomUUID()}.data`);
        try {
          await fs.promises.writeFile(file, data, { mode: 0o600 });
          await session.queryAsync(`${insert} SELECT * FROM file(${sqlStringLiteral(file)}, ${sqlStringLiteral(format)})`, { format: 'TabSeparated' });
        } catch (err) {
          throw new CaptureError('CAP_ERR_QUERY_FAILED', describeError(err), { cause: err });
        } finally {
          await fs.promises.rm(file, { force: true });
        }
      },
      close: () => session.close(),
    };
  }

  async close(): Promise<void> {
    if (this.session === undefined) return;
    this.session.close();
    this.session = undefined;
    await drainPending();
  }

  private requireSession(): Session {
    if (this.session === undefined) throw new CaptureError('CAP_ERR_STORE_OPEN', 'the embedded store is not open');
    return this.session;
  }
}

/** Writes `lines` to a new file with one writev (libuv splits it at IOV_MAX), off the event loop. */
async function writeLines(file: string, lines: readonly Buffer[]): Promise<void> {
  const handle = await fs.promises.open(file, 'w');
  try {
    const { bytesWritten } = await handle.writev(lines as Buffer[]);
    // libuv returns a short count instead of an error when the disk fills after the first bytes;
    // a file cut at a line boundary would insert fewer rows without a word.
    const expected = lines.reduce((sum, line) => sum + line.length, 0);
    if (bytesWritten !== expected) throw new Error(`staging file ${file}: wrote ${bytesWritten} of ${expected} bytes`);
  } finally {
    await handle.close();
  }
}
