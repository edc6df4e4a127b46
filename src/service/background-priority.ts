/**
 * The embedded store's threads yield the CPU to the event loop.
 *
 * Envoy waits on one thread only: the event loop, which reads ext_proc
 * messages and writes the replies. The embedded ClickHouse's inserts, merges
 * and schedulers and libuv's pool (the store's queries, spool deletions) are
 * work nobody waits on, and it comes in bursts (an insert is ~30 ms of CPU, a
 * merge more) that, at the same priority, took a core from the event loop
 * just when a reply was due; the reply then waited a scheduler slice.
 *
 * Linux keeps a nice value per thread, so those threads are raised to `nice`
 * (10 by default) and the event loop stays at the process's own. A thread at
 * nice 10 has about a tenth of the weight of one at 0: it still gets every
 * idle cycle, and what it falls behind on waits in the spool, on disk. Raising
 * a nice value needs no privilege; lowering it again would, which is why the
 * event loop itself is never touched.
 *
 * The body workers are not lowered: what they have not processed waits in
 * memory, under bounds (workerQueueMax, processingBacklogMaxBytes). With them
 * at nice 10, h2load at full speed in observability mode starved them until
 * the queue overflowed (193 of 20,000 exchanges dropped, counted); at the
 * event loop's priority they keep up, as before. Also kept as they are: V8's
 * platform threads (named V8Worker), which do the event loop's parallel
 * garbage collection, and any thread that set a value of its own.
 *
 * Threads are found by scanning /proc/self/task: ClickHouse starts most of its
 * pools when the store opens, from the event loop's thread, so they cannot
 * inherit a value from a niced parent. Threads started later by a niced thread
 * inherit its value; the scan repeats every few seconds for the rest.
 * Elsewhere than Linux this does nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Logger } from 'pino';
import { parseProcStat, PROC_STAT_FIELD } from './proc-stat';

/** Thread names left at the process's own priority (the event loop is recognised by its id): V8's helpers, Node's worker threads. */
const KEPT_THREADS = /^(V8|WorkerThread$)/;

export interface BackgroundPriorityOptions {
  /** Nice value for background threads, 1-19; 0 turns this off. */
  nice: number;
  /** How often new threads are looked for, ms. */
  rescanMs: number;
  log: Logger;
}

export class BackgroundPriority {
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly pid = process.pid;
  /** The event loop's nice value, which every thread starts with. */
  private readonly baseline = os.getPriority();
  private stopped = false;
  /**
   * Threads already looked at, lowered or left as they are. Reading a thread's
   * stat costs ~20 us; with ~80 threads a full scan held the event loop ~1.5 ms,
   * so a rescan reads only threads it has not seen. A thread that ends leaves
   * the set at the next scan, so a reused id is looked at again.
   */
  private seen = new Set<number>();

  private constructor(private readonly options: BackgroundPriorityOptions) {
    this.scan();
    if (!this.stopped) {
      this.timer = setInterval(() => this.scan(), options.rescanMs);
      this.timer.unref();
    }
  }

  /** Lowers the background threads now and keeps doing so for new ones; undefined when off or not on Linux. */
  static start(options: BackgroundPriorityOptions): BackgroundPriority | undefined {
    if (options.nice <= 0 || process.platform !== 'linux' || !fs.existsSync('/proc/self/task')) return undefined;
    return new BackgroundPriority(options);
  }

  close(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private scan(): void {
    if (this.stopped) return;
    let tids: string[];
    try {
      tids = fs.readdirSync('/proc/self/task');
    } catch (err) {
      this.giveUp(err);
      return;
    }
    let raised = 0;
    const seen = new Set<number>();
    for (const name of tids) {
      const tid = Number(name);
      if (tid === this.pid) continue;
      seen.add(tid);
      if (this.seen.has(tid)) continue;
      let stat;
      try {
        stat = parseProcStat(fs.readFileSync(`/proc/self/task/${name}/stat`, 'latin1'));
      } catch {
        continue; // The thread ended between the listing and the read.
      }
      if (KEPT_THREADS.test(stat.name)) continue;
      const nice = Number(stat.fields[PROC_STAT_FIELD.nice]);
      // Only threads at the event loop's value: one that set its own (ClickHouse's MemoryWorker asks for -20 where allowed, to keep the memory limit's accounting on time) keeps it.
      if (nice !== this.baseline) continue;
      try {
        os.setPriority(tid, this.options.nice);
        raised++;
      } catch (err) {
        // ESRCH: the thread ended. Anything else (a sandbox refusing setpriority) will not change.
        if ((err as { info?: { code?: string } }).info?.code === 'ESRCH') continue;
        this.giveUp(err);
        return;
      }
    }
    this.seen = seen;
    if (raised > 0) {
      this.options.log.debug({ threads: raised, nice: this.options.nice }, 'background threads lowered in priority');
    }
  }

  private giveUp(err: unknown): void {
    this.options.log.warn({ err }, "background threads cannot be lowered in priority; they keep the event loop's");
    this.close();
  }
}
