/**
 * `npm run bench -- --only browser`: the capture browser's queries over a
 * store of `--browser-rows` (1,000,000) exchanges, through its real HTTP API
 * (the admin server over the embedded store, the read path and limits real
 * clients get), p50/p95 per query against the targets.
 *
 * The rows are made by ClickHouse itself (INSERT … SELECT FROM numbers()),
 * all inside the last 24 hours, so a 24-hour body search reads every body:
 * the worst case for the range the target names. Bodies are ~1 KiB of JSON
 * and ~1.5 KiB of SSE made of words drawn at random from a small vocabulary,
 * so they compress like text rather than like one repeated string. A rare
 * word sits in one row in 100,000; a word no row holds makes the search
 * read everything.
 *
 * The insert cost of the table's indexes: rows copied from the seeded table
 * into a fresh table with the schema's indexes and into one without them,
 * alternately, one thread each, so only writing the parts (and the indexes)
 * is timed, not making the rows.
 */
import { DEFAULTS } from '../../src/config/defaults';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AdminServer } from '../../src/admin/admin-server';
import { silentLogger } from '../../src/logger';
import { CaptureMetrics } from '../../src/metrics';
import { EmbeddedStore, embeddedTableSettings } from '../../src/sinks/clickhouse/embedded-store';
import { TABLE, TABLE_DEFINITION } from '../../src/sinks/clickhouse/schema';
import { createStatements, SINGLE_SERVER_LAYOUT } from '../../src/sinks/clickhouse/table-layout';
import { check, table, type Check } from './report';
import { adminClickHouse } from '../support/admin-policy';

export const BROWSER_TARGETS = { listP95Ms: 300, searchP95Ms: 2000, chartsP95Ms: 500 } as const;

const RUNS = 15;
const WARMUP = 2;
export const RARE_WORD = 'quetzalcoatl';
const MISSING_WORD = 'no-row-holds-this-word';

const WORDS = [
  'the',
  'model',
  'answer',
  'token',
  'stream',
  'request',
  'gateway',
  'latency',
  'vector',
  'prompt',
  'system',
  'user',
  'assistant',
  'function',
  'result',
  'error',
  'retry',
  'cache',
  'policy',
  'route',
  'upstream',
  'header',
  'payload',
  'summary',
  'context',
  'window',
  'schema',
  'invoice',
  'customer',
  'order',
  'weather',
  'search',
  'document',
  'embedding',
  'report',
  'status',
  'queue',
  'worker',
  'metric',
  'budget',
];
const HOSTS = [
  'api.openai.com',
  'api.anthropic.com',
  'generativelanguage.googleapis.com',
  'api.mistral.ai',
  'api.github.com',
  'hooks.slack.com',
  'api.stripe.com',
  'sqs.eu-west-1.amazonaws.com',
  'api.example.com',
  'login.microsoftonline.com',
  'storage.googleapis.com',
  'api.twilio.com',
];
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash', 'mistral-large-latest'];

const list = (values: readonly string[]): string => `[${values.map((v) => `'${v}'`).join(', ')}]`;

/** One INSERT … SELECT making `rows` exchanges `stepMs` apart, the newest at `nowMs`; `offset` numbers them. */
export function seedStatement(rows: number, nowMs: number, offset: number, stepMs: number): string {
  const words = list(WORDS);
  const text = (count: number, salt: string): string => `arrayStringConcat(arrayMap(i -> ${words}[1 + cityHash64(number, i, '${salt}') % ${WORDS.length}], range(${count})), ' ')`;
  return `INSERT INTO ${TABLE} (Timestamp, CaptureId, RequestId, TraceId, Method, Scheme, Authority, Path, StatusCode, RequestHeaders, ResponseHeaders,
    RequestContentType, ResponseContentType, RequestBody, ResponseBody, RequestBodyCaptured, ResponseBodyCaptured, RequestBodySize, ResponseBodySize,
    DurationMs, ResponseHeadersMs, ResponseFirstChunkMs, ResponseMaxChunkGapMs, Outcome, GenAiProvider, GenAiOperation, GenAiRequestModel, GenAiResponseModel,
    GenAiStreaming, GenAiInputTokens, GenAiOutputTokens, GenAiOutputText, GenAiEventCount, GenAiComplete, Metadata, CapturedBy)
  SELECT ts, lower(concat(substring(h, 1, 8), '-', substring(h, 9, 4), '-7', substring(r, 1, 3), '-8', substring(r, 4, 3), '-', substring(r, 7, 12))),
    concat('req-', toString(n)), lower(hex(cityHash64(n, 't'))), method, 'https', host, path, status,
    map('content-type', 'application/json', 'user-agent', 'bench/1', 'authorization', '[REDACTED len=51 hmac=0123456789ab]', 'x-request-id', concat('req-', toString(n))),
    map('content-type', if(ai, 'text/event-stream', 'application/json'), 'server', 'upstream'),
    'application/json', if(ai, 'text/event-stream', 'application/json'), requestBody, responseBody, true, true, length(requestBody), length(responseBody),
    duration, duration * 0.1, duration * 0.15, duration * 0.05, if(n % 997 = 0, 'response_incomplete', 'complete'),
    if(ai, 'openai', ''), if(ai, 'chat', ''), if(ai, model, ''), if(ai, model, ''), ai, if(ai, 200 + n % 3000, NULL), if(ai, 50 + n % 800, NULL), if(ai, answer, ''), if(ai, 20, 0), ai,
    map('egress_capture.workload.namespace', 'team-' || toString(n % 7), 'egress_capture.workload.name', 'svc-' || toString(n % 23)), 'bench'
  FROM (
    SELECT number + ${offset} AS n,
      fromUnixTimestamp64Milli(toInt64(${nowMs} - (${rows} - 1 - number) * ${stepMs}), 'UTC') AS ts,
      leftPad(hex(toUnixTimestamp64Milli(ts)), 12, '0') AS h, concat(hex(cityHash64(n)), hex(intHash64(n))) AS r,
      ${list(HOSTS)}[1 + n % ${HOSTS.length}] AS host, host IN ('api.openai.com', 'api.anthropic.com', 'generativelanguage.googleapis.com', 'api.mistral.ai') AS ai,
      ${list(MODELS)}[1 + intHash32(n) % ${MODELS.length}] AS model,
      if(n % 5 = 0, 'GET', 'POST') AS method,
      if(ai, '/v1/chat/completions', concat('/v2/items/', toString(n % 5000), '/', ${words}[1 + n % ${WORDS.length}])) AS path,
      multiIf(n % 50 = 0, 500, n % 23 = 0, 429, n % 31 = 0, 404, 200) AS status,
      10 + (cityHash64(n, 'd') % 4000) * if(ai, 1, 0.1) AS duration,
      ${text(18, 'a')} AS answer,
      concat('{"model":"', model, '","stream":true,"messages":[{"role":"user","content":"', ${text(150, 'q')}, if(n % 100000 = 7, ' ${RARE_WORD}', ''), '"}]}') AS requestBody,
      if(ai, concat(arrayStringConcat(arrayMap(w -> concat('data: {"choices":[{"delta":{"content":"', w, '"}}]}\\n\\n'), splitByChar(' ', answer))), 'data: [DONE]\\n\\n'),
         concat('{"id":', toString(n), ',"status":"ok","items":["', ${text(20, 'r')}, '"]}')) AS responseBody
    FROM numbers(${rows})
  )`;
}

const INSERT_COST_ROWS = 100_000;
const INSERT_COST_ROUNDS = 3;

export interface InsertCost {
  rows: number;
  /** Median over the rounds, microseconds per row. */
  withIndexesUs: number;
  withoutIndexesUs: number;
  /** The indexes' share of a part on disk. */
  indexMiB: number;
}

/** INSERT … SELECT of the same rows into the table as declared and into the table without its indexes (see the header). */
async function measureInsertCost(store: EmbeddedStore, rows: number): Promise<InsertCost> {
  const scratch = { with: `${TABLE}_with_indexes`, without: `${TABLE}_without_indexes` };
  const create = (name: string, indexes: readonly string[]): string => createStatements({ ...TABLE_DEFINITION, table: name, indexes }, SINGLE_SERVER_LAYOUT, 0, embeddedTableSettings(DEFAULTS))[0]!;
  const sample = `SELECT * FROM ${TABLE} ORDER BY Timestamp DESC LIMIT ${rows}`;
  const times: Record<keyof typeof scratch, number[]> = { with: [], without: [] };
  let indexMiB = 0;
  for (let round = 0; round < INSERT_COST_ROUNDS; round++) {
    for (const kind of ['without', 'with'] as const) {
      const name = scratch[kind];
      await store.query(`DROP TABLE IF EXISTS ${name} SYNC`, 'TabSeparated');
      await store.query(create(name, kind === 'with' ? TABLE_DEFINITION.indexes : []), 'TabSeparated');
      const t0 = performance.now();
      await store.query(`INSERT INTO ${name} ${sample} SETTINGS max_threads = 1, max_insert_threads = 1`, 'TabSeparated');
      times[kind].push(((performance.now() - t0) * 1000) / rows);
      if (kind === 'with') {
        const size = await store.query(`SELECT sum(secondary_indices_compressed_bytes) FROM system.parts WHERE table = '${name}' AND active`, 'TabSeparated');
        indexMiB = Number(size.trim()) / 1024 / 1024;
      }
      await store.query(`DROP TABLE ${name} SYNC`, 'TabSeparated');
    }
  }
  return { rows, withIndexesUs: quantile(times.with, 0.5), withoutIndexesUs: quantile(times.without, 0.5), indexMiB };
}

interface Timing {
  name: string;
  group: 'list' | 'search' | 'charts';
  p50: number;
  p95: number;
  serverP50: number;
  rows: number;
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};

export async function runBrowserBench(rows: number, log: (line: string) => void): Promise<{ timings: Timing[]; checks: Check[]; seedSeconds: number; storeMiB: number; insertCost: InsertCost }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-browser-bench-'));
  const store = new EmbeddedStore({ dataDir, ttlDays: 0, memory: DEFAULTS });
  await store.open();
  const metrics = new CaptureMetrics();
  const admin = new AdminServer({ host: '127.0.0.1', port: 0, metrics, log: silentLogger(), isReady: () => true, store, clickhouse: adminClickHouse() });
  try {
    const nowMs = Date.now();
    const started = performance.now();
    // In blocks: one statement making a million rows of bodies would hold them all in memory at once.
    const block = 100_000;
    // Evenly spread over the last 24 hours (less a minute, so "24h" holds them all while the bench runs).
    const stepMs = (24 * 3_600_000 - 60_000) / rows;
    for (let offset = 0; offset < rows; offset += block) {
      const count = Math.min(block, rows - offset);
      // Older blocks first; each covers its own slice of the range.
      await store.query(seedStatement(count, nowMs - (rows - offset - count) * stepMs, offset, stepMs), 'TabSeparated');
    }
    await store.query(`OPTIMIZE TABLE ${TABLE} FINAL`, 'TabSeparated').catch(() => undefined);
    const seedSeconds = (performance.now() - started) / 1000;
    const sizes = JSON.parse((await store.query(`SELECT sum(bytes_on_disk) AS b, sum(rows) AS r FROM system.parts WHERE table = '${TABLE}' AND active`, 'JSONEachRow')).trim()) as {
      b: string;
      r: string;
    };
    const storeMiB = Number(sizes.b) / 1024 / 1024;
    log(`  ${Number(sizes.r).toLocaleString('en-US')} rows seeded in ${seedSeconds.toFixed(1)} s, ${storeMiB.toFixed(0)} MiB on disk`);
    const insertCost = await measureInsertCost(store, Math.min(INSERT_COST_ROWS, rows));
    log(
      `  insert of ${insertCost.rows.toLocaleString('en-US')} rows (one thread, median of ${INSERT_COST_ROUNDS}): ${insertCost.withoutIndexesUs.toFixed(1)} us/row without the indexes, ${insertCost.withIndexesUs.toFixed(1)} us/row with them (+${(insertCost.withIndexesUs - insertCost.withoutIndexesUs).toFixed(1)}), indexes ${insertCost.indexMiB.toFixed(1)} MiB`,
    );

    const port = await admin.listen();
    const base = `http://127.0.0.1:${port}`;
    const first = (await (await fetch(`${base}/api/exchanges?limit=100`)).json()) as { exchanges: Array<{ CaptureId: string }>; next: string };
    const someId = first.exchanges[50]!.CaptureId;
    const queries: Array<{ name: string; group: Timing['group']; path: string }> = [
      { name: 'list, newest 100 (24 h)', group: 'list', path: '/api/exchanges?range=24h' },
      { name: 'list, next page', group: 'list', path: `/api/exchanges?range=24h&cursor=${first.next}` },
      { name: 'list, authority', group: 'list', path: '/api/exchanges?range=24h&authority=api.stripe.com' },
      { name: 'list, status 5xx', group: 'list', path: '/api/exchanges?range=24h&status=5xx' },
      { name: 'list, errors only', group: 'list', path: '/api/exchanges?range=24h&errors=1' },
      { name: 'list, model', group: 'list', path: '/api/exchanges?range=24h&model=gpt-4o' },
      { name: 'list, workload', group: 'list', path: '/api/exchanges?range=24h&workload=team-3/svc-5' },
      { name: 'list, request id', group: 'list', path: '/api/exchanges?range=24h&requestId=req-424242' },
      { name: 'one exchange', group: 'list', path: `/api/exchanges/${someId}` },
      { name: 'filter menus (facets)', group: 'list', path: '/api/facets?range=24h' },
      { name: 'search, common word (24 h)', group: 'search', path: '/api/exchanges?range=24h&q=invoice' },
      { name: `search, rare word (24 h)`, group: 'search', path: `/api/exchanges?range=24h&q=${RARE_WORD}` },
      { name: 'search, absent word (24 h)', group: 'search', path: `/api/exchanges?range=24h&q=${MISSING_WORD}` },
      { name: 'charts, 24 h', group: 'charts', path: '/api/charts?range=24h' },
      { name: 'charts, 1 h', group: 'charts', path: '/api/charts?range=1h' },
    ];
    const timings: Timing[] = [];
    for (const query of queries) {
      const wall: number[] = [];
      const server: number[] = [];
      let count = 0;
      for (let i = 0; i < WARMUP + RUNS; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}${query.path}`);
        const body = (await res.json()) as { exchanges?: unknown[]; serverMs?: number; error?: string };
        const elapsed = performance.now() - t0;
        if (!res.ok) throw new Error(`${query.path}: ${res.status} ${body.error ?? ''}`);
        if (i < WARMUP) continue;
        wall.push(elapsed);
        // Only the list reports the engine's own time (ClickHouse's statistics.elapsed).
        server.push(body.serverMs ?? Number.NaN);
        count = body.exchanges?.length ?? 1;
      }
      const timing = { name: query.name, group: query.group, p50: quantile(wall, 0.5), p95: quantile(wall, 0.95), serverP50: quantile(server, 0.5), rows: count };
      timings.push(timing);
      log(`  ${timing.name}: p50 ${timing.p50.toFixed(0)} ms, p95 ${timing.p95.toFixed(0)} ms${Number.isNaN(timing.serverP50) ? '' : ` (engine ${timing.serverP50.toFixed(0)} ms)`}, ${count} rows`);
    }
    const worst = (group: Timing['group']): Timing => timings.filter((t) => t.group === group).sort((a, b) => b.p95 - a.p95)[0]!;
    const checks = [
      check(`list and filters p95 (worst: ${worst('list').name})`, worst('list').p95 <= BROWSER_TARGETS.listP95Ms, `${worst('list').p95.toFixed(0)} ms`, `≤ ${BROWSER_TARGETS.listP95Ms} ms`),
      check(
        `body search over 24 h p95 (worst: ${worst('search').name})`,
        worst('search').p95 <= BROWSER_TARGETS.searchP95Ms,
        `${worst('search').p95.toFixed(0)} ms`,
        `≤ ${BROWSER_TARGETS.searchP95Ms} ms`,
      ),
      check(`charts p95 (worst: ${worst('charts').name})`, worst('charts').p95 <= BROWSER_TARGETS.chartsP95Ms, `${worst('charts').p95.toFixed(0)} ms`, `≤ ${BROWSER_TARGETS.chartsP95Ms} ms`),
    ];
    log('');
    log(
      table(
        ['query', 'p50 ms', 'p95 ms', 'engine p50 ms'],
        timings.map((t) => [t.name, Math.round(t.p50), Math.round(t.p95), Number.isNaN(t.serverP50) ? '-' : Math.round(t.serverP50)]),
      ),
    );
    return { timings, checks, seedSeconds, storeMiB, insertCost };
  } finally {
    await admin.close();
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
