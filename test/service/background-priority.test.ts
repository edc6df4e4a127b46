/**
 * A running `serve` keeps its event loop, its body workers and V8's helpers at
 * the process's priority and lowers the embedded store's pools and libuv's
 * pool, as a user would see it in `ps -L -o tid,ni,comm` / /proc/<pid>/task.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseProcStat, PROC_STAT_FIELD } from '../../src/service/proc-stat';
import { rawClient } from '../support/raw-extproc-client';
import { adminQuery, simpleExchange, sleep, startService, type ServiceProcess } from './service-process';

interface Thread {
  tid: number;
  name: string;
  nice: number;
}

function threadsOf(pid: number): Thread[] {
  const threads: Thread[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const { name, fields } = parseProcStat(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1'));
      threads.push({ tid: Number(tid), name, nice: Number(fields[PROC_STAT_FIELD.nice]) });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return threads;
}

const linux = process.platform === 'linux';

(linux ? describe : describe.skip)('background threads yield to the event loop', () => {
  let dir: string;
  let service: ServiceProcess | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'background-priority-'));
  });

  afterEach(async () => {
    service?.child.kill('SIGKILL');
    if (service !== undefined) await service.exited;
    service = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts serve, stores a few exchanges so workers and the store's pools have run, and returns its threads. */
  async function threadsAfterTraffic(args: string[], settle: (threads: Thread[]) => boolean): Promise<Thread[]> {
    service = await startService(path.join(dir, 'data'), ['--worker-threads', '2', ...args]);
    const client = rawClient(service.grpc);
    for (let i = 0; i < 20; i++) await simpleExchange(client, 'priority.example', `req-${i}`);
    client.close();
    const deadline = Date.now() + 20_000;
    let stored = 0;
    while (Date.now() < deadline) {
      [{ stored }] = await adminQuery<{ stored: number }>(service.admin, "SELECT count() AS stored FROM http_exchanges WHERE Authority = 'priority.example'");
      if (Number(stored) === 20 && settle(threadsOf(service.child.pid!))) break;
      await sleep(200);
    }
    expect(Number(stored)).toBe(20);
    return threadsOf(service.child.pid!);
  }

  it("raises the store's and libuv's threads to --background-nice, not the event loop, the body workers or V8's helpers", async () => {
    const pid = (): number => service!.child.pid!;
    const kept = (t: Thread): boolean => t.tid === pid() || t.name.startsWith('V8') || t.name === 'WorkerThread';
    // ClickHouse's MemoryWorker raises its own priority where it may (nice -20 as root); such a thread keeps it.
    const background = (threads: Thread[]): Thread[] => threads.filter((t) => !kept(t) && t.nice >= 0);
    const threads = await threadsAfterTraffic(['--background-nice', '7'], (all) => background(all).every((t) => t.nice === 7));

    expect(threads.find((t) => t.tid === pid())).toMatchObject({ nice: 0 });
    expect(threads.filter((t) => t.name === 'WorkerThread')).toHaveLength(2);
    expect(threads.filter(kept).filter((t) => t.nice !== 0)).toEqual([]);
    const lowered = background(threads);
    // libuv's pool (the store's queries) and ClickHouse's own pools are among them.
    expect(lowered.map((t) => t.name)).toEqual(expect.arrayContaining(['libuv-worker']));
    expect(lowered.length).toBeGreaterThan(10);
    expect(lowered.filter((t) => t.nice !== 7)).toEqual([]);
  }, 60_000);

  it('leaves every thread at the process priority with --background-nice 0', async () => {
    const threads = await threadsAfterTraffic(['--background-nice', '0'], () => true);
    expect(threads.length).toBeGreaterThan(10);
    expect(threads.filter((t) => t.nice > 0)).toEqual([]);
    expect(threads.filter((t) => t.nice === 0).map((t) => t.name)).toEqual(expect.arrayContaining(['WorkerThread', 'libuv-worker']));
  }, 60_000);
});
