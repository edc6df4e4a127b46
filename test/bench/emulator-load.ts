/**
 * Drives one server with the Envoy emulator: `total` realistic chat-completion
 * exchanges (JSON request, SSE response, both bodies STREAMED), at most
 * `concurrency` in flight on one HTTP/2 connection (Envoy's connection from one
 * worker thread to the ext_proc cluster), or spread over `connections` of them
 * (an Envoy with that many worker threads).
 *
 * EnvoyEmulator.runConcurrent keeps every ExchangeResult (every message with
 * its body) until the end; at ~15k exchanges that is hundreds of MB in the
 * client and a GC load that would slow the very client we measure with. This
 * loop does the same scheduling but folds each result into counters and reply
 * latencies as it arrives and drops it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { chatCompletionExchange, EnvoyEmulator, quantile, replyLatenciesMs, type ChatCompletionOptions, type ExchangeResult } from '../emulator';

export interface EmulatorLoadResult {
  exchanges: number;
  completed: number;
  failed: number;
  /** Failure kinds and violation kinds with their counts, for the report. */
  failureKinds: Record<string, number>;
  wallSeconds: number;
  exchangesPerSecond: number;
  replies: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function runEmulatorLoad(options: {
  target: string;
  total: number;
  concurrency: number;
  /** Authority of every exchange: the run's marker in the capture table. */
  authority: string;
  idPrefix: string;
  /** The exchange's shape (body sizes, events, their pace); unset, chatCompletionExchange's defaults. */
  exchange?: Omit<ChatCompletionOptions, 'authority' | 'id'>;
  /** HTTP/2 connections the streams are spread over, round robin (default 1). */
  connections?: number;
  /**
   * Starts of the first `concurrency` exchanges spread evenly over this many ms (default 0: all at
   * once). Downstream requests do not reach Envoy in one instant; starting 1,000 in one event-loop
   * turn holds this client's loop for longer than the 200 ms message timeout.
   */
  rampMs?: number;
  /**
   * Each stream starts its next exchange no sooner than this many ms after it started the
   * previous one (default 0). An exchange that fails fast (a message timeout ends it at once)
   * would otherwise make its stream start the next one early, raising the load just when the
   * server is slowest and turning a few timeouts into a cascade.
   */
  paceMs?: number;
  /** The filter lets the server's mode_override change the body modes (the capture policy's lighter levels ask for fewer bodies). */
  allowModeOverride?: boolean;
}): Promise<EmulatorLoadResult> {
  const envoys = Array.from(
    { length: Math.max(1, options.connections ?? 1) },
    () => new EnvoyEmulator({ target: options.target, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' }, allowModeOverride: options.allowModeOverride ?? false }),
  );
  try {
    await Promise.all(envoys.map((envoy) => envoy.waitForReady()));
    const latencies: number[] = [];
    const failureKinds: Record<string, number> = {};
    let failed = 0;
    let next = 0;
    const onResult = (result: ExchangeResult): void => {
      const kinds = [...(result.failure ? [`failure:${result.failure.kind}`] : []), ...result.violations.map((v) => `violation:${v.kind}`)];
      if (result.downstream.status === 'reset' && kinds.length === 0) kinds.push('downstream-reset');
      if (kinds.length > 0) {
        failed += 1;
        for (const kind of new Set(kinds)) failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
      }
      for (const ms of replyLatenciesMs(result)) latencies.push(ms);
    };
    const workers = Math.min(options.concurrency, options.total);
    const worker = async (_: unknown, w: number): Promise<void> => {
      const envoy = envoys[w % envoys.length];
      if (options.rampMs) await sleep((w * options.rampMs) / workers);
      while (next < options.total) {
        const index = next++;
        const due = Date.now() + (options.paceMs ?? 0);
        const spec = chatCompletionExchange({ ...options.exchange, authority: options.authority, id: `${options.idPrefix}-${index}` });
        onResult(await envoy.runExchange(spec));
        if (Date.now() < due && next < options.total) await sleep(due - Date.now());
      }
    };
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: workers }, worker));
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    let maxMs = 0;
    for (const ms of latencies) if (ms > maxMs) maxMs = ms;
    return {
      exchanges: options.total,
      completed: options.total - failed,
      failed,
      failureKinds,
      wallSeconds,
      exchangesPerSecond: options.total / wallSeconds,
      replies: latencies.length,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs,
    };
  } finally {
    for (const envoy of envoys) envoy.close();
  }
}
