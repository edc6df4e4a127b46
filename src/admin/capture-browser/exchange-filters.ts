/**
 * The capture browser's filters, read from URL query parameters (the page
 * keeps them in its own URL, so a reload or a shared link shows the same
 * rows) and turned into a WHERE clause whose every value is a ClickHouse
 * query parameter (`{name:Type}`), bound by the engine: what a user types
 * never becomes SQL text.
 *
 *   range=15m|1h|6h|24h|7d|30d   quick range ending now (default 24h)
 *   from=, to=                   absolute bounds: ISO 8601 or epoch milliseconds (win over range)
 *   authority= method= outcome= provider=   exact values
 *   model=                       request or response model
 *   status=2xx|4xx|…|404         status class or one code (0 = no response)
 *   errors=1                     status ≥ 400, an outcome other than complete, or a provider error
 *   requestId= traceId=          exact ids (bloom-filter indexed)
 *   workload=                    calling workload: `namespace/name` or `name` (Metadata identity)
 *   q=                           words in the path, either body or the folded answer (see searchCondition)
 */
import { tableColumn as column } from './exchange-columns';
import { DEFAULT_RANGE, QUICK_RANGES, type FILTER_PARAMETERS } from './filter-parameters';
import type { ColumnName } from '../../row/exchange-row';
import { SEARCH_COLUMNS, searchText } from '../../sinks/clickhouse/schema';
import { workloadMetadataKey } from '../../capture/gateway-identity';

export class FilterError extends Error {}

export interface Filters {
  fromMs: number;
  toMs: number;
  /** `toMs` itself is outside the range (the older slices of a search, see browser-api.ts). */
  toExclusive?: boolean;
  authority?: string;
  method?: string;
  outcome?: string;
  provider?: string;
  model?: string;
  status?: { kind: 'class'; min: number; max: number } | { kind: 'code'; code: number };
  errorsOnly: boolean;
  requestId?: string;
  traceId?: string;
  workload?: string;
  search?: string;
}

const MAX_VALUE_CHARS = 1024;

export function parseFilters(query: URLSearchParams, nowMs: number = Date.now()): Filters {
  const text = (name: (typeof FILTER_PARAMETERS)[number]): string | undefined => {
    const value = query.get(name);
    if (value === null || value.trim() === '') return undefined;
    if (value.length > MAX_VALUE_CHARS) throw new FilterError(`${name} is ${value.length} characters long; at most ${MAX_VALUE_CHARS} are accepted`);
    return value.trim();
  };
  const range = text('range') ?? DEFAULT_RANGE;
  const rangeMs = QUICK_RANGES[range];
  if (rangeMs === undefined) throw new FilterError(`range=${JSON.stringify(range)} is not a quick range; expected one of ${Object.keys(QUICK_RANGES).join(', ')}`);
  const toValue = text('to');
  const fromValue = text('from');
  const toMs = toValue === undefined ? nowMs : instant('to', toValue);
  const fromMs = fromValue === undefined ? toMs - rangeMs : instant('from', fromValue);
  if (fromMs > toMs) throw new FilterError(`from=${fromValue ?? ''} is after to=${toValue ?? 'now'}; expected from ≤ to`);
  const errors = text('errors');
  if (errors !== undefined && errors !== '1' && errors !== '0' && errors !== 'true' && errors !== 'false') throw new FilterError(`errors=${JSON.stringify(errors)}: expected 1 or 0`);
  return {
    fromMs,
    toMs,
    authority: text('authority'),
    method: text('method')?.toUpperCase(),
    outcome: text('outcome'),
    provider: text('provider'),
    model: text('model'),
    status: statusFilter(text('status')),
    errorsOnly: errors === '1' || errors === 'true',
    requestId: text('requestId'),
    traceId: text('traceId'),
    workload: text('workload'),
    search: text('q'),
  };
}

/** ISO 8601 (with a zone, or UTC) or epoch milliseconds. */
function instant(name: string, value: string): number {
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) || !value.includes('T') ? value : `${value}Z`);
  if (!Number.isFinite(ms)) throw new FilterError(`${name}=${JSON.stringify(value)} is not a time; expected ISO 8601 (2026-01-31T12:00:00Z) or epoch milliseconds`);
  return ms;
}

function statusFilter(value: string | undefined): Filters['status'] {
  if (value === undefined) return undefined;
  const klass = /^([1-5])xx$/i.exec(value);
  if (klass !== null) return { kind: 'class', min: Number(klass[1]) * 100, max: Number(klass[1]) * 100 + 99 };
  if (/^\d{1,3}$/.test(value)) return { kind: 'code', code: Number(value) };
  throw new FilterError(`status=${JSON.stringify(value)}: expected a class (2xx, 4xx, 5xx…) or a code (404; 0 = no response)`);
}

/** The condition an "error" means everywhere in the browser (the errors filter, the charts' error rate). */
export function errorCondition(): string {
  return `(${column('StatusCode')} >= 400 OR ${column('Outcome')} != 'complete' OR ${column('GenAiErrorType')} != '')`;
}

export interface WhereClause {
  sql: string;
  params: Record<string, string>;
}

/** Workload identity keys in Metadata (README "Storage": PROXY protocol identity). */
const WORKLOAD_NAME = workloadMetadataKey('name');
const WORKLOAD_NAMESPACE = workloadMetadataKey('namespace');

export function whereClause(filters: Filters): WhereClause {
  const conditions: string[] = [];
  const params: Record<string, string> = {};
  const equal = (name: ColumnName, value: string | undefined, key: string): void => {
    if (value === undefined) return;
    params[key] = value;
    conditions.push(`${column(name)} = {${key}:String}`);
  };
  params.fromMs = String(Math.floor(filters.fromMs));
  params.toMs = String(Math.ceil(filters.toMs));
  conditions.push(
    `${column('Timestamp')} >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')`,
    `${column('Timestamp')} ${filters.toExclusive === true ? '<' : '<='} fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`,
  );
  equal('Authority', filters.authority, 'authority');
  equal('Method', filters.method, 'method');
  equal('Outcome', filters.outcome, 'outcome');
  equal('GenAiProvider', filters.provider, 'provider');
  equal('RequestId', filters.requestId, 'requestId');
  equal('TraceId', filters.traceId, 'traceId');
  if (filters.model !== undefined) {
    params.model = filters.model;
    conditions.push(`(${column('GenAiRequestModel')} = {model:String} OR ${column('GenAiResponseModel')} = {model:String})`);
  }
  const status = filters.status;
  if (status?.kind === 'class') {
    params.statusMin = String(status.min);
    params.statusMax = String(status.max);
    conditions.push(`${column('StatusCode')} BETWEEN {statusMin:UInt16} AND {statusMax:UInt16}`);
  } else if (status?.kind === 'code') {
    params.status = String(status.code);
    conditions.push(`${column('StatusCode')} = {status:UInt16}`);
  }
  if (filters.errorsOnly) conditions.push(errorCondition());
  if (filters.workload !== undefined) {
    params.workload = filters.workload;
    const metadata = column('Metadata');
    conditions.push(`(${metadata}['${WORKLOAD_NAME}'] = {workload:String} OR concat(${metadata}['${WORKLOAD_NAMESPACE}'], '/', ${metadata}['${WORKLOAD_NAME}']) = {workload:String})`);
  }
  if (filters.search !== undefined) {
    params.q = filters.search;
    conditions.push(searchCondition(filters.search));
  }
  return { sql: conditions.join(' AND '), params };
}

/** A letter or digit: the text index's tokenizer (splitByNonAlpha) keeps these, and non-ASCII bytes, in words. */
const WORD_CHARACTER = /[A-Za-z0-9\u0080-\u{10FFFF}]/u;

/**
 * The search: every word of the query (runs of letters and digits; case
 * ignored for ASCII) occurs as a whole word somewhere in the exchange's
 * searchText (path, request body, response body and folded answer; a
 * chat stream by its fold alone, schema.ts), in any order. This is what the table's text index answers from
 * its postings without reading a body (schema.ts), so a search over a day of
 * traffic takes milliseconds where a substring scan read every body. A query
 * made only of punctuation (`/`, `{}`) has no word to look up: it stays a
 * case-insensitive substring search of the same text, unindexed.
 */
function searchCondition(query: string): string {
  if (WORD_CHARACTER.test(query)) return `hasAllTokens(${searchText(column)}, lower({q:String}))`;
  const fields = SEARCH_COLUMNS.map((name) => `positionCaseInsensitive(${column(name)}, {q:String}) > 0`);
  return `(${fields.join(' OR ')})`;
}
