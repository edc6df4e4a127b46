/**
 * The capture browser's SQL. Each statement is fixed text with `{name:Type}`
 * placeholders; values travel beside it and the engine binds them.
 */
import { DETAIL_COLUMNS, LIST_COLUMNS, TABLE, column } from './exchange-columns';
import { errorCondition, whereClause, type Filters } from './exchange-filters';

export interface BoundQuery {
  sql: string;
  params: Record<string, string>;
}

/** Where the next page starts: the last row's (Timestamp, CaptureId), newest first. */
export interface Cursor {
  timestampNs: string;
  captureId: string;
}

export const MAX_PAGE_ROWS = 1000;
export const DEFAULT_PAGE_ROWS = 100;
/** The list shows the start of a long path; the whole path is in the exchange's own view. */
const LIST_PATH_CHARS = 512;

const timestampNs = `toString(toUnixTimestamp64Nano(${column('Timestamp')})) AS TimestampNs`;

export function listQuery(filters: Filters, limit: number, cursor: Cursor | undefined, columns: 'list' | 'all' = 'list'): BoundQuery {
  const where = whereClause(filters);
  const params: Record<string, string> = { ...where.params, limit: String(limit) };
  let sql = where.sql;
  if (cursor !== undefined) {
    params.cursorNs = cursor.timestampNs;
    params.cursorId = cursor.captureId;
    sql += ` AND (${column('Timestamp')}, ${column('CaptureId')}) < (fromUnixTimestamp64Nano({cursorNs:Int64}, 'UTC'), {cursorId:String})`;
  }
  return {
    sql: [
      columns === 'list' ? `SELECT ${timestampNs}, leftUTF8(${column('Path')}, ${LIST_PATH_CHARS}) AS Path, ${LIST_COLUMNS.join(', ')}` : `SELECT ${timestampNs}, ${DETAIL_COLUMNS.join(', ')}`,
      `FROM ${TABLE}`,
      `WHERE ${sql}`,
      `ORDER BY ${column('Timestamp')} DESC, ${column('CaptureId')} DESC`,
      'LIMIT {limit:UInt32}',
    ].join('\n'),
    params,
  };
}

/**
 * One exchange by CaptureId. The id is a UUIDv7 whose first 48 bits are the
 * capture's start in Unix milliseconds, so the day around it bounds the
 * partitions read; `exact` = false drops that bound (rows whose id and
 * timestamp disagree, e.g. written by hand).
 */
export function detailQuery(captureId: string, exact = true): BoundQuery {
  const params: Record<string, string> = { id: captureId };
  let sql = `${column('CaptureId')} = {id:String}`;
  const ms = exact ? captureIdMs(captureId) : undefined;
  if (ms !== undefined) {
    params.fromMs = String(ms - 86_400_000);
    params.toMs = String(ms + 86_400_000);
    sql += ` AND ${column('Timestamp')} BETWEEN fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;
  }
  return { sql: `SELECT ${timestampNs}, ${DETAIL_COLUMNS.join(', ')}\nFROM ${TABLE}\nWHERE ${sql}\nLIMIT 1`, params };
}

/** Whole rows of the given exchanges (downloads), newest first; ids are CaptureIds already checked by the caller. */
export function exchangesByIdQuery(captureIds: readonly string[]): BoundQuery {
  const times = captureIds.map(captureIdMs);
  const params: Record<string, string> = { ids: `[${captureIds.map((id) => `'${id}'`).join(',')}]` };
  let sql = `${column('CaptureId')} IN {ids:Array(String)}`;
  if (times.every((ms) => ms !== undefined)) {
    params.fromMs = String(Math.min(...(times as number[])) - 86_400_000);
    params.toMs = String(Math.max(...(times as number[])) + 86_400_000);
    sql += ` AND ${column('Timestamp')} BETWEEN fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;
  }
  return { sql: `SELECT ${timestampNs}, ${DETAIL_COLUMNS.join(', ')}\nFROM ${TABLE}\nWHERE ${sql}\nORDER BY ${column('Timestamp')} DESC\nLIMIT ${captureIds.length}`, params };
}

export function captureIdMs(captureId: string): number | undefined {
  const hex = /^([0-9a-f]{8})-([0-9a-f]{4})-7/i.exec(captureId);
  return hex === null ? undefined : parseInt(hex[1]! + hex[2]!, 16);
}

/** Bucket widths for the charts, seconds: the smallest that gives at most CHART_POINTS buckets. */
const CHART_STEPS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10_800, 21_600, 43_200, 86_400];
const CHART_POINTS = 150;

export function chartStepSeconds(filters: Filters): number {
  const seconds = (filters.toMs - filters.fromMs) / 1000;
  return CHART_STEPS.find((step) => seconds / step <= CHART_POINTS) ?? CHART_STEPS.at(-1)!;
}

const bucket = `toUnixTimestamp(toStartOfInterval(${column('Timestamp')}, toIntervalSecond({step:UInt32}))) AS t`;

export function trafficSeriesQuery(filters: Filters, stepSeconds: number): BoundQuery {
  const where = whereClause(filters);
  const duration = column('DurationMs');
  return {
    sql: [
      `SELECT ${bucket}, count() AS requests, countIf(${errorCondition()}) AS errors,`,
      `  quantile(0.5)(${duration}) AS p50, quantile(0.99)(${duration}) AS p99`,
      `FROM ${TABLE} WHERE ${where.sql}`,
      'GROUP BY t ORDER BY t',
    ].join('\n'),
    params: { ...where.params, step: String(stepSeconds) },
  };
}

/** Models with the most tokens in the range are drawn; the rest are summed as one series. */
export const CHART_MODELS = 8;

export function tokenSeriesQuery(filters: Filters, stepSeconds: number): BoundQuery {
  const where = whereClause(filters);
  const model = `if(${column('GenAiResponseModel')} != '', ${column('GenAiResponseModel')}, ${column('GenAiRequestModel')})`;
  return {
    sql: [
      `SELECT ${bucket}, ${model} AS model, sum(ifNull(${column('GenAiInputTokens')}, 0) + ifNull(${column('GenAiOutputTokens')}, 0)) AS tokens`,
      `FROM ${TABLE} WHERE ${where.sql} AND model != ''`,
      'GROUP BY t, model ORDER BY t',
    ].join('\n'),
    params: { ...where.params, step: String(stepSeconds) },
  };
}

/** The values the filter menus offer: what the range holds. */
export function facetsQuery(filters: Filters): BoundQuery {
  const where = whereClause({ fromMs: filters.fromMs, toMs: filters.toMs, errorsOnly: false });
  const uniq = (expression: string, alias: string): string => `arraySort(groupUniqArray(200)(${expression})) AS ${alias}`;
  return {
    sql: [
      'SELECT',
      [
        uniq(column('Authority'), 'authorities'),
        uniq(column('Method'), 'methods'),
        uniq(column('Outcome'), 'outcomes'),
        uniq(`nullIf(${column('GenAiProvider')}, '')`, 'providers'),
        uniq(`nullIf(${column('GenAiResponseModel')}, '')`, 'responseModels'),
        uniq(`nullIf(${column('GenAiRequestModel')}, '')`, 'requestModels'),
      ].join(',\n'),
      `FROM ${TABLE} WHERE ${where.sql}`,
    ].join('\n'),
    params: where.params,
  };
}
