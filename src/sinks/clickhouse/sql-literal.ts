/**
 * A ClickHouse SQL string literal: single quotes, with backslashes and quotes
 * escaped, so no value can end the literal early. Used wherever a value that
 * came from outside (a path, a batch id, a URL parameter, a cursor) is put
 * into SQL text.
 */
export function sqlStringLiteral(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
