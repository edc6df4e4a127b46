/**
 * Three capture replicas writing to one remote ClickHouse, as the replicated
 * Helm/kustomize mode runs them: each `serve` has its own data directory
 * (spool) and pod name, all point --clickhouse-url at the same server — a
 * fourth `serve`'s admin ClickHouse interface over its embedded store, the
 * stand-in server the remote-store tests use. The Envoy emulator spreads
 * realistic streamed chat-completion exchanges over the three (one connection
 * each, as Envoy's ext_proc cluster balances over its hosts); one replica is
 * SIGKILLed mid-load and restarted on its own data directory. Then:
 *   - every exchange a replica acknowledged is stored, and no exchange twice
 *     (count = distinct CaptureId = distinct RequestId), the killed replica's
 *     unacknowledged batch re-sent after the restart included (its
 *     deduplication token is the batch id, which the spool keeps);
 *   - a replica stopped with SIGTERM mid-load (a rolling update) loses nothing;
 *   - each row names the replica that captured it (CapturedBy = POD_NAME);
 *   - the restarted replica's accounting balances.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chatCompletionExchange, EnvoyEmulator } from '../emulator';
import { serviceStatus, sleep, startService, type ServiceProcess } from './service-process';

const AUTHORITY = 'replicas.test';
const REPLICAS = 3;
const SERVE_ARGS = ['--batch-max-delay-ms', '100', '--batch-max-rows', '100'];

/** JSONEachRow rows from the store's admin port, with its credentials. */
async function storeQuery<T>(admin: string, sql: string): Promise<T[]> {
  const response = await fetch(`${admin}/query`, { method: 'POST', body: sql, headers: { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${text}`);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

async function deliveredEverything(replica: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await serviceStatus(replica.admin);
    if (status.sinks.every((sink) => sink.pending === 0)) return;
    await sleep(100);
  }
  throw new Error(`replica ${replica.admin} still has rows pending after 60 s`);
}

test('three replicas into one ClickHouse, one killed and restarted: every acknowledged exchange stored once, by the replica that captured it', async () => {
  const dirs = Array.from({ length: REPLICAS + 1 }, (_, i) => fs.mkdtempSync(path.join(os.tmpdir(), `egress-replicas-${i}-`)));
  const store = await startService(dirs[REPLICAS]!, ['--admin-allow-writes', '--admin-user', 'u'], { EGRESS_CAPTURE_ADMIN_PASSWORD: 'p' });
  const url = `http://u:p@${new URL(store.admin).host}/default`;
  const replicaEnv = (i: number): NodeJS.ProcessEnv => ({ POD_NAME: `egress-capture-${i}`, EGRESS_CAPTURE_CLICKHOUSE_URL: url });
  const replicas: ServiceProcess[] = [];
  const emulators: EnvoyEmulator[] = [];
  try {
    for (let i = 0; i < REPLICAS; i++) replicas.push(await startService(dirs[i]!, SERVE_ARGS, replicaEnv(i)));

    // Load: 6 concurrent callers per replica, each on that replica's one connection.
    const acknowledged: string[][] = replicas.map(() => []);
    const sent: string[][] = replicas.map(() => []);
    let running = true;
    let next = 0;
    const drive = async (i: number, target: string): Promise<void> => {
      const envoy = new EnvoyEmulator({ target, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } });
      emulators.push(envoy);
      await envoy.waitForReady();
      const caller = async (): Promise<void> => {
        while (running) {
          const id = `replica-${i}-${next++}`;
          sent[i]!.push(id);
          const result = await envoy.runExchange(chatCompletionExchange({ authority: AUTHORITY, id, events: 8, eventDelayMs: 1 }));
          // Captured as far as Envoy knows: every message processed. A stream a draining replica
          // ends at once (OK: "no processing needed") lets the exchange through uncaptured, as
          // Envoy does with fail-open; the replica counts it (refused_while_draining).
          if (result.failure === undefined && result.violations.length === 0 && result.streamOpened && !result.continuedUnprocessed) acknowledged[i]!.push(id);
          // A replica that is down fails at once (Envoy fails open); do not spin on it.
          else await sleep(20);
        }
      };
      await Promise.all(Array.from({ length: 6 }, caller));
    };
    const load = replicas.map((replica, i) => drive(i, replica.grpc));

    await sleep(2000);
    const victim = replicas[1]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const ackedBeforeKill = acknowledged[1]!.length;
    expect(ackedBeforeKill).toBeGreaterThan(0);
    // The other two keep capturing while it is down; then it comes back on its own spool.
    await sleep(1000);
    running = false;
    await Promise.all(load);
    for (const envoy of emulators.splice(0)) envoy.close();

    const restarted = await startService(dirs[1]!, SERVE_ARGS, replicaEnv(1), Number(victim.grpc.split(':')[1]));
    replicas[1] = restarted;
    const after = await serviceStatus(restarted.admin);
    expect(after.sinks.find((sink) => sink.sink === 'clickhouse')!.recovered).toBeGreaterThan(0);
    // Load on the restarted replica and on another one, which is stopped the way a rolling
    // update stops a pod (SIGTERM: drain the open streams, deliver the spool, exit 0) and
    // started again on its own volume.
    running = true;
    const more = [drive(1, restarted.grpc), drive(2, replicas[2]!.grpc)];
    await sleep(700);
    const drained = replicas[2]!;
    drained.child.kill('SIGTERM');
    expect(await drained.exited).toBe(0);
    running = false;
    await Promise.all(more);
    for (const envoy of emulators.splice(0)) envoy.close();
    replicas[2] = await startService(dirs[2]!, SERVE_ARGS, replicaEnv(2), Number(drained.grpc.split(':')[1]));
    for (const replica of replicas) await deliveredEverything(replica);

    const [totals] = await storeQuery<{ n: number; captures: number; requests: number }>(
      store.admin,
      `SELECT count() AS n, uniqExact(CaptureId) AS captures, uniqExact(RequestId) AS requests FROM http_exchanges WHERE Authority = '${AUTHORITY}'`,
    );
    expect(Number(totals!.n)).toBe(Number(totals!.captures));
    expect(Number(totals!.n)).toBe(Number(totals!.requests));

    const rows = await storeQuery<{ RequestId: string; CapturedBy: string }>(store.admin, `SELECT RequestId, CapturedBy FROM http_exchanges WHERE Authority = '${AUTHORITY}'`);
    const capturedBy = new Map(rows.map((row) => [row.RequestId, row.CapturedBy]));
    for (let i = 0; i < REPLICAS; i++) {
      expect(acknowledged[i]!.length).toBeGreaterThan(0);
      const missing = acknowledged[i]!.filter((id) => !capturedBy.has(id));
      expect({ replica: i, missing }).toEqual({ replica: i, missing: [] });
      // Stored rows of this replica's exchanges name it, and only its exchanges do.
      expect(new Set(sent[i]!.filter((id) => capturedBy.has(id)).map((id) => capturedBy.get(id)))).toEqual(new Set([`egress-capture-${i}`]));
    }
    // Nothing appears that nobody sent.
    const allSent = new Set(sent.flat());
    expect(rows.filter((row) => !allSent.has(row.RequestId))).toEqual([]);

    const restartedStatus = await serviceStatus(restarted.admin);
    expect(restartedStatus.balanced).toBe(true);
  } finally {
    for (const envoy of emulators) envoy.close();
    for (const server of [...replicas, store]) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
    }
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
