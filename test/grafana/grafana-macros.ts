/**
 * What Grafana sends for a panel of the ClickHouse data source: template
 * variables and `$__conditionalAll` resolved in the browser, then the
 * plugin's backend macros expanded (grafana-clickhouse-datasource, macro
 * reference in its README), so a test can run exactly the SQL a dashboard
 * would run.
 */

export interface PanelContext {
  from: Date;
  to: Date;
  intervalSeconds: number;
  /** Multi-value variables; ['$__all'] means "All" is selected. */
  variables: Record<string, string[]>;
  /** Every value of each variable, what "All" expands to. */
  allValues: Record<string, string[]>;
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** `$__conditionalAll(condition, $var)`: '1=1' when the variable is All, else the condition. */
function conditionalAll(sql: string, context: PanelContext): string {
  return sql.replace(/\$__conditionalAll\(((?:[^()]|\([^()]*\))*),\s*\$(\w+)\)/g, (_, condition: string, name: string) => (context.variables[name]?.[0] === '$__all' ? '1=1' : condition));
}

function variables(sql: string, context: PanelContext): string {
  return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)\b/g, (match, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    if (name.startsWith('__')) return match;
    const selected = context.variables[name];
    if (selected === undefined) return match;
    const values = selected[0] === '$__all' ? (context.allValues[name] ?? []) : selected;
    if (format === 'singlequote') return values.map((value) => `'${value.replace(/'/g, "\\'")}'`).join(',');
    return values.join(',');
  });
}

function macros(sql: string, context: PanelContext): string {
  const from = seconds(context.from);
  const to = seconds(context.to);
  const interval = Math.max(1, context.intervalSeconds);
  return sql
    .replace(
      /\$__timeFilter_ms\(([^)]+)\)/g,
      (_, c: string) => `${c.trim()} >= fromUnixTimestamp64Milli(${context.from.getTime()}) AND ${c.trim()} <= fromUnixTimestamp64Milli(${context.to.getTime()})`,
    )
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, c: string) => `${c.trim()} >= toDateTime(${from}) AND ${c.trim()} <= toDateTime(${to})`)
    .replace(/\$__dateFilter\(([^)]+)\)/g, (_, c: string) => `${c.trim()} >= toDate(${from}) AND ${c.trim()} <= toDate(${to})`)
    .replace(/\$__timeInterval_ms\(([^)]+)\)/g, (_, c: string) => `toStartOfInterval(toDateTime64(${c.trim()}, 3), INTERVAL ${interval * 1000} millisecond)`)
    .replace(/\$__timeInterval\(([^)]+)\)/g, (_, c: string) => `toStartOfInterval(toDateTime(${c.trim()}), INTERVAL ${interval} second)`)
    .replace(/\$__fromTime_ms\b/g, `fromUnixTimestamp64Milli(${context.from.getTime()})`)
    .replace(/\$__toTime_ms\b/g, `fromUnixTimestamp64Milli(${context.to.getTime()})`)
    .replace(/\$__fromTime\b/g, `toDateTime(${from})`)
    .replace(/\$__toTime\b/g, `toDateTime(${to})`)
    .replace(/\$__interval_s\b/g, String(interval));
}

/** The SQL the data source runs for `rawSql` in `context`. */
export function expandPanelSql(rawSql: string, context: PanelContext): string {
  const expanded = macros(variables(conditionalAll(rawSql, context), context), context);
  const left = /\$__\w+/.exec(expanded);
  if (left !== null) throw new Error(`macro ${left[0]} is not expanded by this test's expander; add it`);
  return expanded;
}
