/**
 * kill -9 under load, then a restart on the same data directory (the real
 * service in child processes, the real embedded ClickHouse):
 *   - every exchange that reached the spool before the kill is in ClickHouse
 *     exactly once after the restart (count() = uniqExact(CaptureId), and every
 *     request id found in the spool files is there);
 *   - exchanges acknowledged as spooled before the kill (status said so) are all there;
 *   - the restarted server's counters add up (captured = delivered + pending + dropped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanSegment, RECORD_HEADER_BYTES } from '../../src/spool/record-format';
import type { DeliveryStatus } from '../../src/sinks/delivery/delivery-hub';
import { exchange, headers, rawClient } from '../support/raw-extproc-client';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'egress-capture.js');
const AUTHORITY = 'kill.test';

interface Server {
  child: ChildProcess;
  grpc: string;
  admin: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

async function startServer(dataDir: string): Promise<Server> {
  for (let attempt = 0; ; attempt++) {
    const grpcPort = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${grpcPort}`, '--admin-listen', `127.0.0.1:${grpcPort + 1}`, '--batch-max-delay-ms', '300', '--batch-max-rows', '200', '--log-level', 'warn'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('serving on node') && child.exitCode === null && Date.now() < deadline) await sleep(50);
    if (stderr.includes('serving on node')) return { child, grpc: `127.0.0.1:${grpcPort}`, admin: `http://127.0.0.1:${grpcPort + 1}`, exited, stderr: () => stderr };
    child.kill('SIGKILL');
    await exited;
    if (attempt >= 2 || !/BIND/.test(stderr)) throw new Error(`server did not start:\n${stderr}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function status(admin: string): Promise<DeliveryStatus> {
  return (await (await fetch(`${admin}/status`)).json()) as DeliveryStatus;
}

async function query<T>(admin: string, sql: string): Promise<T[]> {
  const text = await (await fetch(`${admin}/query`, { method: 'POST', body: sql })).text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

function oneExchange(client: ReturnType<typeof rawClient>, requestId: string): Promise<unknown> {
  return exchange(client, [
    { request_headers: { headers: headers([[':method', 'POST'], [':path', `/k/${requestId}`], [':authority', AUTHORITY], ['x-request-id', requestId]]), end_of_stream: true }, metadata_context: {} },
    { response_headers: { headers: headers([[':status', '200']]), end_of_stream: true }, metadata_context: {} },
  ]);
}

/** Request ids of every whole record in the spool files (what "reached the spool" and is not yet deleted as delivered). */
function spooledRequestIds(dataDir: string): Set<string> {
  const dir = path.join(dataDir, 'spool');
  const ids = new Set<string>();
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.seg')) continue;
    const buffer = fs.readFileSync(path.join(dir, name));
    const scan = scanSegment(buffer);
    if (scan === undefined) continue;
    scan.offsets.forEach((offset, i) => {
      const start = offset + RECORD_HEADER_BYTES;
      const row = JSON.parse(buffer.subarray(start, start + scan.lengths[i]!).toString('utf8')) as { RequestId: string };
      ids.add(row.RequestId);
    });
  }
  return ids;
}

test('kill -9 under load, restart: everything that reached the spool is in ClickHouse exactly once; counters add up', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-kill-'));
  let first: Server | undefined;
  let second: Server | undefined;
  try {
    first = await startServer(dataDir);
    const client = rawClient(first.grpc);

    // Phase 1: 100 exchanges the server reports as captured (spooled) before the kill.
    for (let i = 0; i < 100; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => oneExchange(client, `kill-${i + k}`)));
    const confirmDeadline = Date.now() + 10_000;
    while ((await status(first.admin)).sinks[0]!.captured < 100 && Date.now() < confirmDeadline) await sleep(50);
    expect((await status(first.admin)).sinks[0]!.captured).toBeGreaterThanOrEqual(100);

    // Phase 2: continuous load from 20 concurrent callers, SIGKILL in the middle of it.
    let next = 100;
    let running = true;
    const callers = Array.from({ length: 20 }, async () => {
      while (running) await oneExchange(client, `kill-${next++}`).catch(() => undefined);
    });
    await sleep(1500);
    first.child.kill('SIGKILL');
    await first.exited;
    running = false;
    await Promise.all(callers);
    client.close();
    const sent = next;

    const spooled = spooledRequestIds(dataDir);
    expect(spooled.size).toBeGreaterThan(0);

    second = await startServer(dataDir);
    const drainDeadline = Date.now() + 30_000;
    let after = await status(second.admin);
    while (after.sinks[0]!.pending > 0 && Date.now() < drainDeadline) {
      await sleep(100);
      after = await status(second.admin);
    }
    const sink = after.sinks.find((s) => s.sink === 'clickhouse')!;
    // The restart found undelivered records and delivered them; nothing unaccounted.
    expect(sink.recovered).toBeGreaterThan(0);
    expect(sink.pending).toBe(0);
    expect(after.balanced).toBe(true);
    expect(sink.captured).toBe(sink.delivered + Object.values(sink.dropped).reduce((a, b) => a + b, 0));
    expect(Object.keys(sink.dropped).filter((reason) => reason !== 'spool_torn_tail')).toEqual([]);

    const [totals] = await query<{ n: string | number; distinct: string | number }>(
      second.admin,
      `SELECT count() AS n, uniqExact(CaptureId) AS distinct FROM http_exchanges WHERE Authority = '${AUTHORITY}'`,
    );
    expect(Number(totals!.n)).toBe(Number(totals!.distinct));
    const stored = new Set((await query<{ RequestId: string }>(second.admin, `SELECT RequestId FROM http_exchanges WHERE Authority = '${AUTHORITY}'`)).map((row) => row.RequestId));
    for (let i = 0; i < 100; i++) expect(stored.has(`kill-${i}`)).toBe(true);
    const missing = [...spooled].filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect(stored.size).toBeLessThanOrEqual(sent);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  } finally {
    for (const server of [first, second]) if (server !== undefined && server.child.exitCode === null) server.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);
