/**
 * The capture browser's JSON API on the admin port (README "Capture
 * browser"). Read-only, GET only; every query runs through the admin
 * ClickHouse interface's read path (its query slots, limits and a
 * `readonly = 1` engine session), and the admin server has already checked
 * who is asking before a request gets here.
 *
 *   GET /api/exchanges?<filters>&limit=&cursor=   newest first, one page
 *   GET /api/exchanges/<CaptureId>                one exchange, every column
 *   GET /api/charts?<filters>                     per-bucket series for the overview
 *   GET /api/facets?<range>                       values the filter menus offer
 *   GET /api/inflight                             exchanges whose ext_proc stream is still open
 *   GET /api/export?format=har|csv|json&<filters>|ids=   a download
 */
import type * as http from 'node:http';
import type { ExchangeProgress } from '../../capture/exchange-assembler';
import { describeError } from '../../errors';
import { fromStoreError } from '../clickhouse-http/clickhouse-errors';
import type { ExecuteResult } from '../clickhouse-http/clickhouse-http-handler';
import { FilterError, parseFilters, type Filters } from './exchange-filters';
import { exportExchanges, EXPORT_FORMATS, MAX_EXPORT_ROWS } from './exchange-export';
import {
  CHART_MODELS,
  DEFAULT_PAGE_ROWS,
  MAX_PAGE_ROWS,
  chartStepSeconds,
  detailQuery,
  exchangesByIdQuery,
  facetsQuery,
  listQuery,
  tokenSeriesQuery,
  trafficSeriesQuery,
  type BoundQuery,
  type Cursor,
} from './exchange-queries';

/** Runs one fixed read on the admin interface's read path (ClickHouseHttpHandler.runRead). */
export type ReadRunner = (sql: string, format: string, params: Record<string, string>) => Promise<ExecuteResult>;

export interface BrowserApiOptions {
  run: ReadRunner;
  inFlight?: () => ExchangeProgress[];
}

/** A result in ClickHouse's JSON format. */
interface JsonResult<T> {
  data: T[];
  statistics?: { elapsed: number; rows_read: number; bytes_read: number };
}

export type Row = Record<string, unknown>;

const CAPTURE_ID = /^[0-9A-Za-z-]{1,64}$/;

export class BrowserApi {
  constructor(private readonly options: BrowserApiOptions) {}

  /** Whether `pathname` is one of this API's. */
  static owns(pathname: string): boolean {
    return pathname === '/api' || pathname.startsWith('/api/');
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: `${req.method} is not served: the capture browser's API is read-only (GET)` }, { Allow: 'GET, HEAD' });
      return;
    }
    try {
      const body = await this.answer(url);
      if (body === undefined) sendJson(res, 404, { error: `no such API path ${url.pathname}; see the README's "Capture browser" section` });
      else if (body instanceof Download) body.send(res);
      else sendJson(res, 200, body);
    } catch (err) {
      if (err instanceof NotFound) {
        sendJson(res, 404, { error: err.message });
        return;
      }
      if (err instanceof FilterError) {
        sendJson(res, 400, { error: err.message });
        return;
      }
      const error = fromStoreError(err);
      sendJson(res, error.httpStatus >= 400 && error.httpStatus < 600 ? error.httpStatus : 500, { error: describeError(error), code: error.chName });
    }
  }

  private async answer(url: URL): Promise<unknown> {
    const query = url.searchParams;
    const path = url.pathname.replace(/\/+$/, '');
    if (path === '/api/exchanges') return this.list(parseFilters(query), query);
    if (path.startsWith('/api/exchanges/')) {
      const id = decodeURIComponent(path.slice('/api/exchanges/'.length));
      if (!CAPTURE_ID.test(id)) throw new FilterError(`${JSON.stringify(id)} is not a CaptureId; expected the id of a stored exchange (letters, digits and -)`);
      return this.detail(id);
    }
    if (path === '/api/charts') return this.charts(parseFilters(query));
    if (path === '/api/facets') return this.facets(parseFilters(query));
    if (path === '/api/inflight') return { exchanges: this.options.inFlight?.() ?? [], at: new Date().toISOString() };
    if (path === '/api/export') return this.export(query);
    return undefined;
  }

  private async read<T = Row>(query: BoundQuery): Promise<JsonResult<T>> {
    const result = await this.options.run(query.sql, 'JSON', query.params);
    return JSON.parse(Buffer.from(result.bytes).toString('utf8')) as JsonResult<T>;
  }

  async list(filters: Filters, query: URLSearchParams): Promise<{ exchanges: Row[]; next: string | null; serverMs: number }> {
    const limit = pageSize(query.get('limit'));
    const cursor = parseCursor(query.get('cursor'));
    const rows: Row[] = [];
    let engineMs = 0;
    // Newest slices first, stopping once the page is full. The table's sort key starts with the
    // hour, but the list's order (Timestamp, newest first) is not one the engine can read in, so
    // a query over the whole range reads every row's filtered columns (a day's Metadata maps for
    // a workload, ~370 ms over a million rows) to keep the newest 100; the newest hour alone
    // usually fills the page. The slices do not overlap, so a filter no row matches still reads
    // the range once. A request or trace id is looked up in one query: its bloom filter skips
    // nearly every granule of the whole range at once.
    const sliced = filters.requestId === undefined && filters.traceId === undefined;
    for (const slice of sliced ? newestFirstSlices(filters, cursor) : [filters]) {
      const result = await this.read(listQuery(slice, limit - rows.length, cursor));
      rows.push(...result.data);
      engineMs += serverMs(result);
      if (rows.length === limit) break;
    }
    const last = rows.at(-1);
    const next = rows.length === limit && last !== undefined ? `${String(last.TimestampNs)}_${String(last.CaptureId)}` : null;
    return { exchanges: rows, next, serverMs: Math.round(engineMs * 10) / 10 };
  }

  async detail(captureId: string): Promise<Row | undefined> {
    let result = await this.read(detailQuery(captureId));
    if (result.data.length === 0) result = await this.read(detailQuery(captureId, false));
    const row = result.data[0];
    if (row === undefined) throw new NotFound(`no stored exchange has CaptureId ${captureId} (it may still be in flight, or past the retention)`);
    return row;
  }

  async charts(filters: Filters): Promise<unknown> {
    const step = chartStepSeconds(filters);
    const [traffic, tokens] = await Promise.all([
      this.read<{ t: number; requests: string; errors: string; p50: number; p99: number }>(trafficSeriesQuery(filters, step)),
      this.read<{ t: number; model: string; tokens: string }>(tokenSeriesQuery(filters, step)),
    ]);
    // Every bucket of the range, empty ones included, so the x axis is the range.
    const first = Math.floor(filters.fromMs / 1000 / step) * step;
    const last = Math.floor(filters.toMs / 1000 / step) * step;
    const t: number[] = [];
    for (let at = first; at <= last; at += step) t.push(at);
    const index = new Map(t.map((at, i) => [at, i]));
    const zeros = (): number[] => t.map(() => 0);
    const requests = zeros();
    const errors = zeros();
    const p50: Array<number | null> = t.map(() => null);
    const p99: Array<number | null> = t.map(() => null);
    for (const row of traffic.data) {
      const i = index.get(Number(row.t));
      if (i === undefined) continue;
      requests[i] = Number(row.requests);
      errors[i] = Number(row.errors);
      p50[i] = row.p50;
      p99[i] = row.p99;
    }
    const byModel = new Map<string, number[]>();
    const totals = new Map<string, number>();
    for (const row of tokens.data) totals.set(row.model, (totals.get(row.model) ?? 0) + Number(row.tokens));
    const kept = new Set(
      [...totals.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, CHART_MODELS)
        .map(([model]) => model),
    );
    for (const row of tokens.data) {
      const i = index.get(Number(row.t));
      if (i === undefined) continue;
      const model = kept.has(row.model) ? row.model : 'other models';
      if (!byModel.has(model)) byModel.set(model, zeros());
      byModel.get(model)![i]! += Number(row.tokens);
    }
    return {
      stepSeconds: step,
      t,
      requestsPerSecond: requests.map((n) => n / step),
      requests,
      errorRate: requests.map((n, i) => (n === 0 ? null : errors[i]! / n)),
      p50DurationMs: p50,
      p99DurationMs: p99,
      tokensByModel: Object.fromEntries(byModel),
      serverMs: serverMs(traffic) + serverMs(tokens),
    };
  }

  async facets(filters: Filters): Promise<unknown> {
    const result = await this.read<Record<string, string[]>>(facetsQuery(filters));
    const row = result.data[0] ?? {};
    const models = [...new Set([...(row.responseModels ?? []), ...(row.requestModels ?? [])])].sort();
    return { authorities: row.authorities ?? [], methods: row.methods ?? [], outcomes: row.outcomes ?? [], providers: row.providers ?? [], models };
  }

  private async export(query: URLSearchParams): Promise<Download> {
    const format = query.get('format') ?? 'json';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new FilterError(`format=${JSON.stringify(format)}: expected one of ${EXPORT_FORMATS.join(', ')}`);
    const ids = (query.get('ids') ?? '').split(',').filter((id) => id !== '');
    let rows: Row[];
    if (ids.length > 0) {
      if (ids.length > MAX_EXPORT_ROWS) throw new FilterError(`ids names ${ids.length} exchanges; at most ${MAX_EXPORT_ROWS} are exported at once`);
      for (const id of ids) if (!CAPTURE_ID.test(id)) throw new FilterError(`ids holds ${JSON.stringify(id)}, which is not a CaptureId`);
      rows = (await this.read(exchangesByIdQuery(ids))).data;
    } else {
      const limit = Math.min(MAX_EXPORT_ROWS, pageSize(query.get('limit')));
      rows = (await this.read(listQuery(parseFilters(query), limit, undefined, 'all'))).data;
    }
    const file = exportExchanges(format as (typeof EXPORT_FORMATS)[number], rows);
    return new Download(file.contentType, `exchanges.${file.extension}`, file.body);
  }
}

class NotFound extends FilterError {}

class Download {
  constructor(
    readonly contentType: string,
    readonly fileName: string,
    readonly body: string,
  ) {}

  send(res: http.ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': this.contentType,
      'Content-Disposition': `attachment; filename="${this.fileName}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(this.body);
  }
}

/** The first slice of a list, then each one SLICE_GROWTH times wider, back to the range's start. */
const FIRST_SLICE_MS = 3_600_000;
const SLICE_GROWTH = 4;

export function newestFirstSlices(filters: Filters, cursor: Cursor | undefined): Filters[] {
  // A cursor's time bounds the page too; `to` stays inclusive of it (the cursor condition excludes what was shown).
  const end = cursor === undefined ? filters.toMs : Math.min(filters.toMs, Number(BigInt(cursor.timestampNs) / 1_000_000n) + 1);
  const slices: Filters[] = [];
  let width = FIRST_SLICE_MS;
  let to = end;
  while (to > filters.fromMs) {
    const from = Math.max(filters.fromMs, to - width);
    // Each older slice ends just before the newer one starts: no row in two slices, none in neither.
    slices.push({ ...filters, fromMs: from, toMs: to, toExclusive: slices.length > 0 });
    to = from;
    width *= SLICE_GROWTH;
  }
  return slices.length > 0 ? slices : [filters];
}

function pageSize(value: string | null): number {
  if (value === null || value === '') return DEFAULT_PAGE_ROWS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_ROWS) throw new FilterError(`limit=${JSON.stringify(value)}: expected a whole number from 1 to ${MAX_PAGE_ROWS}`);
  return n;
}

/** `<TimestampNs>_<CaptureId>`, as `next` gave it. */
function parseCursor(value: string | null): Cursor | undefined {
  if (value === null || value === '') return undefined;
  const match = /^(\d{1,20})_([0-9A-Za-z-]{1,64})$/.exec(value);
  if (match === null) throw new FilterError(`cursor=${JSON.stringify(value)} is not a cursor; pass the "next" value of the previous page`);
  return { timestampNs: match[1]!, captureId: match[2]! };
}

function serverMs(result: JsonResult<unknown>): number {
  return Math.round((result.statistics?.elapsed ?? 0) * 1000 * 10) / 10;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (status === 200 && body === undefined) status = 404;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    // Captured data: never kept by a browser or a proxy cache.
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  });
  res.end(text);
}
