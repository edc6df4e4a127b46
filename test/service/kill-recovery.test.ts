/**
 * kill -9 under load, then a restart on the same data directory (the real
 * service in child processes, the real embedded ClickHouse):
 *   - every exchange that reached the spool before the kill is in ClickHouse
 *     exactly once after the restart (count() = uniqExact(CaptureId), and every
 *     request id found in the spool files is there);
 *   - exchanges acknowledged as spooled before the kill (status said so) are all there;
 *   - the restarted server's counters add up (captured = delivered + pending + dropped).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanSegment, RECORD_HEADER_BYTES } from '../../src/spool/record-format';
import { rawClient } from '../support/raw-extproc-client';
import { adminQuery as query, serviceStatus as status, simpleExchange, sleep, startService, type ServiceProcess as Server } from './service-process';

const AUTHORITY = 'kill.test';
const SERVE_ARGS = ['--batch-max-delay-ms', '300', '--batch-max-rows', '200'];

function startServer(dataDir: string): Promise<Server> {
  return startService(dataDir, SERVE_ARGS);
}

function oneExchange(client: ReturnType<typeof rawClient>, requestId: string): Promise<unknown> {
  return simpleExchange(client, AUTHORITY, requestId);
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
