/**
 * The ClickHouse sink through outages, with the real embedded store behind
 * the spool: records captured while the store is down wait in the spool and
 * land exactly once when it comes back; a write whose acknowledgement was
 * lost is re-sent with the same batch id and deduplicated; after a crash
 * with a batch in flight, a new process re-sends that batch under the same
 * id and ClickHouse keeps one copy.
 */
import { DEFAULTS } from '../../src/config/defaults';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CaptureError } from '../../src/errors';
import { configWith, type RuntimeConfig } from '../../src/config/runtime-config';
import { silentLogger } from '../../src/logger';
import { CaptureMetrics } from '../../src/metrics';
import { EmbeddedStore, INSERT_STAGING_DIR } from '../../src/sinks/clickhouse/embedded-store';
import { DeliveryHub } from '../../src/sinks/delivery/delivery-hub';
import type { RowBatch, Sink, WriteResult } from '../../src/sinks/sink';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-outage-'));
// chdb: one data directory per process, shared by every test in this file (each uses its own Authority).
const store = new EmbeddedStore({ dataDir: path.join(root, 'chdb'), ttlDays: 0, memory: DEFAULTS });

beforeAll(async () => {
  await store.open();
});
afterAll(async () => {
  await store.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function config(name: string): RuntimeConfig {
  return configWith({ dataDir: path.join(root, name), batchMaxRows: 50, batchMaxDelayMs: 50 });
}

function row(authority: string, i: number): string {
  return JSON.stringify({ Timestamp: '2026-03-01 12:00:00.000000000', CaptureId: `${authority}-${i}`, Authority: authority, Path: `/r/${i}`, RequestBody: `{"i":${i}}` }) + '\n';
}

async function counts(authority: string): Promise<{ n: number; distinct: number }> {
  const text = await store.query(`SELECT count() AS n, uniqExact(CaptureId) AS distinct FROM http_exchanges WHERE Authority = '${authority}'`);
  const parsed = JSON.parse(text.trim()) as { n: string | number; distinct: string | number };
  return { n: Number(parsed.n), distinct: Number(parsed.distinct) };
}

/** The real store behind a switch: "down" fails every write, "ack-lost" stores the batch but reports a failure. */
class FlakySink implements Sink {
  readonly name = 'chdb';
  mode: 'up' | 'down' | 'ack-lost' | 'hang-after-write' = 'up';
  failures = 0;
  readonly batchIds: string[] = [];
  constructor(private readonly inner: Sink) {}
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async write(batch: RowBatch): Promise<WriteResult> {
    this.batchIds.push(batch.batchId);
    if (this.mode === 'down') {
      this.failures += 1;
      return { ok: false, retryable: true, error: new Error('connection refused (test outage)') };
    }
    const result = await this.inner.write(batch);
    if (this.mode === 'ack-lost' && result.ok) {
      this.failures += 1;
      return { ok: false, retryable: true, error: new Error('timeout after the insert (test)') };
    }
    if (this.mode === 'hang-after-write') return new Promise<WriteResult>(() => undefined); // the process "dies" here
    return result;
  }
}

test('ClickHouse down for 3 s while records keep coming: every record lands exactly once, counters add up', async () => {
  const authority = 'outage.test';
  const metrics = new CaptureMetrics({ processMetrics: false });
  const hub = DeliveryHub.open(config('outage'), silentLogger(), metrics);
  const sink = new FlakySink(store);
  hub.addSink('clickhouse', sink);
  hub.start();
  sink.mode = 'down';
  const upAt = Date.now() + 3000;
  let i = 0;
  while (Date.now() < upAt) {
    for (let k = 0; k < 20; k++) hub.append(row(authority, i++));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const during = hub.status().sinks[0]!;
  expect(during.delivered).toBe(0);
  expect(during.pending).toBe(i);
  expect(during.lastError).toContain('test outage');
  sink.mode = 'up';
  for (let k = 0; k < 100; k++) hub.append(row(authority, i++));
  await hub.flush();
  expect(await counts(authority)).toEqual({ n: i, distinct: i });
  const status = hub.status();
  expect(status.sinks[0]).toMatchObject({ sink: 'clickhouse', captured: i, delivered: i, pending: 0, dropped: {}, unaccounted: 0 });
  expect(status.balanced).toBe(true);
  expect(sink.failures).toBeGreaterThanOrEqual(3); // retried with backoff, not once
  const exposition = await metrics.exposition();
  expect(exposition).toContain(`egress_capture_sink_records_total{sink="clickhouse",state="delivered"} ${i}`);
  expect(exposition).toContain('egress_capture_sink_pending_records{sink="clickhouse"} 0');
  // One name per sink on every metric: the delivery's, not the store kind ("chdb").
  expect(exposition).toContain(`egress_capture_rows_written_total{sink="clickhouse"} ${i}`);
  expect(exposition).toMatch(/egress_capture_batch_write_seconds_count\{sink="clickhouse"\} [1-9]/);
  await hub.stop(1000);
}, 30_000);

test('a batch stored but not acknowledged is re-sent with the same id and stored once', async () => {
  const authority = 'acklost.test';
  const hub = DeliveryHub.open(config('acklost'), silentLogger(), new CaptureMetrics({ processMetrics: false }));
  const sink = new FlakySink(store);
  hub.addSink('clickhouse', sink);
  hub.start();
  sink.mode = 'ack-lost';
  for (let i = 0; i < 120; i++) hub.append(row(authority, i));
  await new Promise((resolve) => setTimeout(resolve, 400));
  sink.mode = 'up';
  await hub.flush();
  expect(sink.failures).toBeGreaterThan(0);
  // The retried ids repeat: the same batch went twice (or more), ClickHouse kept it once.
  expect(new Set(sink.batchIds).size).toBeLessThan(sink.batchIds.length);
  expect(await counts(authority)).toEqual({ n: 120, distinct: 120 });
  await hub.stop(1000);
}, 30_000);

test('a crash with a batch in flight: the next process re-sends the same batch id, ClickHouse keeps one copy', async () => {
  const authority = 'crash.test';
  const cfg = config('crash');
  const first = DeliveryHub.open(cfg, silentLogger(), new CaptureMetrics({ processMetrics: false }));
  const dying = new FlakySink(store);
  dying.mode = 'hang-after-write';
  first.addSink('clickhouse', dying);
  first.start();
  for (let i = 0; i < 30; i++) first.append(row(authority, i));
  // The first batch reaches ClickHouse; its acknowledgement never comes (the process is gone).
  const deadline = Date.now() + 10_000;
  while ((await counts(authority)).n === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect((await counts(authority)).n).toBe(30);
  for (let i = 30; i < 60; i++) first.append(row(authority, i));
  first.spool.sync(); // what the OS would hold after kill -9 (the appends were written)

  // "Restart": a new spool and loop on the same directory (the old objects are abandoned, as after kill -9).
  const second = DeliveryHub.open(cfg, silentLogger(), new CaptureMetrics({ processMetrics: false }));
  const revived = new FlakySink(store);
  second.addSink('clickhouse', revived);
  second.start();
  await second.flush();
  expect(revived.batchIds[0]).toBe(dying.batchIds[0]);
  expect(await counts(authority)).toEqual({ n: 60, distinct: 60 });
  const status = second.status().sinks[0]!;
  expect(status).toMatchObject({ captured: 60, recovered: 60, delivered: 60, pending: 0, unaccounted: 0 });
  await second.stop(1000);
}, 30_000);

test('the embedded store inserts each batch from a staging file and removes it, also when ClickHouse rejects the batch', async () => {
  const authority = 'staging.test';
  const stagingDir = path.join(root, 'chdb', INSERT_STAGING_DIR);
  const lines = [row(authority, 0), row(authority, 1)].map((line) => Buffer.from(line, 'utf8'));
  const good: RowBatch = { lines, jsonEachRow: lines.join(''), rowCount: 2, byteLength: lines[0]!.length + lines[1]!.length, batchId: "staging-1-'quoted'" };
  expect(await store.write(good)).toEqual({ ok: true });
  expect(await counts(authority)).toEqual({ n: 2, distinct: 2 });
  expect(fs.readdirSync(stagingDir)).toEqual([]);

  const broken = Buffer.from('{"CaptureId": "staging-bad", "Authority": \n', 'utf8');
  const result = await store.write({ lines: [broken], jsonEachRow: broken.toString(), rowCount: 1, byteLength: broken.length, batchId: 'staging-2' });
  expect(result.ok).toBe(false);
  expect(result.ok === false && (result.error as CaptureError).code).toBe('CAP_ERR_STORE_WRITE');
  expect(result.ok === false && result.error.message).toMatch(/parse|JSON/i);
  expect(fs.readdirSync(stagingDir)).toEqual([]);
  expect(await counts(authority)).toEqual({ n: 2, distinct: 2 });
});
