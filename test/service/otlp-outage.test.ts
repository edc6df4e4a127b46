/**
 * The OTLP sink behind the spool, against a receiver written here (plain
 * node:http, JSON-encoded OTLP decoded by hand, gzip undone with zlib):
 *   - the receiver answers 503 for 30 s, then 200: every record arrives, none
 *     twice, and ClickHouse kept storing the whole time (a dead sink never
 *     blocks the other one);
 *   - 429 with Retry-After: the next attempt waits at least that long;
 *   - `egress-capture replay --since -1h` re-exports what ClickHouse holds.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rawClient } from '../support/raw-extproc-client';
import { OTLP_JSON_ENV as OTLP_ENV, startReceiver, type Receiver, writeOtlpGateway } from './otlp-receiver';
import { BIN, REPO_ROOT, adminQuery, serviceStatus, simpleExchange, sleep, startService, type ServiceProcess } from './service-process';

const AUTHORITY = 'otlp.test';

let receiver: Receiver;
let dataDir: string;
let service: ServiceProcess;
let client: ReturnType<typeof rawClient>;

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-otlp-'));
  const gateway = writeOtlpGateway(dataDir, receiver.url);
  service = await startService(path.join(dataDir, 'data'), ['--gateway', gateway, '--batch-max-delay-ms', '50'], OTLP_ENV);
  client = rawClient(service.grpc);
});

afterAll(async () => {
  client?.close();
  if (service !== undefined && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  await receiver.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function send(prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 10) await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, k) => simpleExchange(client, AUTHORITY, `${prefix}-${i + k}`)));
}

/** Capture ids stored in ClickHouse for `prefix`, once the ClickHouse sink has caught up. */
async function storedIds(prefix: string, expected: number): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await adminQuery<{ CaptureId: string }>(service.admin, `SELECT CaptureId FROM http_exchanges WHERE startsWith(RequestId, '${prefix}-')`);
    if (rows.length >= expected || Date.now() > deadline) return rows.map((row) => row.CaptureId);
    await sleep(50);
  }
}

async function otlpSink(): Promise<{ pending: number; captured: number; delivered: number; dropped: Record<string, number> }> {
  const status = await serviceStatus(service.admin);
  return status.sinks.find((sink) => sink.sink === 'otlp')!;
}

async function otlpDrained(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await otlpSink()).pending > 0 && Date.now() < deadline) await sleep(100);
}

test('receiver down for 30 s, then up: every record arrives once, and ClickHouse was never held back', async () => {
  receiver.respond(503);
  const started = Date.now();
  await send('down', 50);
  // ClickHouse has everything while the OTLP receiver is still refusing.
  const stored = await storedIds('down', 50);
  expect(stored).toHaveLength(50);
  expect(Date.now() - started).toBeLessThan(20_000);
  expect(receiver.ids).toHaveLength(0);
  expect(await otlpSink()).toMatchObject({ pending: 50 });

  await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 30_000 - Date.now())));
  receiver.respond(200);
  await otlpDrained(14_000);
  expect(receiver.ids.filter((id) => stored.includes(id)).sort()).toEqual([...stored].sort());
  expect(new Set(receiver.ids).size).toBe(receiver.ids.length); // none twice
  expect(receiver.requests.some((request) => request.status === 503)).toBe(true);
  const status = await serviceStatus(service.admin);
  expect(status.balanced).toBe(true);
  expect(status.sinks.find((sink) => sink.sink === 'otlp')).toMatchObject({ pending: 0, captured: 50, delivered: 50, dropped: {} });
}, 45_000);

test('429 with Retry-After: 2 is honoured before the next attempt', async () => {
  receiver.respond(429, { 'retry-after': '2' });
  const before = receiver.requests.length;
  await send('throttled', 5);
  const deadline = Date.now() + 5000;
  while (receiver.requests.length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const throttledAt = receiver.requests[before]!.at;
  receiver.respond(200);
  await otlpDrained(10_000);
  const retry = receiver.requests.slice(before).find((request) => request.status === 200)!;
  expect(retry.at - throttledAt).toBeGreaterThanOrEqual(1900);
  const stored = await storedIds('throttled', 5);
  expect(stored).toHaveLength(5);
  expect(stored.every((id) => receiver.ids.includes(id))).toBe(true);
}, 30_000);

test('egress-capture replay --since -1h re-exports what ClickHouse holds', async () => {
  const already = receiver.ids.length;
  // Asynchronous: the receiver answers from this process's event loop.
  const child = spawn(process.execPath, [BIN, 'replay', '--since', '-1h', '--admin', service.admin, '--endpoint', receiver.url, '--batch-rows', '20'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...OTLP_ENV },
  });
  const result = { stdout: '', stderr: '', status: null as number | null };
  child.stdout.on('data', (chunk: Buffer) => (result.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  result.status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const replayed = receiver.ids.slice(already);
  expect(replayed).toHaveLength(55);
  expect(new Set(replayed).size).toBe(55);
  expect(result.stdout).toContain('replayed 55 exchange(s) in 3 batch(es)');
}, 40_000);
