/**
 * The bench's scaling section: the emulator load at several body sizes and
 * numbers of streams in flight, each point run against the no-op server and
 * the capture service with fewer exchanges than the main emulator run, so CPU
 * per exchange, exchanges/s, p99 reply latency and the capture service's peak
 * RSS can be read as functions of bytes and of streams (docs/scaling.md's
 * capacity model). Points are measured like the main run (emulator-measure.ts).
 */
import type { CaptureAdmin } from './capture-admin';
import { runEmulatorLoad } from './emulator-load';
import { measureEmulatorRun, STABLE_MS, summarizeEmulatorRun, type EmulatorServerResult, type ServerName } from './emulator-measure';
import { ratio, table } from './report';
import type { ServerProcess } from './server-process';

export interface ScalingPoint {
  name: string;
  /** Exchanges in flight. */
  streams: number;
  /** A body of N KiB each way (realistic-exchanges.ts) in BODY_EVENTS events; unset, the main run's exchange. */
  bodyKiB?: number;
  /** HTTP/2 connections the streams are spread over (default 1). */
  connections?: number;
  /** ms between SSE events (default 1, as in the main run). */
  eventDelayMs?: number;
}

/**
 * Body points answer in 4 events plus `[DONE]`, so only the bytes change between them: with
 * the main exchange's 40 one-word events the answer alone is ~9 KiB, more than 1 KiB.
 */
const BODY_EVENTS = 4;
/** Events of the main run's exchange (realistic-exchanges.ts default), for the answer's duration. */
const DEFAULT_EVENTS = 40;

/**
 * Body points run at 20 in flight: at 50, 64 KiB each way took the capture service (~1.4 cores)
 * and the load client past these 2 cores, and a third of the exchanges missed the 200 ms message
 * timer, which also cuts their bodies short and so understates CPU per exchange.
 */
const BODY_STREAMS = 20;

/**
 * The 1,000-stream point is long answers (41 events 200 ms apart, ~8 s, like a slow LLM stream)
 * over four connections (an Envoy with four worker threads, each with its own connection to the
 * ext_proc cluster). Run like the others, 1,000 back-to-back exchanges fail for the no-op as
 * much as for the capture service, because of the load client, not the servers: its one event
 * loop sustains a few hundred exchanges/s on these 2 shared cores, and each exchange sends its
 * messages 1 ms apart without waiting for replies (STREAMED), so 1,000 of them keep tens of
 * thousands of messages queued and replies come 0.3-3 s late, past Envoy's 200 ms message
 * timeout. 1,000 streams are in flight at once in production the same way as here: by Little's
 * law, 1,000 in flight at ~100 exchanges/s means answers of ~10 s.
 */
export const SCALING_POINTS: ScalingPoint[] = [
  { name: 'body 1 KiB', streams: BODY_STREAMS, bodyKiB: 1 },
  { name: 'body 16 KiB', streams: BODY_STREAMS, bodyKiB: 16 },
  { name: 'body 64 KiB', streams: BODY_STREAMS, bodyKiB: 64 },
  { name: 'default, 10 streams', streams: 10 },
  { name: 'default, 100 streams', streams: 100 },
  { name: 'default, 1,000 streams, 8 s answers', streams: 1000, connections: 4, eventDelayMs: 200 },
];

export interface ScalingRun {
  point: ScalingPoint;
  exchanges: number;
  noop: EmulatorServerResult;
  capture: EmulatorServerResult;
}

export interface ScalingResult {
  runs: ScalingRun[];
  /** Exchanges sent to the capture service, warm-up included (all stored under the run's tag). */
  sentToCapture: number;
}

/**
 * Runs every point against both servers. `exchanges` per point and server, at least two
 * generations of the point's streams so the steady state outweighs the ramp.
 */
export async function runScalingBench(options: {
  servers: Record<ServerName, ServerProcess>;
  admin: CaptureAdmin;
  tag: string;
  exchanges: number;
  /** Main-run exchanges per server before the points (0 when the servers are warm already). */
  warmup: number;
  log: (line: string) => void;
}): Promise<ScalingResult> {
  const { servers, admin, tag, log } = options;
  const serverPids = [servers.noop.pid, servers.capture.pid];
  let sentToCapture = 0;
  if (options.warmup > 0) {
    for (const name of ['noop', 'capture'] as const) {
      log(`\n[scaling] ${name}: warm-up ${options.warmup}`);
      const target = `127.0.0.1:${servers[name].ports.grpc}`;
      const warm = await runEmulatorLoad({ target, total: options.warmup, concurrency: 50, authority: `scale-warmup-${tag}.bench`, idPrefix: `scale-warm-${tag}` });
      if (name === 'capture') sentToCapture += warm.exchanges;
    }
    await admin.waitForFlush(60_000, STABLE_MS);
  }
  const runs: ScalingRun[] = [];
  for (const [i, point] of SCALING_POINTS.entries()) {
    const exchanges = Math.max(options.exchanges, 2 * point.streams);
    const events = point.bodyKiB === undefined ? DEFAULT_EVENTS : BODY_EVENTS;
    const eventDelayMs = point.eventDelayMs ?? 1;
    const answerMs = (events + 1) * eventDelayMs;
    const exchange = point.bodyKiB === undefined ? { eventDelayMs } : { requestBytes: point.bodyKiB * 1024, responseBytes: point.bodyKiB * 1024, events, eventDelayMs };
    const measured: Partial<Record<ServerName, EmulatorServerResult>> = {};
    for (const name of ['noop', 'capture'] as const) {
      log(`\n[scaling] ${point.name} → ${name}: ${exchanges} exchanges, ${point.streams} in flight over ${point.connections ?? 1} connection(s)`);
      const result = await measureEmulatorRun({
        name,
        server: servers[name],
        admin: name === 'capture' ? admin : undefined,
        serverPids,
        load: {
          total: exchanges,
          concurrency: point.streams,
          connections: point.connections,
          // Starts spread over one answer's length, as requests arrive over time, not in one instant,
          // and no stream starts exchanges faster than one an answer, failed or not.
          rampMs: answerMs,
          paceMs: answerMs,
          exchange,
          authority: `scale-${i}-${tag}.bench`,
          idPrefix: `scale-${i}-${tag}`,
        },
      });
      if (name === 'capture') sentToCapture += result.exchanges;
      measured[name] = result;
      log(summarizeEmulatorRun(result));
    }
    runs.push({ point, exchanges, noop: measured.noop!, capture: measured.capture! });
  }
  return { runs, sentToCapture };
}

/** The printed scaling table: capture service and no-op side by side, point by point. */
export function scalingTable(result: ScalingResult): string {
  return table(
    ['point', 'exchanges', 'CPU µs/ex', 'no-op', 'ratio', 'ex/s', 'no-op', 'p99 ms', 'no-op', 'peak RSS MiB', 'failed', 'no-op', 'rows', 'other %'],
    result.runs.map(({ point, exchanges, noop, capture }) => [
      point.name,
      exchanges,
      capture.cpuMicrosPerExchange,
      noop.cpuMicrosPerExchange,
      ratio(capture.cpuMicrosPerExchange, noop.cpuMicrosPerExchange),
      capture.exchangesPerSecond,
      noop.exchangesPerSecond,
      capture.p99Ms,
      noop.p99Ms,
      capture.windowPeakRssMiB,
      capture.failed,
      noop.failed,
      capture.rowsLanded ?? '-',
      Math.max(capture.foreignCpuPct, noop.foreignCpuPct),
    ]),
  );
}

/** Title line of the table, saying what each column is. */
export const SCALING_TITLE =
  'Scaling (emulator, STREAMED/STREAMED; capture service figures, the no-op server beside them; peak RSS sampled during the point; ' +
  'body N KiB = ~N KiB JSON request + ~N KiB SSE answer in 4 events; "default" = ~2 KiB request + 41 events)';
