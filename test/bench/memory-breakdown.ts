/**
 * Where the capture service's resident memory is when it is highest in a
 * run. RSS alone says how much; this says whose: file-backed pages (the code
 * of Node and of chdb's 540 MB library, which the kernel can drop and read
 * back), the embedded ClickHouse's own accounting of what it holds (its
 * MemoryTracking: inserts, merges, caches), the event loop's V8 heap and the
 * buffers outside it, the body workers' heaps and buffers, and the rest of
 * the anonymous memory, which none of them reports: memory freed but kept by
 * the allocator, thread stacks, V8's reservations beyond its heap, engine
 * allocations ClickHouse does not track.
 *
 * RSS is read from /proc every RSS_SAMPLE_EVERY_MS; the service's metrics and
 * the engine's figure every ATTRIBUTE_EVERY_MS (each read is an admin request
 * the service answers on its event loop, ~1 ms, so they stay rare). The breakdown shown
 * is the attributed sample with the highest RSS; the window's RSS peak from
 * the frequent /proc reads is shown beside it, since an insert's or merge's
 * burst can fall between two attributed samples.
 */
import type { CaptureAdmin } from './capture-admin';
import { processMemoryMiB, RSS_SAMPLE_EVERY_MS, sampleRss } from './proc-stats';

const MiB = 1024 * 1024;
/** How often the service's own figures are read: each read is two admin requests answered on its event loop. */
const ATTRIBUTE_EVERY_MS = 1000;

export interface MemoryBreakdown {
  /** The highest RSS read from /proc in the window (every RSS_SAMPLE_EVERY_MS). */
  windowPeakRssMiB: number;
  /** The attributed sample with the highest RSS. */
  rssMiB: number;
  fileMiB: number;
  anonMiB: number;
  engineMiB: number;
  eventLoopHeapMiB: number;
  eventLoopExternalMiB: number;
  workersMiB: number;
  /** Anonymous memory none of the above reports. */
  unattributedMiB: number;
  /** The highest engine figure of any attributed sample (its bursts are short). */
  engineMaxMiB: number;
}

export const MEMORY_TITLE =
  `Capture service memory, MiB: the run's RSS peak (read every ${RSS_SAMPLE_EVERY_MS} ms), then its highest attributed sample (every ${ATTRIBUTE_EVERY_MS / 1000} s) split into file-backed code, anonymous memory, ` +
  "and the anonymous memory's known owners: the embedded ClickHouse's own accounting, the event loop's V8 heap and buffers, the body workers; unattributed is the rest " +
  "(allocator free lists, stacks, V8 reservations, engine memory it does not track). ClickHouse max: the engine's highest attributed sample (inserts and merges are bursts).";

/** The columns of the breakdown table, in order, with their headers. */
export const BREAKDOWN_COLUMNS: ReadonlyArray<readonly [keyof MemoryBreakdown, string]> = [
  ['windowPeakRssMiB', 'RSS peak'],
  ['rssMiB', 'sampled RSS'],
  ['fileMiB', 'file-backed'],
  ['anonMiB', 'anonymous'],
  ['engineMiB', 'ClickHouse'],
  ['eventLoopHeapMiB', 'event loop heap'],
  ['eventLoopExternalMiB', 'buffers'],
  ['workersMiB', 'workers'],
  ['unattributedMiB', 'unattributed'],
  ['engineMaxMiB', 'ClickHouse max'],
];

async function engineMiB(admin: CaptureAdmin): Promise<number> {
  const rows = await admin.query<{ value: string | number }>("SELECT value FROM system.metrics WHERE metric = 'MemoryTracking'");
  return Number(rows[0]?.value ?? NaN) / MiB;
}

async function attributedSample(pid: number, admin: CaptureAdmin): Promise<Omit<MemoryBreakdown, 'windowPeakRssMiB' | 'engineMaxMiB'>> {
  const [metrics, engine] = await Promise.all([admin.metrics(), engineMiB(admin)]);
  const proc = processMemoryMiB(pid);
  const metric = (name: string): number => (metrics.get(name) ?? NaN) / MiB;
  // The workers report heap used and external bytes, labelled by worker and kind; the family's sum is their total.
  const workers = metric('egress_capture_worker_memory_bytes');
  const heap = metric('egress_capture_nodejs_heap_size_total_bytes');
  const external = metric('egress_capture_nodejs_external_memory_bytes');
  return {
    rssMiB: proc.rssMiB,
    fileMiB: proc.fileMiB,
    anonMiB: proc.anonMiB,
    engineMiB: engine,
    eventLoopHeapMiB: heap,
    eventLoopExternalMiB: external,
    workersMiB: workers,
    unattributedMiB: proc.anonMiB - engine - heap - external - workers,
  };
}

/**
 * Samples the capture service (process `pid`, admin port `admin`) until stop(). A caller that
 * already samples the process's RSS hands its sampler in (`rss`), so /proc is not read twice.
 */
export function sampleMemoryBreakdown(pid: number, admin: CaptureAdmin, rss: { stop(): number } = sampleRss(pid)): { stop(): Promise<MemoryBreakdown | undefined> } {
  let engineMax = 0;
  let highest: Omit<MemoryBreakdown, 'windowPeakRssMiB' | 'engineMaxMiB'> | undefined;
  let pending: Promise<void> = Promise.resolve();
  const attribute = (): void => {
    // One attributed read at a time: a slow answer under load must not pile requests onto the service.
    pending = pending.then(async () => {
      try {
        const sample = await attributedSample(pid, admin);
        engineMax = Math.max(engineMax, sample.engineMiB);
        if (highest === undefined || sample.rssMiB > highest.rssMiB) highest = sample;
      } catch {
        // A sample the service could not answer (busy, stopping) is skipped.
      }
    });
  };
  attribute();
  const attributeTimer = setInterval(attribute, ATTRIBUTE_EVERY_MS);
  return {
    async stop(): Promise<MemoryBreakdown | undefined> {
      clearInterval(attributeTimer);
      const windowPeakRssMiB = rss.stop();
      await pending;
      return highest === undefined ? undefined : { windowPeakRssMiB, ...highest, engineMaxMiB: engineMax };
    },
  };
}
