/**
 * CPU and memory of a server process read from /proc, the same way for both
 * servers: the no-op server has no metrics endpoint, and reading the kernel's
 * numbers counts every thread (grpc-js, piscina workers, chdb's own threads,
 * threads that already exited) without trusting the server to report itself.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { parseProcStat, PROC_STAT_FIELD } from '../../src/service/proc-stat';

let ticksPerSecond: number | undefined;

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 almost everywhere). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU µs in the first `count` time fields: utime and stime, then cutime and cstime of finished
 * children (consecutive in the stat line).
 */
function statCpuMicros(fields: string[], count: 2 | 4): number {
  let ticks = 0;
  for (let i = PROC_STAT_FIELD.utime; i < PROC_STAT_FIELD.utime + count; i++) ticks += Number(fields[i]);
  return (ticks / clockTicks()) * 1e6;
}

/** User + system CPU time of the whole process so far, in µs (10 ms resolution at USER_HZ=100). */
export function processCpuMicros(pid: number): number {
  return statCpuMicros(parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).fields, 2);
}

/**
 * CPU so far of each live thread of a process, summed by thread name, in µs.
 * Names as the kernel shows them: MainThread (the event loop), WorkerThread
 * (piscina body workers), V8Worker (V8's GC and compiler helpers),
 * libuv-worker (libuv's pool: chdb's async inserts and queries, fs), and
 * ClickHouse's own pools (ThreadPool, MergeMutate, ...). Threads that already
 * exited are only in processCpuMicros.
 */
export function threadCpuMicros(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tasks) {
    try {
      const { name, fields } = parseProcStat(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      byName.set(name, (byName.get(name) ?? 0) + statCpuMicros(fields, 2));
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return byName;
}

/** µs per exchange by thread name between two threadCpuMicros() readings, largest first (under 1 µs left out). */
export function threadCpuPerExchange(before: Map<string, number>, after: Map<string, number>, exchanges: number): Record<string, number> {
  const out: Array<[string, number]> = [];
  for (const [name, micros] of after) {
    const perExchange = (micros - (before.get(name) ?? 0)) / Math.max(1, exchanges);
    if (perExchange >= 1) out.push([name, Math.round(perExchange)]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

/** Peak resident set size (VmHWM) and current RSS, in MiB; the RSS split into file-backed (and shared) pages and anonymous memory. */
export function processMemoryMiB(pid: number): { peakRssMiB: number; rssMiB: number; fileMiB: number; anonMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakRssMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024, fileMiB: (kib('RssFile') + kib('RssShmem')) / 1024, anonMiB: kib('RssAnon') / 1024 };
}

/**
 * The highest RSS of a process seen by sampling it every `everyMs` until stop(), in MiB: the
 * peak of one window, which VmHWM (the peak since the process started) cannot give.
 */
/** How often sampleRss reads a process's RSS, ms. */
export const RSS_SAMPLE_EVERY_MS = 100;

export function sampleRss(pid: number, everyMs = RSS_SAMPLE_EVERY_MS): { stop(): number } {
  let peak = 0;
  const sample = (): void => {
    try {
      peak = Math.max(peak, processMemoryMiB(pid).rssMiB);
    } catch {
      // The process exited; the peak so far stands.
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop(): number {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** Busy CPU time of the whole machine so far (every core, idle and iowait excluded), in µs. */
export function machineBusyMicros(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …
  const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0);
  return (busy / clockTicks()) * 1e6;
}

/** The bench process's own CPU plus that of its finished children (h2load, apt-get), in µs. */
export function benchCpuMicros(): number {
  // utime, stime, cutime, cstime: stat fields 14-17.
  return statCpuMicros(parseProcStat(fs.readFileSync('/proc/self/stat', 'utf8')).fields, 4);
}

/**
 * CPU used during a measurement window by processes that are neither the
 * bench nor the servers under test (on a shared 2-core machine, e.g. someone
 * else's test run). Figures taken while this is high are not comparable.
 */
export class ForeignCpu {
  private readonly machine0 = machineBusyMicros();
  private readonly bench0 = benchCpuMicros();
  private readonly servers0: number[];
  private readonly wall0 = process.hrtime.bigint();

  constructor(private readonly serverPids: number[]) {
    this.servers0 = serverPids.map(processCpuMicros);
  }

  /** Foreign CPU as a percentage of one core over the window. */
  percentOfCore(): number {
    const wallMicros = Number(process.hrtime.bigint() - this.wall0) / 1e3;
    const servers = this.serverPids.reduce((sum, pid, i) => sum + processCpuMicros(pid) - this.servers0[i], 0);
    const foreign = machineBusyMicros() - this.machine0 - (benchCpuMicros() - this.bench0) - servers;
    return Math.max(0, (foreign / wallMicros) * 100);
  }
}
