/**
 * The subset of ClickHouse's HTTP interface that @clickhouse/client, curl
 * and Grafana's ClickHouse data source (HTTP protocol) use, served over the
 * store on the admin port:
 *
 *   GET  /?query=SELECT 1                  query in the URL
 *   POST /  (body: SQL)                    query in the body, or URL query + body
 *   POST /?query=INSERT INTO t FORMAT JSONEachRow  (body: rows)   with --admin-allow-writes
 *   database, default_format, FORMAT X, settings as URL parameters, param_* query parameters
 *   X-ClickHouse-Query-Id / -Format / -Timezone / -Summary / -Server-Display-Name
 *   errors: X-ClickHouse-Exception-Code + "Code: N. DB::Exception: … (NAME)"
 *   basic auth, X-ClickHouse-User/-Key, user/password parameters
 *   Content-Encoding request bodies and Accept-Encoding answers (content-encoding.ts)
 *   compress=1 / decompress=1: ClickHouse's compressed blocks (native-blocks.ts)
 *   multipart/form-data with external data tables (external-tables.ts)
 *   X-ClickHouse-Progress with send_progress_in_http_headers=1 (once, with the final counts)
 *
 * Every result is produced completely before the response starts
 * (wait_end_of_query=1 semantics): the engine returns whole results, and an
 * error can then always be a proper status and header instead of text spliced
 * into a half-sent 200.
 */
import { randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';
import * as os from 'node:os';
import type { Logger } from 'pino';
import { sqlStringLiteral } from '../../sinks/clickhouse/sql-literal';
import type { EngineConnection } from '../../sinks/clickhouse/embedded-store';
import { CH, ClickHouseHttpError, fromStoreError } from './clickhouse-errors';
import { bindQueryParameters } from './query-parameters';
import { BodyTooLarge, UnknownEncoding, decodeBody, type HttpCodec, encodeBody, pickAnswerCodec, requestCodec } from './content-encoding';
import { NativeBlockError, compressNativeBlocks, decompressNativeBlocks } from './native-blocks';
import { DEFAULT_MAX_EXTERNAL_DATA_BYTES, dropExternalTables, loadExternalTables, readMultipartForm, type ExternalTable } from './external-tables';
import { countNativeRows, nativeAtRevision } from './native-revision';
import { withChangeableSettings } from './settings-view';
import { EngineSessions, sessionTimeout, type SessionLease } from './engine-sessions';
import { BINARY_FORMATS, contentTypeFor, isAllowedSetting, parseRequestParams, type RequestParams } from './request-params';
import { DENIED_FUNCTIONS, SAFE_TABLE_FUNCTIONS, checkStatement, splitInsertData, type CheckedStatement, type ParserEngine, type Setting } from './statement';
import { describeError } from '../../errors';

/** What the interface needs from a store: SQL in, result text out. */
export interface TextQueryStore {
  query(sql: string, format?: string): Promise<string>;
}

/** A store that can also return raw bytes (binary formats) and engine statistics. */
export interface ExecutingStore extends TextQueryStore {
  /** Runs `sql` as given; `format` is the output format already named in it ('' for INSERT/DDL). */
  execute(sql: string, format: string): Promise<ExecuteResult>;
  /**
   * A connection with session settings of its own, for one request (the
   * embedded store). Reads then run under `SET readonly = 1` on it, and URL
   * settings are SET on it instead of being spliced into the statement.
   */
  openConnection?(): EngineConnection;
}

export interface ExecuteResult {
  bytes: Uint8Array;
  /** Rows the query read from its sources (a remote ClickHouse reports them; the embedded engine does not). */
  rowsRead?: number;
  bytesRead?: number;
  writtenRows?: number;
  writtenBytes?: number;
  /** Rows in the result (the embedded engine's own count). */
  resultRows?: number;
}

export interface ClickHouseHttpOptions {
  store: TextQueryStore | ExecutingStore;
  log: Logger;
  /** Required user ('' = no authentication). */
  user: string;
  password: string;
  allowWrites: boolean;
  /** X-ClickHouse-Server-Display-Name (default: the host name). */
  displayName?: string;
  /** Largest request body after decompression (INSERT data), bytes. */
  maxBodyBytes?: number;
  /** Largest query text (URL query + SQL body, after decompression), bytes. */
  maxQueryBytes: number;
  /** Limits every query runs under. */
  limits: QueryLimits;
  /** Queries running at once; more wait for a slot. */
  maxConcurrentQueries: number;
  /** Queries waiting for a slot; more are refused at once (202, HTTP 503). */
  maxQueuedQueries: number;
  /** External data tables of one multipart request, all together, bytes (default DEFAULT_MAX_EXTERNAL_DATA_BYTES). */
  maxExternalDataBytes?: number;
}

/**
 * Set on the request's engine session before `SET readonly = 1`, so the
 * engine itself refuses to change them afterwards; a client's own value for
 * one of them (URL setting or the final SETTINGS clause) is accepted only if
 * it is lower, and 0 (unlimited) never.
 */
export interface QueryLimits {
  maxExecutionTimeSeconds: number;
  maxMemoryUsageBytes: number;
  maxResultBytes: number;
}

const LIMIT_SETTINGS = ['max_execution_time', 'max_memory_usage', 'max_result_bytes'] as const;

function limitValues(limits: QueryLimits): Record<(typeof LIMIT_SETTINGS)[number], number> {
  return { max_execution_time: limits.maxExecutionTimeSeconds, max_memory_usage: limits.maxMemoryUsageBytes, max_result_bytes: limits.maxResultBytes };
}

/**
 * The limits first, then the client's settings, each limited one checked to be within its limit.
 * A longer max_execution_time is lowered to the limit instead of refused: drivers derive it from
 * their own deadline on every query (clickhouse-go sends the context's timeout + 5 s, Grafana's
 * query timeout is 60 s), so refusing it would refuse those clients outright; the query still
 * stops at the limit. 0 (unlimited) and the other limits are refused.
 */
export function limitedSettings(settings: readonly Setting[], limits: QueryLimits): Setting[] {
  const caps = limitValues(limits);
  const out: Setting[] = [];
  for (const [name, value] of settings) {
    if (!(name in caps)) {
      out.push([name, value]);
      continue;
    }
    const cap = caps[name as keyof typeof caps];
    const number = Number(value.replace(/^'(.*)'$/s, '$1'));
    if (name === 'max_execution_time' && Number.isFinite(number) && number > cap) {
      out.push([name, String(cap)]);
      continue;
    }
    if (!Number.isFinite(number) || number <= 0 || number > cap) {
      throw ClickHouseHttpError.of(CH.SETTING_CONSTRAINT_VIOLATION, `Setting ${name} should not be greater than ${cap} (nor 0, unlimited) through the admin interface; asked for ${value}`);
    }
    out.push([name, value]);
  }
  return [...LIMIT_SETTINGS.map((name) => [name, String(caps[name])] as const), ...out];
}

/** A counting semaphore: at most `slots` holders, the rest wait in arrival order. */
/**
 * Query slots: `slots` run at once, at most `maxWaiting` wait for one, and a
 * query past that is refused at once (ClickHouse's TOO_MANY_SIMULTANEOUS_QUERIES,
 * HTTP 503), so a flood of dashboard refreshes holds neither memory nor
 * sockets without bound and its clients learn to back off.
 */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(
    private readonly slots: number,
    private readonly maxWaiting: number,
  ) {
    this.free = slots;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else if (this.waiting.length >= this.maxWaiting) {
      throw ClickHouseHttpError.of(
        CH.TOO_MANY_SIMULTANEOUS_QUERIES,
        `Too many simultaneous queries on the admin interface: ${this.slots} running and ${this.waiting.length} waiting (--admin-max-concurrent-queries, --admin-max-queued-queries); try again later`,
      );
    } else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.free++;
    };
  }
}

export interface HandleOptions {
  /** Output format when neither FORMAT nor default_format is given (ClickHouse: TabSeparated). */
  defaultFormat?: string;
}

const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;
const FORMAT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A request's `session_id` (with writes allowed): its temporary tables live on across requests. */
interface SessionRequest {
  user: string;
  id: string;
  timeoutSeconds: number;
  check: boolean;
}

export class ClickHouseHttpHandler {
  private timezone: Promise<string> | undefined;
  /** ClickHouse sessions, only with writes allowed: without them nothing (no temporary table) can live in one. */
  private readonly sessions: EngineSessions | undefined;
  private readonly displayName: string;
  private readonly limits: QueryLimits;
  private readonly slots: Slots;

  constructor(private readonly options: ClickHouseHttpOptions) {
    this.displayName = options.displayName ?? os.hostname();
    this.limits = options.limits;
    this.slots = new Slots(options.maxConcurrentQueries, options.maxQueuedQueries);
    const store = options.store;
    if (options.allowWrites && 'openConnection' in store && typeof store.openConnection === 'function') this.sessions = new EngineSessions(() => store.openConnection!());
  }

  /** Closes the sessions' engine connections (at shutdown). */
  close(): void {
    this.sessions?.closeAll();
  }

  get requiresAuth(): boolean {
    return this.options.user !== '';
  }

  /**
   * For other data paths (/status): checks the credentials the ClickHouse way
   * and answers 401 itself when they are wrong. Returns whether to go on.
   */
  authorize(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
    if (!this.requiresAuth) return true;
    try {
      this.authenticate(req, { user: url.searchParams.get('user') ?? undefined, password: url.searchParams.get('password') ?? undefined });
      return true;
    } catch (err) {
      const error = fromStoreError(err);
      req.resume();
      res.writeHead(error.httpStatus, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Exception-Code': String(error.chCode),
        'WWW-Authenticate': 'Basic realm="ClickHouse server", charset="UTF-8"',
      });
      res.end(error.body());
      return false;
    }
  }

  /**
   * One fixed read of the product's own (the capture browser's API), on the
   * same path a client's read takes: a query slot, the limits, and an engine
   * session under `SET readonly = 1`. `params` fill the `{name:Type}`
   * placeholders, bound by the engine; without connections of its own (a
   * remote store) they are bound as typed literals as for a client's query.
   */
  async runRead(sql: string, format: string, params: Record<string, string>): Promise<ExecuteResult> {
    const release = await this.slots.acquire();
    const store = this.options.store;
    try {
      const settings = limitedSettings([], this.limits);
      if ('openConnection' in store && typeof store.openConnection === 'function') {
        const connection = store.openConnection();
        try {
          await connection.execute(`SET ${assignments(settings)}`, '');
          await connection.execute('SET readonly = 1', '');
          return await connection.execute(`${sql}\nFORMAT ${format}`, format, params);
        } finally {
          connection.close();
        }
      }
      const bound = bindQueryParameters(sql, new Map(Object.entries(params)));
      return await this.execute(`${bound}\nSETTINGS ${assignments([...settings, ['readonly', '1']])}\nFORMAT ${format}`, format);
    } finally {
      release();
    }
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, handleOptions: HandleOptions = {}): Promise<void> {
    let params: RequestParams | undefined;
    const queryId = url.searchParams.get('query_id') || randomUUID();
    const started = process.hrtime.bigint();
    // Past authentication an error answers in the framing the client asked for (compress=1), as ClickHouse's does.
    let authenticated = false;
    try {
      const contentType = String(req.headers['content-type'] ?? '');
      const multipart = /^multipart\/form-data\b/i.test(contentType);
      params = withHeaderParams(parseRequestParams(url.searchParams, multipart), req);
      // add_http_cors_header=1 is accepted and ignored: ClickHouse would answer
      // Access-Control-Allow-Origin: *, letting any web page a user opens read captured bodies.
      if (req.method !== 'POST' && params.query === '') {
        // GET / with no query: ClickHouse's liveness answer, no credentials needed.
        res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' });
        res.end('Ok.\n');
        return;
      }
      const user = this.authenticate(req, params);
      authenticated = true;
      // GET is read-only in ClickHouse whatever the user may do; POST writes only when allowed.
      const readOnly = req.method !== 'POST' || !this.options.allowWrites || params.readOnly;
      // The query text is capped before anything parses it (the lexer, the engine): a read-only
      // request's body can only be query text, so no more of it is read or inflated than the cap.
      const maxQuery = this.options.maxQueryBytes;
      const queryBytes = Buffer.byteLength(params.query);
      if (queryBytes > maxQuery) throw queryTooLarge(maxQuery);
      // A multipart body carries external data besides query text: its own cap on top of the query's.
      const maxExternal = this.options.maxExternalDataBytes ?? DEFAULT_MAX_EXTERNAL_DATA_BYTES;
      const bodyLimit = readOnly ? maxQuery - queryBytes + (multipart ? maxExternal : 0) : (this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
      let body = req.method === 'POST' ? await this.readBody(req, params, bodyLimit, readOnly && !multipart ? maxQuery : undefined) : Buffer.alloc(0);
      let externalTables: ExternalTable[] = [];
      if (multipart) {
        const form = await readMultipartForm(body, contentType, params.externalTableParams, maxExternal);
        for (const [name, value] of form.queryParameters) params.queryParameters.set(name, value);
        if (Buffer.byteLength(form.query) > maxQuery - queryBytes) throw queryTooLarge(maxQuery);
        body = Buffer.from(form.query, 'utf8');
        externalTables = form.tables;
      }
      const bodyText = body.toString('utf8');
      // ClickHouse joins the URL query and the body with a line break; for an
      // INSERT the body is the data that follows FORMAT (`?query=INSERT INTO t FORMAT CSV`).
      const joined = params.query !== '' && bodyText !== '' ? `${params.query}\n` : params.query;
      const text = joined + bodyText;
      if (text.trim() === '') throw ClickHouseHttpError.of(CH.SYNTAX_ERROR, 'Empty query', 400);
      const split = splitInsertData(text, maxQuery + 1);
      const statementText = split?.statement ?? text;
      if (Buffer.byteLength(statementText) > maxQuery) throw queryTooLarge(maxQuery);
      if (params.database !== undefined && params.database !== '' && params.database !== 'default') {
        throw ClickHouseHttpError.of(CH.UNKNOWN_DATABASE, `Database ${params.database} does not exist (the admin interface serves the store as database default)`);
      }
      const defaultFormat = params.defaultFormat ?? handleOptions.defaultFormat ?? 'TabSeparated';
      if (!FORMAT_NAME.test(defaultFormat)) throw ClickHouseHttpError.of(CH.UNKNOWN_FORMAT, `Unknown format ${defaultFormat}`);
      // Placeholders live in the query text; INSERT data after FORMAT is never rewritten.
      const bound = bindQueryParameters(statementText, params.queryParameters);
      const binaryData = split !== undefined ? binaryInsertData(split.statement, joined, body, bodyText) : undefined;
      const session =
        params.sessionId !== undefined && params.sessionId !== ''
          ? { user: user ?? '', id: params.sessionId, timeoutSeconds: sessionTimeout(params.sessionTimeout), check: params.sessionCheck }
          : undefined;
      const { statement, result } = await this.run(bound, split?.data ?? '', { readOnly, defaultFormat, settings: params.settings, binaryData, session, externalTables }).catch((err: unknown) => {
        throw echoingUserText(fromStoreError(err), statementText);
      });
      const elapsedNs = process.hrtime.bigint() - started;
      let resultBytes = statement.format === '' ? new Uint8Array(0) : result.bytes;
      const native = statement.format.toLowerCase() === 'native';
      // Rows as the engine counted them, else counted in Native's own framing (revision 0) before re-framing.
      const resultRows = result.resultRows ?? (native ? nativeRowCount('Native', resultBytes) : undefined);
      if (native) resultBytes = nativeAtRevision(resultBytes, params.clientProtocolVersion);
      // Counters the store did not report are 0, as ClickHouse reports counters it has none for;
      // result_rows is left out where nothing counted them (a remote store's text formats).
      const summary = JSON.stringify({
        read_rows: String(result.rowsRead ?? 0),
        read_bytes: String(result.bytesRead ?? 0),
        written_rows: String(result.writtenRows ?? 0),
        written_bytes: String(result.writtenBytes ?? 0),
        total_rows_to_read: String(result.rowsRead ?? 0),
        ...(resultRows !== undefined ? { result_rows: String(resultRows) } : {}),
        result_bytes: String(resultBytes.byteLength),
        elapsed_ns: String(elapsedNs),
      });
      const headers: Record<string, string> = {
        'Content-Type': contentTypeFor(statement.format),
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Timezone': await this.serverTimezone(),
        'X-ClickHouse-Server-Display-Name': this.displayName,
        'X-ClickHouse-Summary': summary,
      };
      // The engine reports no progress while a query runs, and the answer starts only once it is
      // complete: the one progress header ClickHouse would send last, with the final counts.
      if (params.sendProgress) headers['X-ClickHouse-Progress'] = summary;
      if (statement.format !== '') headers['X-ClickHouse-Format'] = statement.format;
      if (user !== undefined) headers['X-ClickHouse-User'] = user;
      await this.send(req, res, 200, headers, resultBytes, params);
      this.options.log.debug({ queryId, kind: statement.kind, format: statement.format, bytes: resultBytes.byteLength }, 'clickhouse http query');
    } catch (err) {
      const error = fromStoreError(err);
      if (error.chCode === CH.UNKNOWN_EXCEPTION.code) this.options.log.warn({ queryId, err: error.message }, 'clickhouse http query failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const headers: Record<string, string> = {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Exception-Code': String(error.chCode),
        'X-ClickHouse-Server-Display-Name': this.displayName,
      };
      if (error.httpStatus === 401) headers['WWW-Authenticate'] = 'Basic realm="ClickHouse server", charset="UTF-8"';
      // A body left unread (refused past its cap) ends the connection: a keep-alive client would
      // otherwise send its next request on a socket the abandoned body is still arriving on.
      if (!req.complete) headers['Connection'] = 'close';
      // Drain what is left of the body so the answer is not held up behind it.
      req.resume();
      const body = Buffer.from(error.body(), 'utf8');
      const payload = authenticated && params?.compress ? await compressNativeBlocks(body, params.nativeMethod, params.nativeZstdLevel) : body;
      res.writeHead(error.httpStatus, headers);
      res.end(payload);
    }
  }

  /**
   * Credentials from X-ClickHouse-User/-Key, Authorization: Basic, or the
   * user/password parameters — ClickHouse's three ways, in that order.
   * Returns the user name, undefined when authentication is off.
   */
  private authenticate(req: http.IncomingMessage, params: Pick<RequestParams, 'user' | 'password'>): string | undefined {
    if (!this.requiresAuth) return undefined;
    let user: string | undefined;
    let password: string | undefined;
    const headerUser = req.headers['x-clickhouse-user'];
    const authorization = req.headers.authorization;
    if (typeof headerUser === 'string') {
      user = headerUser;
      const key = req.headers['x-clickhouse-key'];
      password = typeof key === 'string' ? key : '';
    } else if (typeof authorization === 'string' && /^basic\s+/i.test(authorization)) {
      const decoded = Buffer.from(authorization.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = colon === -1 ? decoded : decoded.slice(0, colon);
      password = colon === -1 ? '' : decoded.slice(colon + 1);
    } else if (params.user !== undefined) {
      user = params.user;
      password = params.password ?? '';
    }
    // No credentials means ClickHouse's "default" user with an empty password.
    const name = user === undefined || user === '' ? 'default' : user;
    if (!(sameSecret(name, this.options.user) && sameSecret(password ?? '', this.options.password))) {
      throw ClickHouseHttpError.of(CH.AUTHENTICATION_FAILED, `${name}: Authentication failed: password is incorrect, or there is no user with such name`, 401);
    }
    return name;
  }

  /**
   * Checks the statement with the engine's parser (statement.ts) and runs
   * the canonical text. With a store that opens connections, the request
   * gets one of its own: allowed settings are SET on it, then
   * `SET readonly = 1` for a read — engine-side, for the whole session, and
   * never visible to the capture writer's session.
   */
  private async run(
    text: string,
    data: string,
    options: {
      readOnly: boolean;
      defaultFormat: string;
      settings: readonly Setting[];
      binaryData?: Uint8Array | undefined;
      session?: SessionRequest | undefined;
      externalTables?: readonly ExternalTable[];
    },
  ): Promise<{ statement: CheckedStatement; result: ExecuteResult }> {
    const store = this.options.store;
    // A few slots only: chdb runs every query on libuv's small pool, which the capture writer's inserts need too.
    const release = await this.slots.acquire();
    let connection: EngineConnection | undefined;
    let lease: SessionLease | undefined;
    const externalTables = options.externalTables ?? [];
    let loaded = false;
    try {
      const canOpen = 'openConnection' in store && typeof store.openConnection === 'function';
      if (externalTables.length > 0 && !canOpen) {
        throw ClickHouseHttpError.of(CH.NOT_IMPLEMENTED, 'External data tables need the embedded store; this server queries a remote ClickHouse (send the data to it directly)');
      }
      if (canOpen && options.session !== undefined && this.sessions !== undefined) {
        const { user, id, timeoutSeconds, check } = options.session;
        lease = this.sessions.acquire(user, id, timeoutSeconds, check);
        connection = lease.connection;
        // The limits bind the session's DDL too; everything else goes into each statement's SETTINGS clause.
        if (lease.created) await connection.execute(`SET ${assignments(limitedSettings([], this.limits))}`, '');
      } else {
        connection = canOpen ? store.openConnection!() : undefined;
      }
      const checked = await checkStatement(this.parserEngine(connection), text, data, {
        readOnly: options.readOnly,
        defaultFormat: options.defaultFormat,
        deniedFunctions: await this.deniedFunctions(),
        isAllowedSetting,
      });
      // A read's system.settings says which settings this interface lets a client change (settings-view.ts).
      const statement = checked.format !== '' ? { ...checked, sql: withChangeableSettings(checked.sql) } : checked;
      if (statement.format !== '' && !FORMAT_NAME.test(statement.format)) throw ClickHouseHttpError.of(CH.UNKNOWN_FORMAT, `Unknown format ${statement.format}`);
      // The statement's own final SETTINGS come after the URL's: the last assignment wins, as in ClickHouse.
      // The limits come first, and no later assignment may lift them.
      const settings: Setting[] = limitedSettings([...options.settings, ...statement.settings], this.limits);
      const lifted = LIMIT_SETTINGS.find((name) => new RegExp(`\\b${name}\\b`, 'i').test(statement.sql) && statement.format === '');
      if (lifted !== undefined) throw ClickHouseHttpError.of(CH.SETTING_CONSTRAINT_VIOLATION, `${lifted} is set by the admin interface and cannot be changed in a statement's SETTINGS`);
      if (statement.kind === 'INSERT') {
        // VALUES data is parsed as literals only: with expressions on, `VALUES (file('/x'))` would run file().
        settings.push(['input_format_values_interpret_expressions', '0'], ['input_format_values_deduce_templates_of_expressions', '0']);
      }
      // Data right after the format name would be read as part of it.
      const tail = statement.data !== '' && !/^\s/.test(statement.data) ? `\n${statement.data}` : statement.data;
      if (connection !== undefined && lease !== undefined) {
        // A session's connection outlives the request: its settings are the statement's own, never SET on it.
        loaded = externalTables.length > 0;
        await loadExternalTables(connection, externalTables);
        return { statement, result: await executeOn(connection, statement, withSettingsClause(statement, settings, options.readOnly), tail, options.binaryData) };
      }
      if (connection !== undefined) {
        const ddl = statement.format === '' && statement.kind !== 'INSERT';
        await connection.execute(`SET ${assignments(ddl ? settings.slice(0, LIMIT_SETTINGS.length) : settings)}`, '');
        // The client's tables, loaded under the limits and before the connection turns read-only.
        await loadExternalTables(connection, externalTables);
        if (options.readOnly) await connection.execute('SET readonly = 1', '');
        const sql = statement.format === '' ? statement.sql : `${statement.sql}\nFORMAT ${statement.format}`;
        return { statement, result: await executeOn(connection, statement, sql, tail, options.binaryData) };
      }
      // A store without connections of its own (remote ClickHouse): one SETTINGS clause at the end.
      return { statement, result: await this.execute(withSettingsClause(statement, settings, options.readOnly) + tail, statement.format) };
    } finally {
      if (lease !== undefined) {
        // External tables belong to the request, not to the session that ran it.
        if (loaded && connection !== undefined) await dropExternalTables(connection, externalTables);
        lease.release();
      } else connection?.close();
      release();
    }
  }

  private parserEngine(connection: EngineConnection | undefined): ParserEngine {
    return {
      formatQuery: async (text) => {
        // Bound as a parameter where possible: the text never becomes SQL, and its size does not count against max_query_size twice.
        const bytes =
          connection !== undefined
            ? (await connection.execute('SELECT formatQuery({q:String}) AS f', 'JSONEachRow', { q: text })).bytes
            : (await this.execute(`SELECT formatQuery(${sqlStringLiteral(text)}) AS f FORMAT JSONEachRow`, 'JSONEachRow')).bytes;
        return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { f: string }).f;
      },
      explainAst: async (canonical) => {
        const sql = `EXPLAIN AST ${canonical}`;
        if (connection !== undefined) return Buffer.from((await connection.execute(sql, 'TabSeparatedRaw')).bytes).toString('utf8');
        return this.options.store.query(sql, 'TabSeparatedRaw');
      },
    };
  }

  private deniedFunctionsPromise: Promise<ReadonlySet<string>> | undefined;

  /** DENIED_FUNCTIONS plus every table function this engine has, except the ones that only generate rows. */
  private deniedFunctions(): Promise<ReadonlySet<string>> {
    this.deniedFunctionsPromise ??= this.options.store
      .query('SELECT name FROM system.table_functions', 'TabSeparatedRaw')
      .then((text) => {
        const denied = new Set(DENIED_FUNCTIONS);
        for (const name of text.split('\n')) {
          const lower = name.trim().toLowerCase();
          if (lower !== '' && !SAFE_TABLE_FUNCTIONS.has(lower)) denied.add(lower);
        }
        return denied;
      })
      .catch(() => DENIED_FUNCTIONS);
    return this.deniedFunctionsPromise;
  }

  private async readBody(req: http.IncomingMessage, params: RequestParams, limit: number, queryCap: number | undefined): Promise<Buffer> {
    const tooLarge = (): ClickHouseHttpError => (queryCap !== undefined ? queryTooLarge(queryCap) : ClickHouseHttpError.of(CH.QUERY_IS_TOO_LARGE, `Request body is larger than ${limit} bytes`));
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of req) {
      total += (chunk as Buffer).length;
      if (total > limit) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks);
    const sizeError = (): ClickHouseHttpError =>
      queryCap !== undefined ? queryTooLarge(queryCap) : ClickHouseHttpError.of(CH.QUERY_IS_TOO_LARGE, `Decompressed request body is larger than ${limit} bytes`);
    const encoding = String(req.headers['content-encoding'] ?? '');
    let codec: HttpCodec | undefined;
    try {
      codec = requestCodec(encoding);
    } catch (err) {
      if (err instanceof UnknownEncoding) throw ClickHouseHttpError.of(CH.NOT_IMPLEMENTED, err.message);
      throw err;
    }
    let body: Buffer = raw;
    if (codec !== undefined) {
      try {
        body = await decodeBody(codec, raw, limit);
      } catch (err) {
        if (err instanceof BodyTooLarge) throw sizeError();
        throw ClickHouseHttpError.of(CH.CANNOT_DECOMPRESS, `Cannot decompress the ${codec} request body: ${describeError(err)}`, 400);
      }
    }
    // decompress=1: what Content-Encoding leaves is in ClickHouse's compressed blocks.
    if (!params.decompress) return body;
    try {
      return await decompressNativeBlocks(body, limit, params.checksums);
    } catch (err) {
      if (err instanceof BodyTooLarge) throw sizeError();
      const checksum = err instanceof NativeBlockError && /checksum/.test(err.message);
      throw ClickHouseHttpError.of(checksum ? CH.CHECKSUM_DOESNT_MATCH : CH.CANNOT_DECOMPRESS, `Cannot read the decompress=1 body: ${describeError(err)}`, 400);
    }
  }

  /** `format` '' = no result set (INSERT, DDL): the SQL carries no FORMAT clause then. */
  private async execute(sql: string, format: string): Promise<ExecuteResult> {
    const store = this.options.store;
    if ('execute' in store && typeof store.execute === 'function') return store.execute(sql, format);
    if (format === '') return { bytes: Buffer.from(await store.query(sql, 'TabSeparated'), 'utf8') };
    if (BINARY_FORMATS.has(format.toLowerCase())) {
      throw ClickHouseHttpError.of(CH.NOT_IMPLEMENTED, `Output format ${format} is binary and this store returns text; use a text format (JSON, JSONEachRow, TabSeparated, CSV…)`);
    }
    const text = await store.query(sql, format);
    return { bytes: Buffer.from(text, 'utf8') };
  }

  private serverTimezone(): Promise<string> {
    this.timezone ??= this.options.store
      .query('SELECT timezone()', 'TabSeparatedRaw')
      .then((text) => text.trim() || 'UTC')
      .catch(() => 'UTC');
    return this.timezone;
  }

  /** compress=1 framing first, then the HTTP Content-Encoding around it (enable_http_compression=1), as ClickHouse layers them. */
  private async send(req: http.IncomingMessage, res: http.ServerResponse, status: number, headers: Record<string, string>, body: Uint8Array, params: RequestParams): Promise<void> {
    let payload: Uint8Array = params.compress ? await compressNativeBlocks(body, params.nativeMethod, params.nativeZstdLevel) : body;
    const codec = params.enableHttpCompression ? pickAnswerCodec(String(req.headers['accept-encoding'] ?? '')) : undefined;
    if (codec !== undefined && payload.byteLength > 0) {
      payload = await encodeBody(codec, payload, params.httpZlibLevel);
      headers['Content-Encoding'] = codec;
      headers['Vary'] = 'Accept-Encoding';
    }
    headers['Content-Length'] = String(payload.byteLength);
    res.writeHead(status, headers);
    res.end(payload);
  }
}

function queryTooLarge(max: number): ClickHouseHttpError {
  return ClickHouseHttpError.of(CH.QUERY_IS_TOO_LARGE, `Query is too large (max_query_size = ${max}): the admin interface refuses query text longer than ${max} bytes, after decompression`);
}

function assignments(settings: readonly Setting[]): string {
  return settings.map(([name, value]) => `${name} = ${value}`).join(', ');
}

/** For stores without connections of their own: the settings (and readonly = 1) as the statement's final SETTINGS clause. */
function withSettingsClause(statement: CheckedStatement, settings: readonly Setting[], readOnly: boolean): string {
  const all = readOnly ? [...settings, ['readonly', '1'] as const] : settings;
  if (statement.format !== '') return `${statement.sql}${all.length > 0 ? `\nSETTINGS ${assignments(all)}` : ''}\nFORMAT ${statement.format}`;
  if (statement.kind !== 'INSERT' || all.length === 0) return statement.sql;
  const lines = statement.sql.split('\n');
  const own = lines.findIndex((line) => line.startsWith('SETTINGS '));
  if (own !== -1) {
    lines[own] += `, ${assignments(all)}`;
    return lines.join('\n');
  }
  const format = / FORMAT \S+$|\nFORMAT \S+$/.exec(statement.sql);
  if (format === null) return `${statement.sql}\nSETTINGS ${assignments(all)}`;
  return `${statement.sql.slice(0, format.index)}\nSETTINGS ${assignments(all)}${statement.sql.slice(format.index)}`;
}

/** Constant-time comparison of two secrets of any length (hash first so lengths do not leak). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * `X-ClickHouse-Database` and `X-ClickHouse-Format` request headers, as
 * ClickHouse reads them: the database header wins over the `database`
 * parameter; the format header is the default format unless the URL names one.
 */
function withHeaderParams(params: RequestParams, req: http.IncomingMessage): RequestParams {
  const database = req.headers['x-clickhouse-database'];
  const format = req.headers['x-clickhouse-format'];
  return {
    ...params,
    database: typeof database === 'string' && database !== '' ? database : params.database,
    defaultFormat: params.defaultFormat ?? (typeof format === 'string' && format !== '' ? format : undefined),
  };
}

/**
 * The policy parses the client's text through `SELECT formatQuery(…)`; a
 * syntax error found there names that wrapper as its scope. ClickHouse
 * reports the error against the client's own text (positions in it are
 * already the client's), so the wrapper is cut from the message.
 */
function echoingUserText(error: ClickHouseHttpError, userText: string): ClickHouseHttpError {
  const wrapper = /:?\s*In scope SELECT formatQuery\(.*$/s.exec(error.message);
  if (wrapper === null) return error;
  const head = error.message.slice(0, wrapper.index);
  const line = userText.includes('\n') ? '' : ` in query: ${userText}`;
  return new ClickHouseHttpError(error.chCode, error.chName, `${head}${line.length <= 1024 ? line : ''}`, error.httpStatus);
}

/**
 * The rows of an INSERT in a binary format, as bytes: the SQL text the rest
 * of the request goes through is UTF-8 and would mangle them. `statement` is
 * the text up to the format name (URL query and body joined by `joined`);
 * the data starts after it, past blanks and one line break, as ClickHouse
 * reads it. Undefined for text formats (their data stays in the SQL text).
 */
function binaryInsertData(statement: string, joined: string, body: Buffer, bodyText: string): Uint8Array | undefined {
  const format = /FORMAT\s+`?(\w+)`?\s*$/i.exec(statement);
  if (format === null || !BINARY_FORMATS.has(format[1]!.toLowerCase())) return undefined;
  const inBody = statement.length - joined.length;
  let offset = inBody <= 0 ? 0 : Buffer.byteLength(bodyText.slice(0, inBody));
  if (inBody > 0) {
    while (offset < body.length && (body[offset] === 0x20 || body[offset] === 0x09)) offset++;
    if (body[offset] === 0x0d) offset++;
    if (body[offset] === 0x0a) offset++;
  }
  return body.subarray(offset);
}

/**
 * Runs `sql` (the statement as it goes to the engine, `tail` = INSERT data
 * in a text format) on `connection`. INSERT data in a binary format is
 * staged in a file instead; an INSERT reports the rows it wrote.
 */
async function executeOn(connection: EngineConnection, statement: CheckedStatement, sql: string, tail: string, binaryData: Uint8Array | undefined): Promise<ExecuteResult> {
  const binaryFormat = statement.kind === 'INSERT' && binaryData !== undefined ? /\sFORMAT (\w+)$/.exec(sql) : null;
  if (binaryFormat !== null && binaryData !== undefined) {
    await connection.insertData(sql.slice(0, binaryFormat.index), binaryFormat[1]!, binaryData);
    return { bytes: new Uint8Array(0), writtenRows: nativeRowCount(binaryFormat[1]!, binaryData), writtenBytes: binaryData.byteLength };
  }
  // The embedded engine's rowsRead/bytesRead count the result, not what the query read.
  const { bytes, rowsRead } = await connection.execute(sql + tail, statement.format);
  const result: ExecuteResult = { bytes, resultRows: statement.format !== '' ? rowsRead : undefined };
  if (statement.kind !== 'INSERT' || statement.data === '') return result;
  return { ...result, writtenRows: await textRowCount(connection, statement.sql, statement.data), writtenBytes: Buffer.byteLength(statement.data) };
}

/** Rows in Native data (block headers carry them); other binary formats are not counted (0). */
function nativeRowCount(format: string, data: Uint8Array): number {
  if (format.toLowerCase() !== 'native') return 0;
  try {
    return countNativeRows(data);
  } catch {
    return 0;
  }
}

/**
 * Rows written by a text-format INSERT, for X-ClickHouse-Summary: the engine
 * does not report them, so it counts the same data again with the same
 * format. 0 if it cannot.
 */
async function textRowCount(connection: EngineConnection, insert: string, data: string): Promise<number> {
  const format = /\sFORMAT (\w+)$/.exec(insert)?.[1] ?? (/\sVALUES$/.test(insert) ? 'Values' : undefined);
  if (format === undefined) return 0;
  try {
    const counted = await connection.execute(
      // `format` is a bare word (\w+ above); the data is bound, never spliced.
      `SELECT count() FROM format(${format}, {data:String}) SETTINGS input_format_values_interpret_expressions = 0`,
      'TabSeparatedRaw',
      { data: data.replace(/^[ \t]*\r?\n/, '') },
    );
    return Number(Buffer.from(counted.bytes).toString('utf8').trim()) || 0;
  } catch {
    return 0;
  }
}
