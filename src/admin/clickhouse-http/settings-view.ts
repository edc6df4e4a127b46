/**
 * `system.settings` as a client of the admin interface sees it.
 *
 * Reads run under `readonly = 1` on their engine connection, so the engine
 * marks every setting read-only — yet the interface does accept the
 * allow-listed ones in the URL and in a read's final SETTINGS clause.
 * clickhouse-connect reads `system.settings` at connect time and refuses, on
 * the client side, to send a setting marked read-only; so a read's
 * references to `system.settings` are served through a subquery whose
 * `readonly` column is the allow-list: 0 for what the interface accepts, 1
 * for everything else. It is applied to the canonical statement after the
 * policy checked it, and adds only text of ours.
 */
import { allowedSettingCondition } from './request-params';
import { isWord, lex } from './sql-lexer';

const VIEW = `(SELECT * REPLACE (toUInt8(NOT ${allowedSettingCondition('name')}) AS readonly) FROM system.settings)`;

export function withChangeableSettings(sql: string): string {
  if (!/\bsystem\.settings\b/i.test(sql)) return sql;
  const { tokens } = lex(sql);
  let out = '';
  let copied = 0;
  for (let i = 0; i + 2 < tokens.length; i++) {
    const [db, dot, table] = [tokens[i]!, tokens[i + 1]!, tokens[i + 2]!];
    if (!(isWord(db, 'SYSTEM') && dot.text === '.' && dot.start === db.end && isWord(table, 'SETTINGS') && table.start === dot.end)) continue;
    // `system.settings.name` is a column reference, not the table.
    if (tokens[i - 1]?.text === '.' || tokens[i + 3]?.text === '.') continue;
    const aliased = isWord(tokens[i + 3], 'AS');
    out += sql.slice(copied, db.start) + VIEW + (aliased ? '' : ' AS settings');
    copied = table.end;
    i += 2;
  }
  return out + sql.slice(copied);
}
