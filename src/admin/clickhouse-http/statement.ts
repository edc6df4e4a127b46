/**
 * Turns the text a client sent (URL `query` + body, as ClickHouse
 * concatenates them) into the one statement the store runs, and enforces the
 * interface's policy on its tokens:
 *
 * - exactly one statement (chdb would run `SELECT 1; DROP TABLE t` as two);
 * - never `INTO OUTFILE` / `FROM INFILE`: in an embedded engine those touch
 *   the capture host's file system, not a client's;
 * - read-only: only SELECT/WITH/SHOW/DESCRIBE/EXPLAIN/EXISTS, `readonly=1`
 *   is added to the statement's SETTINGS so the engine itself also refuses
 *   writes and file/url/remote table functions, and any attempt to assign
 *   `readonly` in the text is refused (a later or nested SETTINGS clause
 *   could otherwise switch it back off — verified against chdb 26.7);
 * - settings from the URL become a SETTINGS clause: chdb has no per-query
 *   settings API, and `SET` would change the session the capture writer
 *   shares;
 * - the output format is made explicit (`FORMAT X` appended), so the
 *   response's Content-Type and X-ClickHouse-Format are known for certain.
 */
import { CH, ClickHouseHttpError } from './clickhouse-errors';
import { isIdentifier, isWord, lex, type Token } from './sql-lexer';

export const READ_KINDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'EXPLAIN', 'EXISTS']);
/** Statements the interface runs when writes are allowed (besides the read kinds). */
export const WRITE_KINDS = new Set(['INSERT', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE', 'RENAME', 'OPTIMIZE', 'DELETE']);

/** Statement kinds ClickHouse knows but the interface refuses (they act on the shared session or the host). */
const OTHER_KINDS = new Set(['SET', 'USE', 'SYSTEM', 'KILL', 'GRANT', 'REVOKE', 'ATTACH', 'DETACH', 'BACKUP', 'RESTORE', 'CHECK', 'UNDROP', 'EXCHANGE', 'MOVE', 'UPDATE', 'WATCH', 'BEGIN', 'COMMIT', 'ROLLBACK', 'REPLACE', 'UNDO', 'PARALLEL']);

export type Setting = readonly [name: string, value: string];

export interface PreparedStatement {
  kind: string;
  /** SQL handed to the store. */
  sql: string;
  /** Output format of the response ('' for statements without a result, e.g. INSERT and DDL). */
  format: string;
}

export interface PrepareOptions {
  readOnly: boolean;
  /** Format when the statement has no FORMAT clause (default_format, else TabSeparated). */
  defaultFormat: string;
  settings: readonly Setting[];
}

/** The statement kind (first keyword, upper case; DESC → DESCRIBE), from a bounded prefix. */
export function statementKind(text: string): string {
  const first = lex(text, 0, Math.min(text.length, 64 * 1024)).tokens.find((token) => !(token.kind === 'punct' && token.text === '('));
  const kind = first?.kind === 'word' ? first.text.toUpperCase() : '';
  return kind === 'DESC' ? 'DESCRIBE' : kind;
}

export function prepareStatement(text: string, options: PrepareOptions): PreparedStatement {
  // Only a prefix is tokenized to classify the statement: an INSERT may carry megabytes of rows.
  const firstWord = lex(text, 0, Math.min(text.length, 64 * 1024)).tokens.find((token) => !(token.kind === 'punct' && token.text === '('));
  if (firstWord === undefined) throw ClickHouseHttpError.of(CH.SYNTAX_ERROR, 'Empty query', 400);
  let kind = firstWord.kind === 'word' ? firstWord.text.toUpperCase() : '';
  if (kind === 'DESC') kind = 'DESCRIBE';

  if (!READ_KINDS.has(kind) && !WRITE_KINDS.has(kind) && !OTHER_KINDS.has(kind)) {
    // Not a statement at all: answer as the parser would, not with a policy error.
    throw ClickHouseHttpError.of(CH.SYNTAX_ERROR, `Syntax error: failed at position ${firstWord.start + 1} ('${firstWord.text.slice(0, 40)}'): expected the beginning of a statement`, 400);
  }
  if (options.readOnly && !READ_KINDS.has(kind)) {
    throw ClickHouseHttpError.of(CH.READONLY, 'Cannot execute query in readonly mode: the admin interface accepts only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS (writes need --admin-allow-writes and POST)');
  }
  if (!READ_KINDS.has(kind) && !WRITE_KINDS.has(kind)) {
    throw ClickHouseHttpError.of(CH.ACCESS_DENIED, `${kind || 'this'} statements are not served by the admin interface (it shares its engine session with the capture writer)`);
  }
  if (kind === 'INSERT') return prepareInsert(text, options);

  const { tokens } = lex(text);
  rejectFileAccess(tokens);
  const end = statementEnd(tokens);
  const body = tokens.slice(0, end.count);
  if (options.readOnly) rejectReadonlyAssignment(body);

  if (!READ_KINDS.has(kind)) {
    // DDL: URL settings are not appended (a trailing SETTINGS after CREATE … ENGINE is the table's
    // own settings clause, and after ALTER … MODIFY TTL … SETTINGS it is a syntax error).
    return { kind, sql: text.slice(0, end.cut), format: '' };
  }

  const formatClause = findFormatClause(body);
  let format = options.defaultFormat;
  let sql = text.slice(0, end.cut);
  let tokensForSettings = body;
  if (formatClause !== undefined) {
    format = formatClause.name;
    sql = sql.slice(0, formatClause.start) + ' '.repeat(formatClause.end - formatClause.start) + sql.slice(formatClause.end);
    tokensForSettings = [...body.slice(0, formatClause.index), ...body.slice(formatClause.index + 2)];
  }
  const settings = options.readOnly ? [...options.settings.filter(([name]) => name !== 'readonly'), ['readonly', '1'] as const] : options.settings;
  if (settings.length > 0) {
    const assignments = settings.map(([name, value]) => `${name} = ${value}`).join(', ');
    const trailing = trailingSettingsEnd(tokensForSettings);
    // Merging into the statement's own trailing SETTINGS keeps one clause, where the last
    // assignment wins; a second clause would be applied after readonly=1 and refused.
    sql = trailing !== undefined ? `${sql.slice(0, trailing)}, ${assignments}${sql.slice(trailing)}` : `${sql}\nSETTINGS ${assignments}`;
  }
  return { kind, sql: `${sql}\nFORMAT ${format}`, format };
}

/**
 * INSERT INTO t [(cols)] [SETTINGS …] FORMAT F <data> | VALUES … | SELECT …
 * Only the header is tokenized: the data after FORMAT/VALUES may contain
 * anything, including semicolons and quotes.
 */
function prepareInsert(text: string, options: PrepareOptions): PreparedStatement {
  const { tokens } = lex(text, 0, headerScanLimit(text));
  let i = 1;
  if (!isWord(tokens[i], 'INTO')) throw ClickHouseHttpError.of(CH.SYNTAX_ERROR, 'Expected INTO after INSERT', 400);
  i++;
  if (isWord(tokens[i], 'FUNCTION')) throw ClickHouseHttpError.of(CH.ACCESS_DENIED, 'INSERT INTO FUNCTION is not served by the admin interface (table functions reach the capture host)');
  if (isWord(tokens[i], 'TABLE')) i++;
  if (!isIdentifier(tokens[i])) throw ClickHouseHttpError.of(CH.SYNTAX_ERROR, 'Expected a table name after INSERT INTO', 400);
  i++;
  if (tokens[i]?.text === '.' && isIdentifier(tokens[i + 1])) i += 2;
  if (tokens[i]?.text === '(') {
    const depth = tokens[i]!.depth;
    i++;
    while (i < tokens.length && !(tokens[i]!.text === ')' && tokens[i]!.depth === depth)) i++;
    i++;
  }
  const settingsAt = i;
  let ownSettingsEnd: number | undefined;
  if (isWord(tokens[i], 'SETTINGS')) {
    // The statement's own settings run up to FORMAT / VALUES / SELECT / WITH.
    i++;
    while (i < tokens.length && !(tokens[i]!.depth === 0 && isWord(tokens[i], 'FORMAT', 'VALUES', 'SELECT', 'WITH'))) i++;
    ownSettingsEnd = tokens[i - 1]?.end;
  }
  const tail = tokens[i];
  if (tail === undefined || !isWord(tail, 'FORMAT', 'VALUES', 'SELECT', 'WITH')) {
    throw ClickHouseHttpError.of(CH.SYNTAX_ERROR, 'Expected FORMAT, VALUES or SELECT in INSERT', 400);
  }
  if (isWord(tail, 'SELECT', 'WITH')) {
    // INSERT … SELECT is a full query: the same single-statement and file-access rules apply.
    const all = lex(text).tokens;
    rejectFileAccess(all);
    const end = statementEnd(all);
    text = text.slice(0, end.cut);
  }
  const assignments = options.settings.map(([name, value]) => `${name} = ${value}`).join(', ');
  let sql = text;
  if (assignments !== '') {
    sql =
      ownSettingsEnd !== undefined
        ? `${text.slice(0, ownSettingsEnd)}, ${assignments}${text.slice(ownSettingsEnd)}`
        : `${text.slice(0, tokens[settingsAt]!.start)}SETTINGS ${assignments} ${text.slice(tokens[settingsAt]!.start)}`;
  }
  return { kind: 'INSERT', sql, format: '' };
}

/** The header of an INSERT is short; never tokenize megabytes of row data. */
function headerScanLimit(text: string): number {
  const match = /\b(FORMAT\s+[A-Za-z0-9_]+|VALUES)\b/i.exec(text.slice(0, 64 * 1024));
  return match === null ? Math.min(text.length, 64 * 1024) : match.index + match[0].length;
}

/** Where the one statement ends: the token count before a trailing `;`, and the text offset to cut at. */
function statementEnd(tokens: Token[]): { count: number; cut: number } {
  const semicolon = tokens.findIndex((token) => token.kind === 'punct' && token.text === ';');
  if (semicolon === -1) return { count: tokens.length, cut: Number.MAX_SAFE_INTEGER };
  if (tokens.slice(semicolon + 1).some((token) => !(token.kind === 'punct' && token.text === ';'))) {
    throw ClickHouseHttpError.of(CH.SYNTAX_ERROR, 'Multi-statements are not allowed', 400);
  }
  return { count: semicolon, cut: tokens[semicolon]!.start };
}

function rejectFileAccess(tokens: Token[]): void {
  for (let i = 0; i + 1 < tokens.length; i++) {
    if ((isWord(tokens[i], 'INTO') && isWord(tokens[i + 1], 'OUTFILE')) || (isWord(tokens[i], 'FROM') && isWord(tokens[i + 1], 'INFILE'))) {
      throw ClickHouseHttpError.of(CH.ACCESS_DENIED, `${tokens[i]!.text.toUpperCase()} ${tokens[i + 1]!.text.toUpperCase()} is not allowed through the admin interface (it would use the capture host's file system)`);
    }
  }
}

function rejectReadonlyAssignment(tokens: Token[]): void {
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (isIdentifier(tokens[i]) && tokens[i]!.text.toLowerCase() === 'readonly' && tokens[i + 1]!.text === '=') {
      throw ClickHouseHttpError.of(CH.READONLY, "Cannot modify 'readonly' setting in readonly mode");
    }
  }
}

/** `FORMAT Name` at the top level, last in the statement or followed only by a SETTINGS clause. */
function findFormatClause(tokens: Token[]): { index: number; name: string; start: number; end: number } | undefined {
  for (let i = tokens.length - 2; i >= 1; i--) {
    const token = tokens[i]!;
    if (token.depth !== 0 || !isWord(token, 'FORMAT') || !isIdentifier(tokens[i + 1])) continue;
    const after = tokens[i + 2];
    if (after !== undefined && !isWord(after, 'SETTINGS')) continue;
    if (isWord(tokens[i - 1], 'AS')) continue;
    return { index: i, name: tokens[i + 1]!.text, start: token.start, end: tokens[i + 1]!.end };
  }
  return undefined;
}

/**
 * When the statement ends with a top-level `SETTINGS a = 1, b = 'x'`, the
 * offset just past its last assignment; otherwise undefined.
 */
function trailingSettingsEnd(tokens: Token[]): number | undefined {
  let at = -1;
  for (let i = tokens.length - 1; i >= 0; i--) {
    if (tokens[i]!.depth === 0 && isWord(tokens[i], 'SETTINGS')) {
      at = i;
      break;
    }
  }
  if (at === -1) return undefined;
  let i = at + 1;
  let end: number | undefined;
  for (;;) {
    if (!isIdentifier(tokens[i]) || tokens[i + 1]?.text !== '=') return undefined;
    i += 2;
    // A value: a literal, a signed number, a word (true/false), or a bracketed literal.
    if (tokens[i] === undefined) return undefined;
    if (tokens[i]!.text === '-' || tokens[i]!.text === '+') i++;
    const value = tokens[i];
    if (value === undefined) return undefined;
    if (value.kind === 'punct' && (value.text === '[' || value.text === '(')) {
      const close = value.text === '[' ? ']' : ')';
      while (i < tokens.length && !(tokens[i]!.text === close && tokens[i]!.depth === value.depth)) i++;
      if (i >= tokens.length) return undefined;
    } else if (value.kind === 'punct') return undefined;
    end = tokens[i]!.end;
    i++;
    if (i >= tokens.length) return end;
    if (tokens[i]!.text !== ',') return undefined;
    i++;
  }
}
