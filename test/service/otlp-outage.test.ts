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
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { rawClient } from '../support/raw-extproc-client';
import { BIN, REPO_ROOT, adminQuery, serviceStatus, simpleExchange, sleep, startService, type ServiceProcess } from './service-process';

// JSON encoding, so this test decodes requests without protos (gzip is undone with zlib).
const OTLP_ENV = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
const AUTHORITY = 'otlp.test';

interface Receiver {
  url: string;
  ids: string[];
  /** Arrival time and status of every request. */
  requests: Array<{ at: number; status: number }>;
  respond: (status: number, headers?: Record<string, string>) => void;
  close: () => Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  let next: { status: number; headers: Record<string, string> } = { status: 200, headers: {} };
  const receiver: Omit<Receiver, 'url' | 'close'> = {
    ids: [],
    requests: [],
    respond: (status, extra = {}) => {
      next = { status, headers: extra };
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { status, headers: extra } = next;
      receiver.requests.push({ at: Date.now(), status });
      if (status === 200) {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const decoded = JSON.parse(body.toString('utf8')) as {
          resourceLogs: Array<{ scopeLogs: Array<{ logRecords: Array<{ attributes: Array<{ key: string; value: { stringValue?: string } }> }> }> }>;
        };
        for (const resourceLogs of decoded.resourceLogs) {
          for (const scopeLogs of resourceLogs.scopeLogs) {
            for (const record of scopeLogs.logRecords) {
              const id = record.attributes.find((attribute) => attribute.key === 'egress_capture.capture_id')?.value.stringValue;
              if (id !== undefined) receiver.ids.push(id);
            }
          }
        }
      }
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(status === 200 ? '{}' : '{"code":14,"message":"unavailable"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    ...receiver,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as Receiver;
}

let receiver: Receiver;
let dataDir: string;
let service: ServiceProcess;
let client: ReturnType<typeof rawClient>;

beforeAll(async () => {
  receiver = await startReceiver();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-otlp-'));
  const gateway = path.join(dataDir, 'gateway.yaml');
  fs.writeFileSync(
    gateway,
    ['apiVersion: clrk.apoxy.dev/v1alpha1', 'kind: EgressGateway', 'metadata:', '  name: otlp-test', '  namespace: default', 'spec:', '  defaultPolicy: allow-all', '  listeners:', '  - name: proxy', '    protocol: HTTP', '    port: 3128', '  otlp:', `    endpoint: ${receiver.url}`, ''].join('\n'),
  );
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
