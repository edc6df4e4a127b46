/**
 * The bench's verdicts against its targets and the compact table
 * printed at the end (the same content goes to dist/bench-results.json).
 */

export interface Check {
  name: string;
  value: string;
  target: string;
  pass: boolean | undefined;
}

export function check(name: string, pass: boolean | undefined, value: string, target: string): Check {
  return { name, value, target, pass };
}

export function verdict(pass: boolean | undefined): string {
  return pass === undefined ? 'SKIP' : pass ? 'PASS' : 'MISS';
}

/** A plain-text table, columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((row) => typeof row[i] === 'number' || /^[-\d.,/× ]*$/.test(String(row[i] ?? ''))));
  const line = (row: string[]): string => row.map((c, i) => (numeric[i] ? (c ?? '').padStart(widths[i]) : (c ?? '').padEnd(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Numbers with sensible precision for the table. */
export function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '-';
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (Number.isInteger(n)) return String(n);
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : NaN;
}

/** CPU by thread name as `name µs, …` (proc-stats.ts threadCpuPerExchange). */
export function formatThreads(threads: Record<string, number>): string {
  return Object.entries(threads)
    .map(([name, micros]) => `${name} ${micros}`)
    .join(', ');
}
