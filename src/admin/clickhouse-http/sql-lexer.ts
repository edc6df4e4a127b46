/**
 * A small SQL tokenizer, enough to understand the *shape* of a statement sent
 * to the admin ClickHouse HTTP interface without parsing it: which statement
 * kind it is, whether there is more than one statement, where a trailing
 * FORMAT or SETTINGS clause sits, and which identifiers appear outside string
 * literals and comments. The engine still parses the real query; this only
 * has to be right about token boundaries (strings, quoted identifiers,
 * comments, heredocs), because every policy decision (read-only, one
 * statement, no INTO OUTFILE) is taken on tokens, never on raw text where a
 * keyword inside a string literal would fool a regular expression.
 */

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (for 'quoted', the unquoted identifier). */
  text: string;
  start: number;
  /** Offset just past the token. */
  end: number;
  /** Bracket nesting depth ((, [, {) the token sits at; a closing bracket has its opener's depth. */
  depth: number;
}

export interface LexResult {
  tokens: Token[];
  /** An unterminated string, quoted identifier or comment ran to the end of the text. */
  unterminated: boolean;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Tokenizes `sql` from `from` up to `to` (default: the end). */
export function lex(sql: string, from = 0, to = sql.length): LexResult {
  const tokens: Token[] = [];
  let depth = 0;
  let i = from;
  let unterminated = false;
  while (i < to) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    // Line comments: `-- …`, and `#` followed by a space or `!` as ClickHouse accepts.
    if ((c === '-' && next === '-') || (c === '#' && (next === ' ' || next === '!'))) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 || eol > to ? to : eol + 1;
      continue;
    }
    // Block comments nest in ClickHouse.
    if (c === '/' && next === '*') {
      let level = 1;
      i += 2;
      while (i < to && level > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          level++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          level--;
          i += 2;
        } else i++;
      }
      if (level > 0) unterminated = true;
      continue;
    }
    if (c === "'" || c === '`' || c === '"') {
      const start = i;
      const close = scanQuoted(sql, i, to, c);
      if (close.unterminated) unterminated = true;
      tokens.push({ kind: c === "'" ? 'string' : 'quoted', text: c === "'" ? sql.slice(start, close.end) : close.value, start, end: close.end, depth });
      i = close.end;
      continue;
    }
    // Heredoc string literal: $tag$ … $tag$ (tag may be empty).
    if (c === '$') {
      const tag = /^\$[A-Za-z0-9_]*\$/.exec(sql.slice(i, Math.min(to, i + 64)));
      if (tag !== null) {
        const endAt = sql.indexOf(tag[0], i + tag[0].length);
        const end = endAt === -1 || endAt + tag[0].length > to ? to : endAt + tag[0].length;
        if (endAt === -1) unterminated = true;
        tokens.push({ kind: 'string', text: sql.slice(i, end), start: i, end, depth });
        i = end;
        continue;
      }
    }
    if (WORD_START.test(c)) {
      const start = i;
      while (i < to && WORD_PART.test(sql[i]!)) i++;
      tokens.push({ kind: 'word', text: sql.slice(start, i), start, end: i, depth });
      continue;
    }
    if (c >= '0' && c <= '9') {
      const start = i;
      while (i < to && /[0-9A-Za-z_.]/.test(sql[i]!)) {
        // Exponent sign: 1e-5
        if ((sql[i] === 'e' || sql[i] === 'E') && (sql[i + 1] === '-' || sql[i + 1] === '+')) i += 2;
        else i++;
      }
      tokens.push({ kind: 'number', text: sql.slice(start, i), start, end: i, depth });
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      tokens.push({ kind: 'punct', text: c, start: i, end: i + 1, depth });
      depth++;
      i++;
      continue;
    }
    if (c === ')' || c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
      tokens.push({ kind: 'punct', text: c, start: i, end: i + 1, depth });
      i++;
      continue;
    }
    tokens.push({ kind: 'punct', text: c, start: i, end: i + 1, depth });
    i++;
  }
  return { tokens, unterminated };
}

function scanQuoted(sql: string, at: number, to: number, quote: string): { end: number; value: string; unterminated: boolean } {
  let i = at + 1;
  let value = '';
  while (i < to) {
    const c = sql[i]!;
    if (c === '\\' && i + 1 < to) {
      value += sql[i + 1];
      i += 2;
      continue;
    }
    if (c === quote) {
      // A doubled quote is an escaped quote inside the literal.
      if (sql[i + 1] === quote) {
        value += quote;
        i += 2;
        continue;
      }
      return { end: i + 1, value, unterminated: false };
    }
    value += c;
    i++;
  }
  return { end: to, value, unterminated: true };
}

/** Case-insensitive keyword test on a bare word token. */
export function isWord(token: Token | undefined, ...words: string[]): boolean {
  if (token === undefined || token.kind !== 'word') return false;
  const upper = token.text.toUpperCase();
  return words.includes(upper);
}

/** An identifier: a bare word or a quoted identifier. */
export function isIdentifier(token: Token | undefined): boolean {
  return token !== undefined && (token.kind === 'word' || token.kind === 'quoted');
}
