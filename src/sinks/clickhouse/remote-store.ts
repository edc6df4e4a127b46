/**
 * A remote ClickHouse server through @clickhouse/client, behind the same Sink
 * contract as the embedded store.
 *
 * The URL carries credentials and the database
 * (http(s)://user:password@host:8123/database); an https URL may name a
 * private CA with --clickhouse-ca-file. open() checks, in order, that the
 * server answers at all, that it accepts the credentials, and that the
 * database exists — each failure is its own error code and a sentence an
 * operator can act on, instead of the first CREATE TABLE failing with
 * whatever the server said. The database is never created here: a typo in
 * the URL must not silently start a second, empty store.
 *
 * Inserts are synchronous (async_insert=0, the server default changed to 1 in
 * 26.2) so a batch is acknowledged only when stored, and its deduplication
 * token keeps a retried batch from being stored twice (docs/clickhouse.md).
 * Request bodies are gzip-compressed: captured bodies are JSON text and
 * shrink several-fold. The table's layout on a cluster (engine, ON CLUSTER,
 * Distributed) comes from table-layout.ts.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { CaptureError, describeError } from '../../errors';
import { batchBuffers, type RowBatch, type Sink, type WriteResult } from '../sink';
import { COLUMNS, TABLE, schemaStatements, tableDefinitionFor } from './schema';
import { engineMismatch, insertSettings, partitionKeyQuery, retentionMigration, retiredIndexNames, retiredIndexQuery, SINGLE_SERVER_LAYOUT, type TableLayout } from './table-layout';
import { sqlStringLiteral } from './sql-literal';

export interface RemoteStoreOptions {
  url: string;
  ttlDays: number;
  /** PEM CA bundle for https URLs ('' or absent = the system roots). */
  caFile?: string;
  /** Per-request timeout, ms (default 30 s, the client's default). */
  requestTimeoutMs?: number;
  /** Cluster, engine and Distributed table (default: one server, MergeTree). */
  layout?: TableLayout;
  /** false: run no DDL, only check that the table has every column (a schema managed by hand). */
  createSchema?: boolean;
  /**
   * Opened by a reader (`query`, `replay`): open() checks the address and the
   * credentials but leaves the schema alone, so a reader never creates the
   * table or resets the TTL the service set (`ttlDays` is then unused).
   */
  reader?: boolean;
}

/** ClickHouse error codes open() explains. */
const AUTH_CODES = new Set(['516', '192', '193', '194']);
const UNKNOWN_DATABASE = '81';
/**
 * Errors that will not go away by sending the same batch again: the batch's
 * data itself is unparsable. Credentials, a dropped database or table stay
 * retryable — an operator can fix those while the batch waits.
 */
const PERMANENT_WRITE_CODES = new Set(['6', '26', '27', '53', '117']);

export interface RemoteTarget {
  /** Origin without credentials or path: what the client connects to. */
  origin: string;
  /** host:port for messages (never the password). */
  hostPort: string;
  username: string;
  password: string;
  database: string;
}

/** Splits a --clickhouse-url into what the client needs; the password never ends up in a message. */
export function parseClickHouseUrl(raw: string): RemoteTarget {
  const url = new URL(raw);
  const defaultPort = url.protocol === 'https:' ? '8443' : '8123';
  const port = url.port || defaultPort;
  return {
    origin: `${url.protocol}//${url.hostname.includes(':') && !url.hostname.startsWith('[') ? `[${url.hostname}]` : url.hostname}:${port}`,
    hostPort: `${url.hostname}:${port}`,
    username: decodeURIComponent(url.username) || 'default',
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, '')) || 'default',
  };
}

export class RemoteStore implements Sink {
  readonly name = 'clickhouse';
  private client: ClickHouseClient | undefined;
  private readonly target: RemoteTarget;
  lastWriteMs = 0;

  private readonly layout: TableLayout;

  constructor(private readonly options: RemoteStoreOptions) {
    this.target = parseClickHouseUrl(options.url);
    this.layout = options.layout ?? SINGLE_SERVER_LAYOUT;
  }

  async open(): Promise<void> {
    const { origin, hostPort, username, password, database } = this.target;
    let caCert: Buffer | undefined;
    if (this.options.caFile !== undefined && this.options.caFile !== '') {
      try {
        caCert = fs.readFileSync(this.options.caFile);
      } catch (err) {
        throw new CaptureError('CAP_ERR_STORE_OPEN', `cannot read the ClickHouse CA file ${this.options.caFile}: ${describeError(err)}`, { cause: err });
      }
    }
    const client = createClient({
      url: origin,
      username,
      password,
      database,
      request_timeout: this.options.requestTimeoutMs ?? 30_000,
      // Request bodies (row batches) are gzip'd; responses are tiny, left uncompressed.
      compression: { request: true, response: false },
      clickhouse_settings: { async_insert: 0 },
      // Failures are reported by this sink with the host, user and batch in context; the
      // client's own log lines would repeat them without that context.
      log: { level: ClickHouseLogLevel.OFF },
      ...(caCert !== undefined ? { tls: { ca_cert: caCert } } : {}),
    });
    this.client = client;
    try {
      // 1. Reachable? /ping needs no credentials, so a failure here is the network or TLS.
      const ping = await client.ping();
      if (!ping.success) {
        throw new CaptureError(
          'CAP_ERR_STORE_UNREACHABLE',
          `cannot reach ClickHouse at ${hostPort}: ${describeError(ping.error)}${origin.startsWith('https:') && caCert === undefined ? ' (for a private CA, pass --clickhouse-ca-file)' : ''}`,
          { cause: ping.error },
        );
      }
      // 2. Credentials and database: every request carries both, so one trivial query checks them.
      let version: string;
      try {
        const probe = await client.query({ query: 'SELECT version()', format: 'TabSeparated' });
        version = (await probe.text()).trim();
      } catch (err) {
        throw this.explainOpenError(err);
      }
      // 3. Schema: create, or migrate an older table in place (unless it is managed by hand, or
      // this is a reader), then check that what is there is what the service writes to.
      if (this.options.createSchema !== false && this.options.reader !== true) {
        const definition = tableDefinitionFor(version);
        try {
          const retired = retiredIndexNames(await (await client.query({ query: retiredIndexQuery(definition, this.layout), format: 'TabSeparated' })).text());
          for (const statement of schemaStatements(this.options.ttlDays, retired, [], this.layout, definition)) await client.command({ query: statement });
          const partitionKey = (await (await client.query({ query: partitionKeyQuery(definition, this.layout), format: 'TabSeparated' })).text()).trim();
          for (const statement of retentionMigration(definition, this.layout, partitionKey)) await client.command({ query: statement });
        } catch (err) {
          const explained = this.explainOpenError(err);
          if (explained.code !== 'CAP_ERR_STORE_OPEN') throw explained;
          throw new CaptureError('CAP_ERR_STORE_OPEN', `ClickHouse at ${hostPort} (database ${database}): cannot create or migrate ${TABLE}: ${describeError(err)}`, { cause: err });
        }
      }
      await this.checkTable(client);
    } catch (err) {
      this.client = undefined;
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The table the service writes to exists, has the engine this layout expects and
   * every column the service writes; otherwise one message names what is wrong,
   * at start, instead of every insert failing on the first column the table lacks.
   */
  private async checkTable(client: ClickHouseClient): Promise<void> {
    const { hostPort, database } = this.target;
    const where = `ClickHouse at ${hostPort} (database ${database})`;
    const rows = async <T>(query: string): Promise<T[]> => {
      try {
        return (await (await client.query({ query, format: 'JSONEachRow' })).json()) as T[];
      } catch (err) {
        throw this.explainOpenError(err);
      }
    };
    const table = sqlStringLiteral(TABLE);
    const [found] = await rows<{ engine: string }>(`SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = ${table}`);
    const hint = this.options.createSchema === false ? ' (apply `egress-capture schema` with the same options, or drop --no-create-schema)' : '';
    if (found === undefined) throw new CaptureError('CAP_ERR_STORE_SCHEMA', `${where}: table ${TABLE} does not exist${hint}`);
    const mismatch = engineMismatch(this.layout, TABLE, found.engine);
    if (mismatch !== undefined) throw new CaptureError('CAP_ERR_STORE_SCHEMA', `${where}: ${mismatch}`);
    const present = new Set((await rows<{ name: string }>(`SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ${table}`)).map((row) => row.name));
    const missing = COLUMNS.map(([name]) => name).filter((name) => !present.has(name));
    if (missing.length > 0) {
      const fix = this.options.createSchema === false ? ' (add them: `egress-capture schema --migrations` prints the ALTER statements)' : '';
      throw new CaptureError('CAP_ERR_STORE_SCHEMA', `${where}: table ${TABLE} lacks column${missing.length === 1 ? '' : 's'} ${missing.join(', ')} that the service writes${fix}`);
    }
  }

  private explainOpenError(err: unknown): CaptureError {
    const { hostPort, username, database } = this.target;
    const code = err instanceof ClickHouseError ? err.code : undefined;
    if (code !== undefined && AUTH_CODES.has(code)) {
      return new CaptureError('CAP_ERR_STORE_AUTH', `ClickHouse rejected the credentials for user ${username} at ${hostPort} (check the user and password in --clickhouse-url)`, { cause: err });
    }
    if (code === UNKNOWN_DATABASE) {
      return new CaptureError('CAP_ERR_STORE_NO_DATABASE', `database ${database} does not exist on ${hostPort} (create it or fix --clickhouse-url)`, { cause: err });
    }
    if (code === undefined) {
      return new CaptureError('CAP_ERR_STORE_UNREACHABLE', `ClickHouse at ${hostPort} did not answer the query: ${describeError(err)}`, { cause: err });
    }
    return new CaptureError('CAP_ERR_STORE_OPEN', `ClickHouse at ${hostPort} (database ${database}): ${describeError(err)}`, { cause: err });
  }

  async write(batch: RowBatch): Promise<WriteResult> {
    const client = this.requireClient();
    const started = performance.now();
    try {
      // The batch is already JSONEachRow text: exec() streams it as the request body unchanged
      // (insert() would JSON-encode every element of a stream, turning each line into a string).
      const result = await client.exec({
        query: `INSERT INTO ${TABLE} FORMAT JSONEachRow`,
        values: Readable.from(batchBuffers(batch), { objectMode: false }),
        // One batch = one insert block with a stable token: a batch re-sent after an unclear
        // failure is dropped by the server (table setting non_replicated_deduplication_window).
        // input_format_skip_unknown_fields = 0: a field the table lacks fails the insert instead of vanishing (the server's default skips it).
        clickhouse_settings: { insert_deduplication_token: batch.batchId, async_insert: 0, input_format_skip_unknown_fields: 0, ...insertSettings(this.layout) },
      });
      // An unconsumed response leaves the keep-alive socket unusable for the next request.
      for await (const _ of result.stream) void _;
      this.lastWriteMs = performance.now() - started;
      return { ok: true };
    } catch (err) {
      const code = err instanceof ClickHouseError ? err.code : undefined;
      const retryable = code === undefined || !PERMANENT_WRITE_CODES.has(code);
      const message = code !== undefined && AUTH_CODES.has(code) ? `ClickHouse rejected the credentials for user ${this.target.username} at ${this.target.hostPort}` : describeError(err);
      return { ok: false, retryable, error: new CaptureError('CAP_ERR_STORE_WRITE', message, { cause: err }) };
    }
  }

  async query(sql: string, format = 'JSONEachRow'): Promise<string> {
    const hasFormat = /\bFORMAT\s+[A-Za-z0-9_]+\s*;?\s*$/i.test(sql);
    const result = await this.execute(hasFormat ? sql : `${sql}\nFORMAT ${format}`);
    return Buffer.from(result.bytes).toString('utf8');
  }

  /**
   * Runs one statement exactly as given (it names its own FORMAT) and
   * returns raw bytes plus the server's X-ClickHouse-Summary counters; the
   * admin ClickHouse interface relays both when the service runs on a remote
   * store.
   */
  async execute(sql: string, _format = ''): Promise<{ bytes: Uint8Array; rowsRead?: number; bytesRead?: number; writtenRows?: number; writtenBytes?: number }> {
    const client = this.requireClient();
    try {
      // The statement is sent as it is: it names its own FORMAT, or has no result set (INSERT with data, DDL).
      const result = await client.exec({ query: sql });
      const chunks: Buffer[] = [];
      for await (const chunk of result.stream) chunks.push(Buffer.from(chunk as Buffer));
      const summary = result.summary;
      const num = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
      return {
        bytes: Buffer.concat(chunks),
        rowsRead: num(summary?.read_rows),
        bytesRead: num(summary?.read_bytes),
        writtenRows: num(summary?.written_rows),
        writtenBytes: num(summary?.written_bytes),
      };
    } catch (err) {
      // Keep ClickHouse's own "Code: N. DB::Exception" text so the admin interface can relay the code.
      const code = err instanceof ClickHouseError ? err.code : undefined;
      const message =
        code !== undefined && !/^Code: \d+\./.test(describeError(err))
          ? `Code: ${code}. DB::Exception: ${describeError(err)} (${(err as ClickHouseError).type ?? 'UNKNOWN_EXCEPTION'})`
          : describeError(err);
      throw new CaptureError('CAP_ERR_QUERY_FAILED', message, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }

  private requireClient(): ClickHouseClient {
    if (this.client === undefined) throw new CaptureError('CAP_ERR_STORE_OPEN', 'the ClickHouse client is not open');
    return this.client;
  }
}
