/**
 * What the admin interface runs for a client's text, decided by ClickHouse's
 * own parser rather than by a lexer of ours.
 *
 * Why: a home-made lexer and the engine read the same bytes differently
 * (U+00A0 is whitespace to ClickHouse and a word character to a JS regex; an
 * unclosed `$a$` heredoc is one string to one and several statements to the
 * other), and every such difference was a way past the policy. So:
 *
 * 1. The engine parses the text as exactly one statement and prints it back
 *    in canonical form: `formatQuery(q)` with the text bound as a parameter
 *    (it never becomes SQL). Multi-statements are a syntax error there,
 *    heredocs become ordinary literals, Unicode spaces become ASCII.
 * 2. The engine dumps that canonical statement's tree (`EXPLAIN AST`); the
 *    policy reads the dump: every `Function <name>` node (scalar functions,
 *    table functions, table engines) is checked against the deny list, and a
 *    `Set` node (a SETTINGS clause anywhere but the statement's own
 *    top-level one) is refused in reads.
 * 3. The canonical text is what runs — not the client's text — so what was
 *    checked is what the engine executes.
 *
 * Reads additionally run on a connection of their own with `SET readonly = 1`
 * (see clickhouse-http-handler.ts): the engine refuses writes, DDL and table
 * functions by itself. The tree walk is still needed because readonly=1 does
 * not cover everything (verified against chdb 26.7): the scalar `file()`
 * reads any host file, `INTO OUTFILE` writes one, `DESCRIBE file(…)` reads
 * one for schema inference, and a subquery's own `SETTINGS readonly = 0`
 * lifts readonly for that subquery.
 *
 * The dump is read line by line. Aliases are printed unescaped there (an
 * alias containing a newline adds lines), so every check only ever refuses on
 * what it finds: an injected line can cause a refusal, never hide a node.
 */
import { CH, ClickHouseHttpError } from './clickhouse-errors';
import { isIdentifier, isWord, lex } from './sql-lexer';

export const READ_KINDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'EXPLAIN', 'EXISTS']);
/** Statements the interface runs when writes are allowed (besides the read kinds). */
export const WRITE_KINDS = new Set(['INSERT', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME', 'OPTIMIZE', 'DELETE']);

export type Setting = readonly [name: string, value: string];

/**
 * Table functions a query may use: they generate rows in memory. Every other
 * table function the engine knows (system.table_functions) is refused, under
 * any case spelling and wherever its name appears as a function.
 */
export const SAFE_TABLE_FUNCTIONS = new Set([
  'numbers',
  'numbers_mt',
  'zeros',
  'zeros_mt',
  'generate_series',
  'generateseries',
  'primes',
  'values',
  'null',
  'generaterandom',
  // also the scalar format('{} {}', a, b); as a table function it parses inline data
  'format',
]);

/**
 * Refused as functions even if the engine's list lacks them: table functions
 * and engines that reach files, the network or other processes, and scalar
 * functions that read host files (lower case).
 */
export const DENIED_FUNCTIONS = new Set([
  // table functions (and engines of the same name)
  'file',
  'filecluster',
  'url',
  'urlcluster',
  's3',
  's3cluster',
  'gcs',
  'oss',
  'cosn',
  'hdfs',
  'hdfscluster',
  'azureblobstorage',
  'azureblobstoragecluster',
  'executable',
  'executablepool',
  'remote',
  'remotesecure',
  'cluster',
  'clusterallreplicas',
  'mysql',
  'postgresql',
  'sqlite',
  'mongodb',
  'redis',
  'odbc',
  'jdbc',
  'input',
  'dictionary',
  'merge',
  'loop',
  'view',
  'viewifpermitted',
  'viewexplain',
  'filesystem',
  'iceberg',
  'icebergs3',
  'iceberglocal',
  'deltalake',
  'deltalakelocal',
  'hudi',
  'paimon',
  'prometheusquery',
  'prometheusqueryrange',
  'ytsaurus',
  'arrowflight',
  'arrowstream',
  'fuzzjson',
  'fuzzquery',
  'eval',
  // table engines that are not functions
  'distributed',
  'kafka',
  'rabbitmq',
  'nats',
  'filelog',
  's3queue',
  'azurequeue',
  'keepermap',
  'materializedpostgresql',
  'materializedmysql',
  'timeseries',
  // a table setting `disk = disk(type = local, path = '/anywhere')` stores a table anywhere
  'disk',
  // scalar functions that read the host
  'catboostevaluate',
  'addresstoline',
  'addresstolinewithinlines',
  'addresstosymbol',
  'filesystemavailable',
  'filesystemcapacity',
  'filesystemunreserved',
]);

/** Settings whose value is a host path or URL; refused in write statements' SETTINGS too. */
const PATH_SETTINGS = /\b(format_schema\w*|format_template_\w+|output_format_schema|format_avro_schema_registry_url|schema_inference_\w+)\b/i;

/** What the engine's parser and formatter are reached through. */
export interface ParserEngine {
  /** formatQuery(text): the canonical form of exactly one statement, or the engine's syntax error. */
  formatQuery(text: string): Promise<string>;
  /** EXPLAIN AST <canonical>: the tree dump, one node per line, indented one space per level. */
  explainAst(canonical: string): Promise<string>;
}

export interface CheckOptions {
  readOnly: boolean;
  /** Format when the statement has no FORMAT clause (default_format, else TabSeparated). */
  defaultFormat: string;
  /** Function names (lower case) refused anywhere: DENIED_FUNCTIONS plus the engine's table functions minus the safe ones. */
  deniedFunctions: ReadonlySet<string>;
  /** Setting names a statement's own top-level SETTINGS may assign in a read (the URL allow-list). */
  isAllowedSetting: (name: string) => boolean;
}

export interface CheckedStatement {
  kind: string;
  /** Canonical statement to run: reads without their FORMAT and top-level SETTINGS lines (they are applied separately). */
  sql: string;
  /** Output format of the response ('' for INSERT and DDL). */
  format: string;
  /** A read's own top-level SETTINGS, to apply like URL settings. */
  settings: Setting[];
  /** INSERT data after `FORMAT X` (or VALUES), passed through untouched; '' otherwise. */
  data: string;
}

/**
 * Splits `INSERT … FORMAT X <data>` / `INSERT … VALUES <data>` into the
 * statement and its data. The split point only decides which bytes are
 * parsed as SQL: the statement part is canonicalized and checked by the
 * engine, the rest is sent after the canonical `FORMAT X` and can only ever
 * be data, so a wrong guess here fails the insert, it cannot smuggle SQL.
 * Returns undefined when the text is not an INSERT with inline data.
 */
export function splitInsertData(text: string, limit: number): { statement: string; data: string } | undefined {
  if (!/^\s*INSERT\b/i.test(text.slice(0, 64))) return undefined;
  const { tokens } = lex(text, 0, Math.min(text.length, limit));
  for (let i = 1; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.depth !== 0) continue;
    if (isWord(token, 'SELECT', 'WITH')) return undefined;
    if (isWord(token, 'VALUES')) return { statement: text.slice(0, token.end), data: text.slice(token.end) };
    if (isWord(token, 'FORMAT') && isIdentifier(tokens[i + 1])) {
      const end = tokens[i + 1]!.end;
      return { statement: text.slice(0, end), data: text.slice(end) };
    }
  }
  return undefined;
}

export async function checkStatement(engine: ParserEngine, text: string, data: string, options: CheckOptions): Promise<CheckedStatement> {
  const canonical = await engine.formatQuery(text);
  const kind = canonicalKind(canonical);
  if (!READ_KINDS.has(kind) && !WRITE_KINDS.has(kind)) {
    throw ClickHouseHttpError.of(
      options.readOnly ? CH.READONLY : CH.ACCESS_DENIED,
      `${kind || 'this'} statements are not served by the admin interface${options.readOnly ? ' (read-only: only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS)' : ''}`,
    );
  }
  if (options.readOnly && !READ_KINDS.has(kind)) {
    throw ClickHouseHttpError.of(
      CH.READONLY,
      'Cannot execute query in readonly mode: the admin interface accepts only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS (writes need --admin-allow-writes and POST)',
    );
  }
  // Keywords are upper case in the formatter's output and literals never hold a raw newline,
  // so these match the clauses themselves (a literal spelling them out is refused too: harmless).
  if (/\bINTO OUTFILE\b/.test(canonical) || /\bFROM INFILE\b/.test(canonical)) {
    const clause = /\bINTO OUTFILE\b/.test(canonical) ? 'INTO OUTFILE' : 'FROM INFILE';
    throw ClickHouseHttpError.of(CH.ACCESS_DENIED, `${clause} is not allowed through the admin interface (it would use the capture host's file system)`);
  }
  // A temporary table lives on the request's (or session's) engine connection and goes with it.
  if (kind === 'CREATE' && !/^CREATE (OR REPLACE )?(TEMPORARY )?TABLE\b/.test(canonical)) {
    throw ClickHouseHttpError.of(
      CH.ACCESS_DENIED,
      'Only CREATE TABLE and CREATE TEMPORARY TABLE are served by the admin interface (views, dictionaries, functions and users would outlive the request with its checks)',
    );
  }

  if (!READ_KINDS.has(kind)) {
    // Writes keep their own SETTINGS (insert and table settings) — but none that names a host path.
    const path = PATH_SETTINGS.exec(canonical);
    if (path !== null) throw ClickHouseHttpError.of(CH.ACCESS_DENIED, `${path[1]} is not accepted by the admin interface (it names a file on the capture host)`);
    // A setting's value is not in the tree dump (`Set` has no children there), and `disk = disk(type = local,
    // path = '/anywhere')` is the one setting value that is a function: it puts a table anywhere on the host.
    if (/\bdisk\(/i.test(canonical)) throw ClickHouseHttpError.of(CH.ACCESS_DENIED, 'disk(…) is not allowed through the admin interface (it stores a table outside the data directory)');
    checkTree(await engine.explainAst(canonical), options, false);
    return { kind, sql: canonical, format: '', settings: [], data };
  }

  // A read: lift its FORMAT and top-level SETTINGS lines (column 0 in the canonical text) out.
  const lines = canonical.split('\n');
  let format = options.defaultFormat;
  const settings: Setting[] = [];
  const kept: string[] = [];
  for (const line of lines) {
    const formatLine = /^FORMAT (\S+)$/.exec(line);
    if (formatLine !== null) {
      format = formatLine[1]!.replace(/^`(.*)`$/, '$1');
      continue;
    }
    if (line.startsWith('SETTINGS ')) {
      settings.push(...parseSettingsLine(line.slice('SETTINGS '.length), options));
      continue;
    }
    kept.push(line);
  }
  const sql = kept.join('\n');
  checkTree(await engine.explainAst(sql), options, true);
  return { kind, sql, format, settings, data: '' };
}

function canonicalKind(canonical: string): string {
  const first = /^[A-Z]+/.exec(canonical)?.[0] ?? '';
  return first === 'DESC' ? 'DESCRIBE' : first;
}

/** Refuses denied functions anywhere in the tree and, in reads, any SETTINGS clause left in it. */
function checkTree(dump: string, options: CheckOptions, read: boolean): void {
  for (const line of dump.split('\n')) {
    const fn = /^\s*Function (\S+)/.exec(line);
    if (fn !== null && options.deniedFunctions.has(fn[1]!.toLowerCase())) {
      throw ClickHouseHttpError.of(CH.ACCESS_DENIED, `${fn[1]} is not allowed through the admin interface (it reaches files, the network or processes of the capture host)`);
    }
    if (read && /^\s*Set\s*$/.test(line)) {
      throw ClickHouseHttpError.of(CH.READONLY, "Cannot modify settings inside a query through the admin interface: put allowed settings in the URL or in the statement's final SETTINGS clause");
    }
  }
}

/** `a = 1, b = 'x'` from a canonical top-level SETTINGS line; every name must be allowed, every value a plain literal. */
function parseSettingsLine(text: string, options: CheckOptions): Setting[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === ',') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*) = (-?[0-9][0-9A-Za-z_.+-]*|'(?:[^'\\]|\\.)*'|true|false)\s*$/s.exec(part);
    if (match === null) throw ClickHouseHttpError.of(CH.READONLY, `Cannot apply the setting ${JSON.stringify(part.trim())} through the admin interface`);
    if (!options.isAllowedSetting(match[1]!)) throw settingRefused(match[1]!);
    return [match[1]!, match[2]!] as const;
  });
}

export function settingRefused(name: string): ClickHouseHttpError {
  return ClickHouseHttpError.of(
    CH.READONLY,
    `Cannot modify '${name}' setting through the admin interface: it is not among the settings clients may change (formats, result limits, timeouts; see docs/clickhouse.md)`,
  );
}
