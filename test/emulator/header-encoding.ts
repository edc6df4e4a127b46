/**
 * Builds HeaderMaps the way Envoy's ext_proc filter serializes them: lower-case
 * keys, pseudo-headers first, Host as :authority, values as raw bytes.
 */
import { randomUUID } from 'node:crypto';
import type { HeaderMap, HeaderValue } from '../../src/extproc/wire/protocol';
import type { HeaderList } from './http-exchange-spec';

/** Headers the HCM removes before any filter runs (non-upgrade requests). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** Lower-cases names, maps Host to :authority and moves pseudo-headers to the front (stable, as Envoy's HeaderList does). */
export function normalizeHeaders(list: HeaderList): HeaderList {
  const pseudo: HeaderList = [];
  const regular: HeaderList = [];
  for (const [rawName, value] of list) {
    let name = rawName.toLowerCase();
    if (name === 'host') name = ':authority';
    (name.startsWith(':') ? pseudo : regular).push([name, value]);
  }
  return pseudo.length === 0 ? regular : pseudo.concat(regular);
}

/** The request headers ext_proc sees: after the HCM's own mutations (reference §2.5). */
export function hcmMutateRequestHeaders(list: HeaderList): HeaderList {
  const out: HeaderList = [];
  let hasProto = false;
  let hasRequestId = false;
  let scheme = 'http';
  for (const [name, value] of list) {
    if (HOP_BY_HOP.has(name)) continue;
    // Envoy answers `100 Continue` itself (proxy_100_continue=false) and drops the header.
    if (name === 'expect' && String(value).toLowerCase() === '100-continue') continue;
    if (name === ':scheme') scheme = String(value);
    if (name === 'x-forwarded-proto') hasProto = true;
    if (name === 'x-request-id') hasRequestId = true;
    out.push([name, value]);
  }
  if (!hasProto) out.push(['x-forwarded-proto', scheme]);
  if (!hasRequestId) out.push(['x-request-id', randomUUID()]);
  return out;
}

export function toHeaderMap(list: HeaderList, field: 'raw_value' | 'value'): HeaderMap {
  const headers: HeaderValue[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const [key, value] = list[i];
    headers[i] =
      field === 'raw_value'
        ? { key, raw_value: typeof value === 'string' ? Buffer.from(value) : value }
        : // Pre-1.27 Envoy sanitized values to UTF-8 strings.
          { key, value: typeof value === 'string' ? value : value.toString('utf8') };
  }
  return { headers };
}

/** Value of the first header with that (lower-case) name. */
export function headerValue(list: HeaderList | undefined, name: string): string | undefined {
  const hit = list?.find(([n]) => n === name);
  return hit === undefined ? undefined : String(hit[1]);
}
