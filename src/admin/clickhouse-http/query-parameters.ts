/**
 * Server-side substitution of ClickHouse query parameters (`{name:Type}` in
 * the SQL, `param_name=value` in the URL), which @clickhouse/client's
 * `query_params` uses. The embedded store takes SQL text only, so each
 * placeholder becomes `_CAST('<value>', '<Type>')` — the value is always a
 * quoted string literal and the engine converts it to the declared type, so
 * a value can never become SQL. `Identifier` placeholders become quoted
 * identifiers. A placeholder without a value is left alone and the engine
 * reports UNKNOWN_QUERY_PARAMETER, as ClickHouse does.
 */
import { sqlStringLiteral } from '../../sinks/clickhouse/sql-literal';
import { lex } from './sql-lexer';

export function bindQueryParameters(sql: string, values: ReadonlyMap<string, string>): string {
  if (values.size === 0 || !sql.includes('{')) return sql;
  const { tokens } = lex(sql);
  let out = '';
  let copied = 0;
  for (let i = 0; i < tokens.length; i++) {
    const open = tokens[i]!;
    if (open.text !== '{' || open.kind !== 'punct') continue;
    const name = tokens[i + 1];
    if (name === undefined || name.kind !== 'word' || tokens[i + 2]?.text !== ':') continue;
    let j = i + 3;
    while (j < tokens.length && !(tokens[j]!.text === '}' && tokens[j]!.depth === open.depth)) j++;
    if (j >= tokens.length) break;
    const value = values.get(name.text);
    if (value === undefined) continue;
    const type = sql.slice(tokens[i + 3]!.start, tokens[j]!.start).trim();
    out += sql.slice(copied, open.start) + placeholderValue(type, value);
    copied = tokens[j]!.end;
    i = j;
  }
  return out + sql.slice(copied);
}

function placeholderValue(type: string, value: string): string {
  if (type === 'Identifier') return '`' + value.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
  const inner = type.replace(/^(Nullable|LowCardinality)\((.*)\)$/s, '$2').replace(/^(Nullable|LowCardinality)\((.*)\)$/s, '$2');
  if (/^Nullable\(/.test(type) && value === '\\N') return `_CAST(NULL, ${sqlStringLiteral(type)})`;
  // Scalars arrive in ClickHouse's escaped text form (\t, \n, \\, \'); composite values are
  // literals (['a','b']) that the cast parses itself, so only scalars are unescaped here.
  if (/^Map\(/.test(inner)) return mapValue(inner, value);
  const text = /^(Array|Tuple|Nested)\(/.test(inner) ? value : unescapeText(value);
  return `_CAST(${sqlStringLiteral(text)}, ${sqlStringLiteral(type)})`;
}

/**
 * The engine casts a String to Array or Tuple but not to Map, so a Map's
 * ClickHouse text `{k:v, k:v}` is rewritten to the text of the Array(Tuple(K, V)) it is made
 * of, `[(k, v), (k, v)]`, cast to that and then to the Map — at the Map's own
 * level only; keys and values stay as they are. The value still only ever
 * sits inside a string literal.
 */
function mapValue(type: string, value: string): string {
  // clickhouse-connect sends a dict as JSON by default ({"k":1}); the engine reads that itself.
  if (isJsonObject(value)) return `JSONExtract(${sqlStringLiteral(value)}, ${sqlStringLiteral(type)})`;
  const args = splitTopLevel(type.slice('Map('.length, -1));
  const pairs = `Array(Tuple(${args.join(', ')}))`;
  return `CAST(_CAST(${sqlStringLiteral(mapTextAsPairs(value))}, ${sqlStringLiteral(pairs)}), ${sqlStringLiteral(type)})`;
}

function isJsonObject(text: string): boolean {
  if (!/^\s*\{\s*("|\})/.test(text)) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function mapTextAsPairs(text: string): string {
  if (/^\s*\{\s*\}\s*$/.test(text)) return '[]';
  let out = '';
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== undefined) {
      out += c;
      if (c === '\\' && i + 1 < text.length) out += text[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    if (depth === 0 && c === '{') {
      depth++;
      out += '[(';
      continue;
    }
    if (c === '{' || c === '[' || c === '(') depth++;
    if (c === '}' || c === ']' || c === ')') depth--;
    if (depth === 0 && c === '}') out += ')]';
    else if (depth === 1 && c === ':') out += ',';
    else if (depth === 1 && c === ',') out += '),(';
    else out += c;
  }
  return out;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', a: '\x07', v: '\v' };

function unescapeText(value: string): string {
  return value.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c);
}
