/**
 * One measured emulator run against one server: the load (emulator-load.ts)
 * with the server's CPU read from /proc around it, the same way for both
 * servers. For the capture service the window runs until its batcher has
 * written every row (its metrics say nothing pending, nothing moving), so
 * storage work is charged to the exchanges that caused it, and the rows that
 * landed under the run's authority are counted.
 */
import type { CaptureAdmin } from './capture-admin';
import { sampleMemoryBreakdown, type MemoryBreakdown } from './memory-breakdown';
import { runEmulatorLoad, type EmulatorLoadResult } from './emulator-load';
import { fmt, formatThreads } from './report';
import { ForeignCpu, processCpuMicros, processMemoryMiB, sampleRss, threadCpuMicros, threadCpuPerExchange } from './proc-stats';
import type { ServerProcess } from './server-process';

export type ServerName = 'noop' | 'capture';

/** How long the capture service's counters must stand still to count as flushed (one batch interval and a half). */
export const STABLE_MS = 1500;

export interface EmulatorServerResult extends EmulatorLoadResult {
  server: ServerName;
  cpuMicrosLoad: number;
  /** CPU from load start until every row was written (capture) or load end (no-op). */
  cpuMicrosTotal: number;
  cpuMicrosPerExchange: number;
  /** The process's peak RSS since it started (VmHWM), read after the run. */
  peakRssMiB: number;
  /** The highest RSS sampled during this run's window (every RSS_SAMPLE_EVERY_MS): the run's own peak. */
  windowPeakRssMiB: number;
  /** Capture service only: whose memory it is at the run's highest attributed sample (memory-breakdown.ts). */
  memory?: MemoryBreakdown;
  rowsLanded?: number;
  flushWaitMs?: number;
  /** CPU other processes used during the window, % of one core (noise indicator). */
  foreignCpuPct: number;
  /** Where the server's CPU went: µs per exchange by thread name (proc-stats.ts). */
  threads: Record<string, number>;
}

export async function measureEmulatorRun(options: {
  name: ServerName;
  server: ServerProcess;
  /** The capture service's admin port; given for the capture service only. */
  admin?: CaptureAdmin;
  /** Both servers' pids: their CPU is not "foreign". */
  serverPids: number[];
  load: Omit<Parameters<typeof runEmulatorLoad>[0], 'target'>;
}): Promise<EmulatorServerResult> {
  const { server, admin } = options;
  const foreign = new ForeignCpu(options.serverPids);
  const rss = sampleRss(server.pid);
  const memory = admin ? sampleMemoryBreakdown(server.pid, admin, rss) : undefined;
  const threads0 = threadCpuMicros(server.pid);
  const cpu0 = processCpuMicros(server.pid);
  const load = await runEmulatorLoad({ ...options.load, target: `127.0.0.1:${server.ports.grpc}` });
  const cpuLoad = processCpuMicros(server.pid) - cpu0;
  let cpuTotal = cpuLoad;
  let rowsLanded: number | undefined;
  let flushWaitMs: number | undefined;
  if (admin) {
    const flushed = await admin.waitForFlush(60_000, STABLE_MS);
    flushWaitMs = flushed.waitedMs;
    cpuTotal = processCpuMicros(server.pid) - cpu0;
    rowsLanded = await admin.waitForStableCount(() => admin.rowsFor(options.load.authority), 30_000, STABLE_MS);
  }
  const breakdown = await memory?.stop();
  return {
    server: options.name,
    ...load,
    cpuMicrosLoad: cpuLoad,
    cpuMicrosTotal: cpuTotal,
    cpuMicrosPerExchange: cpuTotal / load.exchanges,
    peakRssMiB: processMemoryMiB(server.pid).peakRssMiB,
    windowPeakRssMiB: rss.stop(),
    ...(breakdown === undefined ? {} : { memory: breakdown }),
    rowsLanded,
    flushWaitMs,
    foreignCpuPct: foreign.percentOfCore(),
    threads: threadCpuPerExchange(threads0, threadCpuMicros(server.pid), load.exchanges),
  };
}

/** The two log lines of a run: rate, CPU, latency, failures, rows, noise; CPU by thread. */
export function summarizeEmulatorRun(result: EmulatorServerResult): string {
  return (
    `  ${fmt(result.exchangesPerSecond)} exchanges/s, CPU ${fmt(result.cpuMicrosPerExchange)} µs/exchange, ` +
    `reply p50 ${fmt(result.p50Ms)} ms p99 ${fmt(result.p99Ms)} ms max ${fmt(result.maxMs)} ms, failed ${result.failed}` +
    (Object.keys(result.failureKinds).length ? ` ${JSON.stringify(result.failureKinds)}` : '') +
    (result.rowsLanded !== undefined ? `, rows ${result.rowsLanded}/${result.exchanges}` : '') +
    `; other processes ${fmt(result.foreignCpuPct)}% of a core\n` +
    `  CPU by thread, µs/exchange: ${formatThreads(result.threads)}`
  );
}
