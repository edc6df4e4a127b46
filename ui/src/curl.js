// A stored request as a cURL command. The stored headers are used as they
// are: a value redacted at capture stays the redaction marker.

/** POSIX shell single quoting: nothing inside is expanded. */
export function shellQuote(text) {
  return `'${String(text).replace(/'/g, `'\\''`)}'`;
}

/** Headers cURL sets itself, or that describe the original connection. */
const SKIPPED = new Set(['content-length', 'host', 'connection', 'transfer-encoding', 'accept-encoding', 'x-envoy-expected-rq-timeout-ms', 'x-forwarded-proto', 'x-envoy-internal', 'x-forwarded-for']);

export function curlCommand(row) {
  const url = `${row.Scheme || 'https'}://${row.Authority}${row.Path}`;
  const parts = ['curl'];
  if (row.Method && row.Method !== 'GET') parts.push('-X', shellQuote(row.Method));
  parts.push(shellQuote(url));
  for (const [name, value] of Object.entries(row.RequestHeaders ?? {})) {
    if (name.startsWith(':') || SKIPPED.has(name)) continue;
    parts.push('-H', shellQuote(`${name}: ${value}`));
  }
  if (row.RequestBody) parts.push('--data-raw', shellQuote(row.RequestBody));
  return parts.join(' ');
}
