/**
 * kill -9 under load, then a restart on the same data directory (the real
 * service in child processes, the real embedded ClickHouse):
 *   - every exchange that reached the spool before the kill is in ClickHouse
 *     exactly once after the restart (count() = uniqExact(CaptureId), and every
 *     request id found in the spool files is there);
 *   - exchanges acknowledged as spooled before the kill (status said so) are all there;
 *   - the OTLP receiver got every one of them at least once; duplicates are only
 *     what was in flight at the kill (at most one batch), and each carries the
 *     same egress_capture.capture_id, so the receiver can tell;
 *   - the restarted server's counters add up (captured = delivered + pending + dropped);
 *   - a burst from four clients, killed right after 100 exchanges were
 *     acknowledged (rows still with the workers): every exchange the server
 *     acknowledged is stored after the restart — rebuilt without bodies from the
 *     in-flight journal (note lost_in_crash) if its row never reached the spool —
 *     or counted as dropped with a reason; none twice.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { extProcClientConstructor } from '../../src/extproc/wire/protocol';
import { LOST_IN_CRASH } from '../../src/processing/inflight-entry';
import { inflightDir, type DeliveryStatus } from '../../src/sinks/delivery/delivery-hub';
import { scanSegment, RECORD_HEADER_BYTES } from '../../src/spool/record-format';
import { rawClient } from '../support/raw-extproc-client';
import { OTLP_JSON_ENV, startReceiver, writeOtlpGateway, type Receiver } from './otlp-receiver';
import { adminQuery as query, BIN, serviceStatus as status, simpleExchange, sleep, startService, type ServiceProcess as Server } from './service-process';

const AUTHORITY = 'kill.test';
const BATCH_MAX_ROWS = 200;
const SERVE_ARGS = ['--batch-max-delay-ms', '300', '--batch-max-rows', String(BATCH_MAX_ROWS)];

function startServer(dataDir: string, gateway: string): Promise<Server> {
  return startService(dataDir, [...SERVE_ARGS, '--gateway', gateway], OTLP_JSON_ENV);
}

function oneExchange(client: ReturnType<typeof rawClient>, requestId: string): Promise<unknown> {
  return simpleExchange(client, AUTHORITY, requestId);
}

/** The status once no sink has anything pending (or after 30 s). */
async function statusOnceDelivered(admin: string): Promise<DeliveryStatus> {
  const deadline = Date.now() + 30_000;
  let current = await status(admin);
  while (current.sinks.some((s) => s.pending > 0) && Date.now() < deadline) {
    await sleep(100);
    current = await status(admin);
  }
  return current;
}

/** The server answered both messages and ended the call with OK: as far as Envoy knows, the exchange is done. */
function acknowledged(result: unknown): boolean {
  const { replies, status } = result as { replies: unknown[]; status: grpc.StatusObject | undefined };
  return status?.code === grpc.status.OK && replies.length === 2;
}

/** A client on its own HTTP/2 connection (grpc-js would otherwise share one between clients of the same address). */
function separateClient(address: string): ReturnType<typeof rawClient> {
  const Client = extProcClientConstructor();
  return new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as ReturnType<typeof rawClient>;
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
  const receiver: Receiver = await startReceiver();
  const gatewayDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-kill-gateway-'));
  const gateway = writeOtlpGateway(gatewayDir, receiver.url);
  let first: Server | undefined;
  let second: Server | undefined;
  try {
    first = await startServer(dataDir, gateway);
    const client = rawClient(first.grpc);

    // Phase 1: 100 exchanges the server reports as captured (spooled) before the kill.
    for (let i = 0; i < 100; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => oneExchange(client, `kill-${i + k}`)));
    const confirmDeadline = Date.now() + 10_000;
    while ((await status(first.admin)).sinks[0]!.captured < 100 && Date.now() < confirmDeadline) await sleep(50);
    expect((await status(first.admin)).sinks[0]!.captured).toBeGreaterThanOrEqual(100);

    // Phase 2: continuous load from 20 concurrent callers, SIGKILL in the middle of it.
    let next = 100;
    let running = true;
    const acknowledgedIds: string[] = [];
    const callers = Array.from({ length: 20 }, async () => {
      while (running) {
        const id = `kill-${next++}`;
        if (acknowledged(await oneExchange(client, id).catch(() => undefined))) acknowledgedIds.push(id);
      }
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

    second = await startServer(dataDir, gateway);
    const after = await statusOnceDelivered(second.admin);
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
    // Including those whose rows were still with the workers at the kill.
    expect(acknowledgedIds.filter((id) => !stored.has(id))).toEqual([]);
    expect(stored.size).toBeLessThanOrEqual(sent);

    // OTLP: every stored exchange reached the receiver at least once.
    const otlp = after.sinks.find((s) => s.sink === 'otlp')!;
    expect(otlp.pending).toBe(0);
    expect(otlp.captured).toBe(otlp.delivered + Object.values(otlp.dropped).reduce((a, b) => a + b, 0));
    const storedCaptureIds = (await query<{ CaptureId: string }>(second.admin, `SELECT CaptureId FROM http_exchanges WHERE Authority = '${AUTHORITY}'`)).map((row) => row.CaptureId);
    const received = new Set(receiver.ids);
    expect(storedCaptureIds.filter((id) => !received.has(id))).toEqual([]);
    // Duplicates: only the batch that was in flight at the kill, recognisable by capture id.
    expect(receiver.ids.length - received.size).toBeLessThanOrEqual(BATCH_MAX_ROWS);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  } finally {
    for (const server of [first, second]) if (server !== undefined && server.child.exitCode === null) server.child.kill('SIGKILL');
    await receiver.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(gatewayDir, { recursive: true, force: true });
  }
}, 300_000);

test('a burst from four clients, kill -9 once 100 are acknowledged: every acknowledged exchange is stored or counted as dropped, none twice', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-kill-burst-'));
  const authority = 'burst.test';
  let first: Server | undefined;
  let second: Server | undefined;
  const clients: Array<ReturnType<typeof rawClient>> = [];
  try {
    first = await startService(dataDir, SERVE_ARGS);
    // Warm: workers started and compiled, as in a service that has been running.
    const warm = rawClient(first.grpc);
    await Promise.all(Array.from({ length: 50 }, (_, i) => simpleExchange(warm, 'warm.test', `warm-${i}`)));
    warm.close();
    const warmDeadline = Date.now() + 10_000;
    while ((await status(first.admin)).sinks[0]!.captured < 50 && Date.now() < warmDeadline) await sleep(50);

    // 200 exchanges, 50 from each of 4 clients, all at once; SIGKILL as soon as 100 are acknowledged.
    const server = first;
    const acknowledgedIds: string[] = [];
    let killed = false;
    const burst: Array<Promise<void>> = [];
    for (let c = 0; c < 4; c++) {
      const client = separateClient(server.grpc);
      clients.push(client);
      for (let i = 0; i < 50; i++) {
        const id = `burst-${c}-${i}`;
        burst.push(
          simpleExchange(client, authority, id).then((result) => {
            if (!acknowledged(result)) return;
            acknowledgedIds.push(id);
            if (acknowledgedIds.length >= 100 && !killed) {
              killed = true;
              server.child.kill('SIGKILL');
            }
          }),
        );
      }
    }
    await Promise.all(burst);
    await server.exited;
    for (const client of clients) client.close();
    expect(killed).toBe(true);

    second = await startService(dataDir, SERVE_ARGS);
    const after = await statusOnceDelivered(second.admin);
    const sink = after.sinks.find((s) => s.sink === 'clickhouse')!;
    expect(sink.pending).toBe(0);
    expect(after.balanced).toBe(true);

    const rows = await query<{ RequestId: string; CaptureId: string; ResponseBodyNote: string; StatusCode: number }>(
      second.admin,
      `SELECT RequestId, CaptureId, ResponseBodyNote, StatusCode FROM http_exchanges WHERE Authority = '${authority}'`,
    );
    const stored = new Set(rows.map((row) => row.RequestId));
    // None twice: a row that reached the spool before the kill is never rebuilt as well.
    expect(rows.length).toBe(stored.size);
    expect(new Set(rows.map((row) => row.CaptureId)).size).toBe(rows.length);
    // Every acknowledged exchange is there. (A drop counted with its reason would
    // also be honest, but nothing here should need one: a row torn in the spool by
    // the kill is rebuilt from the journal, its torn copy counted as spool_torn_tail.)
    expect(acknowledgedIds.filter((id) => !stored.has(id))).toEqual([]);
    expect(Object.keys(sink.dropped).filter((reason) => reason !== 'spool_torn_tail')).toEqual([]);
    // The rebuilt ones say so, with what identifies them, and the status counts them.
    const rebuilt = rows.filter((row) => row.ResponseBodyNote === LOST_IN_CRASH);
    expect(rebuilt.length).toBe(after.inflight.recovery.rebuilt);
    for (const row of rebuilt) expect(Number(row.StatusCode)).toBe(200);
    // `egress-capture status`, as an operator reads it after the restart, says what the kill cost.
    const shown = spawnSync(process.execPath, [BIN, 'status', '--admin', second.admin], { encoding: 'utf8' }).stdout;
    const crash = after.inflight.recovery;
    if (crash.unfinished > 0) expect(shown).toContain(`crash    ${crash.unfinished} exchange(s) in flight at the last kill: ${crash.rebuilt} rebuilt without bodies (lost_in_crash)`);
    else expect(shown).not.toContain('crash ');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // A clean stop leaves nothing in flight.
    expect(fs.readdirSync(inflightDir(dataDir)).filter((name) => name.endsWith('.jnl'))).toEqual([]);
  } finally {
    for (const client of clients) client.close();
    for (const server of [first, second]) if (server !== undefined && server.child.exitCode === null) server.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 300_000);
