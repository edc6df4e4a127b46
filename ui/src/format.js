// Small formatting helpers: numbers, sizes, times.

export function bytes(n) {
  const value = Number(n);
  if (!Number.isFinite(value) || value < 0) return '';
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

export function ms(n) {
  const value = Number(n);
  if (n === null || n === undefined || !Number.isFinite(value) || value < 0) return '';
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 10_000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(1)} s`;
}

export function tokens(n) {
  return n === null || n === undefined ? '' : Number(n).toLocaleString('en-US');
}

/** `TimestampNs` (a decimal string) as local time with milliseconds. */
export function time(ns) {
  const date = new Date(Number(BigInt(ns) / 1000000n));
  const pad = (v, n = 2) => String(v).padStart(n, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export function isoTime(ns) {
  return new Date(Number(BigInt(ns) / 1000000n)).toISOString();
}

export function statusClass(status) {
  const code = Number(status);
  if (code === 0) return 'status-none';
  if (code >= 500) return 'status-5xx';
  if (code >= 400) return 'status-4xx';
  if (code >= 300) return 'status-3xx';
  return 'status-2xx';
}

export function isError(row) {
  return Number(row.StatusCode) >= 400 || row.Outcome !== 'complete' || (row.GenAiErrorType ?? '') !== '';
}
