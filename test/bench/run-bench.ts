/**
 * `npm run bench`: the capture service against a no-op ext_proc
 * server, each in its own process, under the same load in the same run.
 *
 *  1. Emulator: N concurrent realistic exchanges (2 KiB JSON request, 41-event
 *     SSE response, both bodies STREAMED) through the Envoy emulator: server
 *     CPU per exchange, reply latency p50/p99, exchanges/s, peak RSS, failed
 *     exchanges, rows landed.
 *  2. Capacity: h2load posting pre-encoded exchanges without waiting, in
 *     observability and acknowledged mode: exchanges/s, CPU per exchange, rows.
 *  3. Scaling (scaling-bench.ts): the emulator at bodies of 1, 16 and 64 KiB
 *     and at 10, 100 and 1,000 streams in flight, both servers, fewer exchanges
 *     per point. `--only scaling` runs this section alone; `--skip-scaling` skips it.
 *  4. Certificate minter (minter-bench.ts, its own process): mint and cache-hit
 *     latency, certificates/s, memory with 10,000 cached leaves, SDS round trip.
 *     `--only minter` runs this section alone.
 *  `--only browser` runs the capture browser's queries over 1,000,000 stored
 *     exchanges instead (browser-bench.ts), with their targets.
 *  5. Verdicts against the issue's targets, a compact table, and
 *     dist/bench-results.json. Exit status 0 whatever the verdicts (a missed
 *     target is a finding, not a crash); non-zero only if the bench itself breaks.
 *
 * The capture service runs on ./data by default, so afterwards
 * `egress-capture query "SELECT count() FROM http_exchanges"` shows every
 * exchange sent; it is stopped with SIGTERM (drain + flush) and the count is
 * re-read with the CLI from the closed store to prove nothing was lost.
 *
 * Server CPU is read from /proc/<pid>/stat (all threads, both servers alike).
 * For the capture service the window runs until its batcher has written every
 * row (its metrics say nothing pending, nothing moving), so storage work is
 * charged to the exchanges that caused it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchHelp, loadBenchConfig, type BenchConfig } from './bench-config';
import { CaptureAdmin } from './capture-admin';
import { runEmulatorLoad } from './emulator-load';
import { measureEmulatorRun, STABLE_MS, summarizeEmulatorRun, type EmulatorServerResult, type ServerName } from './emulator-measure';
import { writeExchangeFile } from './grpc-frames';
import { measureEngineFloor } from './engine-floor';
import { ensureH2load, runH2load, type H2loadResult } from './h2load';
import { BREAKDOWN_COLUMNS, MEMORY_TITLE, sampleMemoryBreakdown, type MemoryBreakdown } from './memory-breakdown';
import { ForeignCpu, processCpuMicros, processMemoryMiB, threadCpuMicros, threadCpuPerExchange } from './proc-stats';
import { runMinterBench } from './minter-bench';
import { runBrowserBench } from './browser-bench';
import { runScalingBench, SCALING_TITLE, scalingTable, type ScalingResult } from './scaling-bench';
import { POLICY_TITLE, policyTable, runPolicyBench, writePolicyBenchFiles, type PolicyRun } from './policy-bench';
import { check, fmt, formatThreads, ratio, table, verdict, type Check } from './report';
import { NODE_BIN, REPO_ROOT, startCaptureService, startNoopServer, stopServer, type ServerProcess } from './server-process';

/**
 * The hot path's targets: ratios to the no-op server in the same run, and the
 * capture service's memory ceiling, each declared once and printed with the
 * verdicts.
 */
const TARGETS = {
  emulatorCpuRatio: 1.6,
  emulatorP99Ratio: 1.3,
  h2loadCpuRatio: { acknowledged: 1.8, observability: 2.5 },
  h2loadAcknowledgedRateRatio: 0.75,
  peakRssMiB: 600,
  idleRssMiB: 250,
} as const;

interface H2loadRun {
  mode: 'observability' | 'acknowledged';
  server: ServerName;
  authority: string;
  h2load: Omit<H2loadResult, 'raw'>;
  cpuMicrosLoad: number;
  cpuMicrosTotal: number;
  cpuMicrosPerExchange: number;
  rowsLanded?: number;
  /** Time after h2load finished until the last row was written (capture), stability window excluded. */
  storeLagSeconds?: number;
  peakRssMiB: number;
  /** Capture service only: whose memory it is at the run's highest attributed sample (memory-breakdown.ts). */
  memory?: MemoryBreakdown;
  foreignCpuPct: number;
  /** Where the server's CPU went: µs per exchange by thread name (proc-stats.ts). */
  threads: Record<string, number>;
}

/** Past this much CPU from other processes during a window, its figures are flagged as unreliable. */
const FOREIGN_CPU_WARN_PCT = 15;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string): void => void process.stdout.write(`${line}\n`);
/** A path relative to the repo when inside it (./data), absolute otherwise. */
const displayPath = (p: string): string => {
  const rel = path.relative(REPO_ROOT, p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : `./${rel}`;
};
/** Every child started, so a crash of the bench itself does not leave servers running (or ./data locked). */
const started: ServerProcess[] = [];

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(benchHelp());
    return 0;
  }
  const config = loadBenchConfig(argv, process.env, REPO_ROOT);
  if (config.only === 'minter') return minterOnly();
  if (config.only === 'browser') return browserOnly(config.browserRows);
  if (config.only === 'scaling') return scalingOnly(config);
  if (config.only === 'policy') return policyOnly(config);
  if (config.only !== 'all') throw new Error(`invalid bench settings: only=${config.only} (expected all, scaling, policy, minter or browser)`);
  const { tag, startedAt, serverNode } = runIdentity();
  log(
    `  emulator: ${config.exchanges} exchanges/server (+${config.warmup} warm-up) at concurrency ${config.concurrency}, STREAMED/STREAMED; ` +
      `h2load: ${config.skipH2load ? 'skipped' : `${config.h2loadRequests} exchanges/run, -c ${config.h2loadConnections} -m ${config.h2loadStreams}`}; ` +
      `scaling: ${config.skipScaling ? 'skipped' : `${config.scalingExchanges} exchanges/point`}; ` +
      `capture levels: ${config.skipPolicy ? 'skipped' : `${config.policyExchanges} exchanges/level`}; data dir ${config.dataDir}`,
  );
  // Before the servers start, so nothing else loads the machine while it is read.
  const floor = measureEngineFloor(log);
  if (floor !== undefined) {
    log(
      `  engine floor: Node alone ${fmt(floor.nodeRssMiB)} MiB; with the embedded store opened as serve opens it, and nothing else, ` +
        `${fmt(floor.rssMiB)} MiB (file-backed ${fmt(floor.fileMiB)}, anonymous ${fmt(floor.anonMiB)})`,
    );
  }
  const { servers, admin, policyFile } = await startServers(config);
  const { noop, capture } = servers;
  const rowsBefore = await admin.totalRows();
  // Resident memory right after start, so the peak figures can be read as growth under load (chdb alone is large).
  const startRssMiB: Record<ServerName, number> = { noop: processMemoryMiB(noop.pid).rssMiB, capture: processMemoryMiB(capture.pid).rssMiB };
  let sentToCapture = 0;

  // ---- 1. Emulator ----------------------------------------------------------------------
  const emulator: Partial<Record<ServerName, EmulatorServerResult>> = {};
  const idle: Partial<Record<ServerName, number>> = {};
  for (const name of ['noop', 'capture'] as const) {
    const server = servers[name];
    const target = `127.0.0.1:${server.ports.grpc}`;
    log(`\n[emulator] ${name}: warm-up ${config.warmup}`);
    const warm = await runEmulatorLoad({ target, total: config.warmup, concurrency: config.concurrency, authority: `emu-warmup-${tag}.bench`, idPrefix: `warm-${tag}` });
    if (name === 'capture') {
      sentToCapture += warm.exchanges;
      await admin.waitForFlush(60_000, STABLE_MS);
    }
    // Idle CPU for context (chdb keeps background threads; the no-op server should be ~0).
    const idle0 = processCpuMicros(server.pid);
    await sleep(2000);
    idle[name] = (processCpuMicros(server.pid) - idle0) / 2 / 1000;

    const authority = `emu-${tag}.bench`;
    log(`[emulator] ${name}: ${config.exchanges} exchanges at concurrency ${config.concurrency}`);
    const result = await measureEmulatorRun({
      name,
      server,
      admin: name === 'capture' ? admin : undefined,
      serverPids: [noop.pid, capture.pid],
      load: { total: config.exchanges, concurrency: config.concurrency, authority, idPrefix: `emu-${tag}` },
    });
    if (name === 'capture') sentToCapture += result.exchanges;
    emulator[name] = result;
    log(summarizeEmulatorRun(result));
  }

  // ---- 2. h2load capacity ---------------------------------------------------------------
  const h2loadRuns: H2loadRun[] = [];
  let h2loadProblem: string | undefined;
  if (config.skipH2load) {
    h2loadProblem = 'skipped (--skip-h2load)';
  } else {
    const found = ensureH2load(log);
    if (!found.path) {
      h2loadProblem = found.problem;
      log(`\n[h2load] ${found.problem}`);
    } else {
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-bench-'));
      try {
        for (const mode of ['observability', 'acknowledged'] as const) {
          for (const name of ['noop', 'capture'] as const) {
            const server = servers[name];
            const authority = `h2load-${mode === 'observability' ? 'obs' : 'ack'}-${name}-${tag}.bench`;
            const file = path.join(workDir, `${mode}-${name}.bin`);
            const encoded = writeExchangeFile(file, { authority, observability: mode === 'observability', id: `h2load-${mode}-${tag}` });
            if (name === 'capture') await admin.waitForFlush(60_000, STABLE_MS);
            log(`\n[h2load] ${mode} → ${name}: ${config.h2loadRequests} exchanges of ${encoded.messages} messages (${encoded.bytes} bytes)`);
            const foreign = new ForeignCpu([noop.pid, capture.pid]);
            const threads0 = threadCpuMicros(server.pid);
            const cpu0 = processCpuMicros(server.pid);
            const memory = name === 'capture' ? sampleMemoryBreakdown(server.pid, admin) : undefined;
            const result = await runH2load({
              h2load: found.path,
              port: server.ports.grpc,
              dataFile: file,
              requests: config.h2loadRequests,
              connections: config.h2loadConnections,
              streamsPerConnection: config.h2loadStreams,
            });
            const loadDone = Date.now();
            const cpuLoad = processCpuMicros(server.pid) - cpu0;
            let cpuTotal = cpuLoad;
            let rowsLanded: number | undefined;
            let storeLagSeconds: number | undefined;
            if (name === 'capture') {
              sentToCapture += result.succeeded;
              const flushed = await admin.waitForFlush(120_000, STABLE_MS);
              storeLagSeconds = Math.max(0, (Date.now() - loadDone - STABLE_MS) / 1000);
              if (!flushed.settled) log('  capture service did not settle within 120 s');
              cpuTotal = processCpuMicros(server.pid) - cpu0;
              rowsLanded = await admin.waitForStableCount(() => admin.rowsFor(authority), 30_000, STABLE_MS);
            }
            const breakdown = await memory?.stop();
            const { raw, ...summary } = result;
            if (!(result.succeeded > 0)) log(`  h2load output:\n${raw}`);
            const run: H2loadRun = {
              mode,
              server: name,
              authority,
              h2load: summary,
              cpuMicrosLoad: cpuLoad,
              cpuMicrosTotal: cpuTotal,
              cpuMicrosPerExchange: cpuTotal / Math.max(1, result.succeeded),
              rowsLanded,
              storeLagSeconds,
              peakRssMiB: processMemoryMiB(server.pid).peakRssMiB,
              ...(breakdown === undefined ? {} : { memory: breakdown }),
              foreignCpuPct: foreign.percentOfCore(),
              threads: threadCpuPerExchange(threads0, threadCpuMicros(server.pid), result.succeeded),
            };
            h2loadRuns.push(run);
            log(
              `  ${fmt(result.requestsPerSecond)} exchanges/s, ${result.succeeded} succeeded, ${result.failed} failed, ${result.errored} errored; ` +
                `CPU ${fmt(run.cpuMicrosPerExchange)} µs/exchange` +
                (rowsLanded !== undefined ? `; rows ${rowsLanded}/${result.succeeded}, stored ${fmt(storeLagSeconds)} s after h2load ended` : '') +
                `; other processes ${fmt(run.foreignCpuPct)}% of a core`,
            );
            log(`  CPU by thread, µs/exchange: ${formatThreads(run.threads)}`);
          }
        }
      } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
      }
    }
  }

  // ---- 3. Scaling -------------------------------------------------------------------------
  let scaling: ScalingResult | undefined;
  if (!config.skipScaling) {
    scaling = await runScalingBench({ servers, admin, tag, exchanges: config.scalingExchanges, warmup: 0, log });
    sentToCapture += scaling.sentToCapture;
  }

  // ---- 3b. Capture levels ------------------------------------------------------------------
  let policy: PolicyRun[] | undefined;
  if (!config.skipPolicy) {
    policy = await runPolicyBench({ capture, admin, policyFile, tag, exchanges: config.policyExchanges, concurrency: config.concurrency, log });
  }

  // ---- 4. Totals, shutdown, verdicts -----------------------------------------------------
  const rowsThisRun = await admin.rowsOfRun(tag);
  const outcomes = await admin.query<{ Outcome: string; n: string }>(`SELECT Outcome, count() AS n FROM http_exchanges WHERE Authority LIKE '%-${tag}.bench' GROUP BY Outcome ORDER BY Outcome`);
  const captureCounters = await admin.counters();
  const withoutMessage = captureCounters.errors['kind="stream_without_message"'] ?? 0;
  const capturePeakRssMiB = processMemoryMiB(capture.pid).peakRssMiB;
  const noopPeakRssMiB = processMemoryMiB(noop.pid).peakRssMiB;

  log('\nstopping the capture service with SIGTERM (drain + flush)');
  const stopStarted = Date.now();
  const captureExit = await stopServer(capture, 90_000);
  const stopSeconds = (Date.now() - stopStarted) / 1000;
  await stopServer(noop, 10_000);
  // What a user sees afterwards: the CLI opens the closed store itself.
  let rowsAfterRestart: number | undefined;
  let rowsThisRunAfterRestart: number | undefined;
  try {
    const out = execFileSync(
      NODE_BIN,
      [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'query', '--data-dir', config.dataDir, `SELECT count() AS total, countIf(Authority LIKE '%-${tag}.bench') AS run FROM http_exchanges`],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    const row = JSON.parse(out.trim().split('\n')[0]) as { total: string; run: string };
    rowsAfterRestart = Number(row.total);
    rowsThisRunAfterRestart = Number(row.run);
  } catch (err) {
    log(`egress-capture query after shutdown failed: ${(err as Error).message}`);
  }

  const emuNoop = emulator.noop!;
  const emuCapture = emulator.capture!;
  const checks: Check[] = [
    check(
      `emulator: capture CPU/exchange ≤ ${TARGETS.emulatorCpuRatio}× no-op`,
      emuCapture.cpuMicrosPerExchange <= TARGETS.emulatorCpuRatio * emuNoop.cpuMicrosPerExchange,
      `${fmt(ratio(emuCapture.cpuMicrosPerExchange, emuNoop.cpuMicrosPerExchange))}×`,
      `≤ ${TARGETS.emulatorCpuRatio}×`,
    ),
    check(
      `emulator: capture p99 reply latency ≤ ${TARGETS.emulatorP99Ratio}× no-op`,
      emuCapture.p99Ms <= TARGETS.emulatorP99Ratio * emuNoop.p99Ms,
      `${fmt(emuCapture.p99Ms)} vs ${fmt(emuNoop.p99Ms)} ms (${fmt(ratio(emuCapture.p99Ms, emuNoop.p99Ms))}×)`,
      `≤ ${TARGETS.emulatorP99Ratio}×`,
    ),
    check('emulator: no failed exchange (capture)', emuCapture.failed === 0, `${emuCapture.failed} failed (no-op: ${emuNoop.failed})`, '0'),
    // A failed exchange (e.g. a message timeout) is still stored, with the outcome the server saw, so the
    // row count is compared with every exchange sent; without failures that is the issue's "= completed".
    check(
      'emulator: rows landed = exchanges sent (completed + failed)',
      emuCapture.rowsLanded === emuCapture.exchanges,
      `${emuCapture.rowsLanded} rows / ${emuCapture.completed} completed / ${emuCapture.exchanges} sent`,
      'equal',
    ),
  ];
  for (const mode of ['observability', 'acknowledged'] as const) {
    const n = h2loadRuns.find((r) => r.mode === mode && r.server === 'noop');
    const c = h2loadRuns.find((r) => r.mode === mode && r.server === 'capture');
    checks.push(
      check(
        `h2load ${mode}: capture CPU/exchange ≤ ${TARGETS.h2loadCpuRatio[mode]}× no-op`,
        n && c ? c.cpuMicrosPerExchange <= TARGETS.h2loadCpuRatio[mode] * n.cpuMicrosPerExchange : undefined,
        n && c ? `${fmt(ratio(c.cpuMicrosPerExchange, n.cpuMicrosPerExchange))}×` : '-',
        `≤ ${TARGETS.h2loadCpuRatio[mode]}×`,
      ),
      check(
        `h2load ${mode}: every exchange stored`,
        c ? c.rowsLanded === c.h2load.succeeded && c.h2load.failed === 0 && c.h2load.succeeded === c.h2load.requests : undefined,
        c ? `${c.rowsLanded} rows / ${c.h2load.succeeded} succeeded / ${c.h2load.requests} sent` : '-',
        'equal',
      ),
    );
  }
  {
    const n = h2loadRuns.find((r) => r.mode === 'acknowledged' && r.server === 'noop');
    const c = h2loadRuns.find((r) => r.mode === 'acknowledged' && r.server === 'capture');
    const rate = n && c ? ratio(c.h2load.requestsPerSecond, n.h2load.requestsPerSecond) : undefined;
    checks.push(
      check(
        `h2load acknowledged: capture exchanges/s ≥ ${TARGETS.h2loadAcknowledgedRateRatio}× no-op`,
        rate === undefined ? undefined : rate >= TARGETS.h2loadAcknowledgedRateRatio,
        rate === undefined ? '-' : `${fmt(rate)}×`,
        `≥ ${TARGETS.h2loadAcknowledgedRateRatio}×`,
      ),
    );
  }
  checks.push(
    check(`capture RSS peak during the whole bench ≤ ${TARGETS.peakRssMiB} MiB`, capturePeakRssMiB <= TARGETS.peakRssMiB, `${fmt(capturePeakRssMiB)} MiB`, `≤ ${TARGETS.peakRssMiB} MiB`),
    check(
      `capture RSS after start, idle ≤ ${TARGETS.idleRssMiB} MiB`,
      startRssMiB.capture <= TARGETS.idleRssMiB,
      `${fmt(startRssMiB.capture)} MiB (engine floor ${fmt(floor?.rssMiB ?? NaN)})`,
      `≤ ${TARGETS.idleRssMiB} MiB`,
    ),
    check(
      // A call the load client's message timer gave up on before the service read its first message (the scaling
      // section's 64 KiB point does that on a busy machine) has nothing to store; the service counts it instead.
      'after shutdown: every exchange sent is stored, or counted as ended before its first message',
      rowsThisRunAfterRestart === undefined ? false : rowsThisRunAfterRestart + withoutMessage === sentToCapture,
      `${rowsThisRunAfterRestart ?? '?'} rows of this run + ${withoutMessage} counted / ${sentToCapture} sent (store total ${rowsAfterRestart ?? '?'})`,
      'equal',
    ),
    check(
      'capture service exits 0 on SIGTERM',
      captureExit.code === 0 && !captureExit.killed,
      `code ${captureExit.code}${captureExit.signal ? ` signal ${captureExit.signal}` : ''} after ${fmt(stopSeconds)} s`,
      '0',
    ),
  );

  // ---- Report ---------------------------------------------------------------------------
  log('\n================ egress-capture bench ================');
  log(`Emulator: ${config.concurrency} concurrent exchanges, one HTTP/2 connection, JSON request ~2 KiB + SSE response 41 events, STREAMED/STREAMED`);
  log(
    table(
      ['', 'no-op', 'capture', 'capture/no-op'],
      [
        ['server CPU µs/exchange', emuNoop.cpuMicrosPerExchange, emuCapture.cpuMicrosPerExchange, ratio(emuCapture.cpuMicrosPerExchange, emuNoop.cpuMicrosPerExchange)],
        ['  of which during load', emuNoop.cpuMicrosLoad / emuNoop.exchanges, emuCapture.cpuMicrosLoad / emuCapture.exchanges, ratio(emuCapture.cpuMicrosLoad, emuNoop.cpuMicrosLoad)],
        ['reply latency p50 ms', emuNoop.p50Ms, emuCapture.p50Ms, ratio(emuCapture.p50Ms, emuNoop.p50Ms)],
        ['reply latency p99 ms', emuNoop.p99Ms, emuCapture.p99Ms, ratio(emuCapture.p99Ms, emuNoop.p99Ms)],
        ['reply latency max ms', emuNoop.maxMs, emuCapture.maxMs, ratio(emuCapture.maxMs, emuNoop.maxMs)],
        ['exchanges/s', emuNoop.exchangesPerSecond, emuCapture.exchangesPerSecond, ratio(emuCapture.exchangesPerSecond, emuNoop.exchangesPerSecond)],
        ['RSS at start MiB', startRssMiB.noop, startRssMiB.capture, ratio(startRssMiB.capture, startRssMiB.noop)],
        ['  engine floor (Node + store only) MiB', '-', floor?.rssMiB ?? NaN, ''],
        ['peak RSS MiB (after emulator)', emuNoop.peakRssMiB, emuCapture.peakRssMiB, ratio(emuCapture.peakRssMiB, emuNoop.peakRssMiB)],
        ['idle CPU ms/s', idle.noop ?? NaN, idle.capture ?? NaN, ''],
        ['exchanges sent', emuNoop.exchanges, emuCapture.exchanges, ''],
        ['failed exchanges', emuNoop.failed, emuCapture.failed, ''],
        ['rows landed', '-', emuCapture.rowsLanded ?? NaN, ''],
        ['other processes % of a core', emuNoop.foreignCpuPct, emuCapture.foreignCpuPct, ''],
      ],
    ),
  );
  if (h2loadRuns.length > 0) {
    log(`\nCapacity (h2load -c ${config.h2loadConnections} -m ${config.h2loadStreams}, ${config.h2loadRequests} exchanges per run, pre-encoded, sent without waiting)`);
    const rows: Array<Array<string | number>> = [];
    for (const mode of ['observability', 'acknowledged'] as const) {
      const n = h2loadRuns.find((r) => r.mode === mode && r.server === 'noop');
      const c = h2loadRuns.find((r) => r.mode === mode && r.server === 'capture');
      for (const r of [n, c]) {
        if (!r) continue;
        rows.push([
          mode,
          r.server,
          r.h2load.requestsPerSecond,
          r.cpuMicrosPerExchange,
          r === c && n ? ratio(c.cpuMicrosPerExchange, n.cpuMicrosPerExchange) : '',
          `${r.h2load.succeeded}/${r.h2load.requests}`,
          r.h2load.failed + r.h2load.errored + r.h2load.timeout,
          r.rowsLanded ?? '-',
          r.storeLagSeconds ?? '-',
          r.peakRssMiB,
          r.foreignCpuPct,
        ]);
      }
    }
    log(table(['mode', 'server', 'exchanges/s', 'CPU µs/ex', 'ratio', 'succeeded', 'failed', 'rows', 'store lag s', 'peak RSS MiB', 'other %'], rows));
  } else {
    log(`\nCapacity (h2load): ${h2loadProblem}`);
  }
  const memoryRuns: Array<[string, MemoryBreakdown | undefined]> = [
    ['emulator', emuCapture.memory],
    ...h2loadRuns.filter((r) => r.server === 'capture').map((r): [string, MemoryBreakdown | undefined] => [`h2load ${r.mode}`, r.memory]),
  ];
  log(
    `\n${MEMORY_TITLE}\n${table(
      ['run', ...BREAKDOWN_COLUMNS.map(([, header]) => header)],
      memoryRuns.map(([run, m]) => [run, ...BREAKDOWN_COLUMNS.map(([key]) => (m === undefined ? '-' : m[key]))]),
    )}`,
  );
  log(scaling ? `\n${SCALING_TITLE}\n${scalingTable(scaling)}` : '\nScaling: skipped (--skip-scaling)');
  log(policy ? `\n${POLICY_TITLE}\n${policyTable(policy)}` : '\nCapture levels: skipped (--skip-policy)');
  log(`\nCapture service: rows before ${rowsBefore}, this run ${rowsThisRun} of ${sentToCapture} exchanges sent; outcomes ${outcomes.map((o) => `${o.Outcome}=${o.n}`).join(' ')}`);
  log(`  ${describeCounters(captureCounters)}, warn+ log lines ${JSON.stringify(capture.problemCounts)}`);
  for (const line of capture.problems.slice(-5)) log(`    ${line}`);
  log(
    `  after SIGTERM (exit ${captureExit.code}, ${fmt(stopSeconds)} s): egress-capture query --data-dir ${displayPath(config.dataDir)} counts ${rowsAfterRestart ?? '?'} rows (${rowsThisRunAfterRestart ?? '?'} from this run)`,
  );
  if (Object.keys(noop.problemCounts).length > 0) log(`  no-op server problems: ${JSON.stringify(noop.problemCounts)} ${noop.problems.slice(-3).join(' | ')}`);

  const busiest = Math.max(
    emuNoop.foreignCpuPct,
    emuCapture.foreignCpuPct,
    ...h2loadRuns.map((r) => r.foreignCpuPct),
    ...(scaling?.runs ?? []).flatMap((r) => [r.noop.foreignCpuPct, r.capture.foreignCpuPct]),
    ...(policy ?? []).map((r) => r.result.foreignCpuPct),
  );
  if (busiest > FOREIGN_CPU_WARN_PCT) {
    log(
      `\nWARNING: other processes used up to ${fmt(busiest)}% of a core during the measurements (this machine has ${os.cpus().length}); CPU, latency and failure figures are skewed. Rerun on a quiet machine.`,
    );
  }
  const minter = await runMinterBench(log);
  checks.push(...minter.checks);
  log('\nTargets (the hot path: ratios to the no-op in this run, memory ceilings; the certificate minter)');
  log(
    table(
      ['check', 'value', 'target', 'verdict'],
      checks.map((c) => [c.name, c.value, c.target, verdict(c.pass)]),
    ),
  );

  const results = {
    tag,
    startedAt,
    node: { client: process.version, servers: serverNode },
    cpus: os.cpus().length,
    config: { ...config, repoRoot: undefined },
    emulator: { noop: emuNoop, capture: emuCapture, idleCpuMsPerSecond: idle, startRssMiB, engineFloor: floor ?? 'not measured' },
    h2load: { problem: h2loadProblem, runs: h2loadRuns },
    scaling: scaling?.runs ?? 'skipped (--skip-scaling)',
    policy: policy ?? 'skipped (--skip-policy)',
    capture: {
      dataDir: config.dataDir,
      rowsBefore,
      rowsThisRun,
      sentThisRun: sentToCapture,
      outcomes,
      counters: captureCounters,
      peakRssMiB: capturePeakRssMiB,
      logProblems: capture.problemCounts,
      exit: { ...captureExit, seconds: stopSeconds },
      rowsAfterRestart,
      rowsThisRunAfterRestart,
    },
    noop: { peakRssMiB: noopPeakRssMiB, logProblems: noop.problemCounts },
    minter: minter.result,
    checks,
    foreignCpuMaxPct: busiest,
  };
  return writeResults('bench-results.json', results);
}

/** Writes a section's results as dist/<file> and says where. */
function writeResults(file: string, results: object): number {
  const out = path.join(REPO_ROOT, 'dist', file);
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nresults written to ${path.relative(REPO_ROOT, out)}`);
  return 0;
}

/** The capture service's error and drop counters, as the report prints them. */
function describeCounters(counters: { errors: Record<string, number>; rowsDropped: Record<string, number> }): string {
  return `errors ${JSON.stringify(counters.errors)}, rows dropped ${JSON.stringify(counters.rowsDropped)}`;
}

/** The 1, 5 and 15 minute load averages, for the header of a run (a busy machine skews every figure). */
function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** A tag per bench run: every exchange's Authority carries it, so this run's rows are countable in a data dir that keeps older runs. */
function runIdentity(): { tag: string; startedAt: string; serverNode: string } {
  const tag = Date.now().toString(36);
  const serverNode = execFileSync(NODE_BIN, ['--version'], { encoding: 'utf8' }).trim();
  log(`egress-capture bench ${tag}: client on node ${process.version}, servers on node ${serverNode} (${NODE_BIN}), ${os.cpus().length} CPUs`);
  return { tag, startedAt: new Date().toISOString(), serverNode };
}

/** The no-op server and the capture service on the bench's data dir, both registered for cleanup. */
async function startServers(config: BenchConfig): Promise<{ servers: Record<ServerName, ServerProcess>; admin: CaptureAdmin; policyFile: string }> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const files = writePolicyBenchFiles(path.join(REPO_ROOT, 'dist', 'bench-policy'));
  const noop = await startNoopServer();
  let capture: ServerProcess;
  try {
    // The capture levels section rewrites this policy; until then it keeps everything in full, as without one.
    capture = await startCaptureService(config.dataDir, config.cpuProfileDir, ['--capture-policy', files.policyFile, '--provider-mapping', files.mappingFile]);
  } catch (err) {
    await stopServer(noop);
    throw err;
  }
  started.push(noop, capture);
  log(`  no-op server pid ${noop.pid} on :${noop.ports.grpc}; capture service pid ${capture.pid} on :${capture.ports.grpc} (admin :${capture.ports.admin})`);
  return { servers: { noop, capture }, admin: new CaptureAdmin(`http://127.0.0.1:${capture.ports.admin}`), policyFile: files.policyFile };
}

/** What a one-section results file says about its run: which, when, on what, with which settings. */
function sectionRunFacts(tag: string, startedAt: string, serverNode: unknown, config: BenchConfig): Record<string, unknown> {
  return { tag, startedAt, node: { client: process.version, servers: serverNode }, cpus: os.cpus().length, loadAverage: os.loadavg(), config: { ...config, repoRoot: undefined } };
}

/** `--only policy`: the capture service, a warm-up, each capture level, then a clean shutdown. */
async function policyOnly(config: BenchConfig): Promise<number> {
  const { tag, startedAt, serverNode } = runIdentity();
  log(`  capture levels only: ${config.policyExchanges} exchanges/level (+${config.warmup} warm-up); load average ${loadAverage()}; data dir ${config.dataDir}`);
  const { servers, admin, policyFile } = await startServers(config);
  await stopServer(servers.noop, 10_000);
  const capture = servers.capture;
  log(`\n[policy] warm-up ${config.warmup}`);
  await runEmulatorLoad({ target: `127.0.0.1:${capture.ports.grpc}`, total: config.warmup, concurrency: config.concurrency, authority: `policy-warmup-${tag}.bench`, idPrefix: `policy-warm-${tag}` });
  await admin.waitForFlush(60_000, STABLE_MS);
  const policy = await runPolicyBench({ capture, admin, policyFile, tag, exchanges: config.policyExchanges, concurrency: config.concurrency, log });
  const counters = await admin.counters();
  const captureExit = await stopServer(capture, 90_000);
  log(`\n${POLICY_TITLE}\n${policyTable(policy)}`);
  log(`\ncapture service: exit ${captureExit.code} on SIGTERM; ${describeCounters(counters)}, warn+ log lines ${JSON.stringify(capture.problemCounts)}`);
  return writeResults('bench-policy-results.json', {
    ...sectionRunFacts(tag, startedAt, serverNode, config),
    policy,
    capture: { counters, exit: captureExit, logProblems: capture.problemCounts },
  });
}

/** `--only scaling`: both servers, a warm-up, the scaling points, then a clean shutdown. */
async function scalingOnly(config: BenchConfig): Promise<number> {
  const { tag, startedAt, serverNode } = runIdentity();
  log(`  scaling only: ${config.scalingExchanges} exchanges/point (+${config.warmup} warm-up); load average ${loadAverage()}; data dir ${config.dataDir}`);
  const { servers, admin } = await startServers(config);
  const scaling = await runScalingBench({ servers, admin, tag, exchanges: config.scalingExchanges, warmup: config.warmup, log });
  const rowsThisRun = await admin.rowsOfRun(tag);
  const counters = await admin.counters();
  const captureExit = await stopServer(servers.capture, 90_000);
  await stopServer(servers.noop, 10_000);
  log(`\n${SCALING_TITLE}\n${scalingTable(scaling)}`);
  log(`\ncapture service: ${rowsThisRun} rows of this run / ${scaling.sentToCapture} exchanges sent; exit ${captureExit.code} on SIGTERM`);
  log(`  ${describeCounters(counters)}, exchanges by outcome ${JSON.stringify(counters.exchanges)}, warn+ log lines ${JSON.stringify(servers.capture.problemCounts)}`);
  return writeResults('bench-scaling-results.json', {
    ...sectionRunFacts(tag, startedAt, serverNode, config),
    scaling: scaling.runs,
    capture: { rowsThisRun, sentThisRun: scaling.sentToCapture, counters, exit: captureExit, logProblems: servers.capture.problemCounts },
  });
}

/** `--only minter`: the certificate minter's section alone, with its verdicts. */
async function minterOnly(): Promise<number> {
  log(`egress-capture bench, certificate minter only: node ${process.version}, ${os.cpus().length} CPUs, load average ${loadAverage()}`);
  const minter = await runMinterBench(log);
  log('\nTargets (issue #13)');
  log(
    table(
      ['check', 'value', 'target', 'verdict'],
      minter.checks.map((c) => [c.name, c.value, c.target, verdict(c.pass)]),
    ),
  );
  return writeResults('bench-minter-results.json', { startedAt: new Date().toISOString(), loadAverage: os.loadavg(), minter: minter.result, checks: minter.checks });
}

/** `--only browser`: the capture browser's list, search and chart queries over a large store. */
async function browserOnly(rows: number): Promise<number> {
  log(`egress-capture bench, capture browser queries over ${rows.toLocaleString('en-US')} exchanges: node ${process.version}, ${os.cpus().length} CPUs, load average ${loadAverage()}`);
  const browser = await runBrowserBench(rows, log);
  log('\nTargets (issue #14)');
  log(
    table(
      ['check', 'value', 'target', 'verdict'],
      browser.checks.map((c) => [c.name, c.value, c.target, verdict(c.pass)]),
    ),
  );
  return writeResults('bench-browser-results.json', { startedAt: new Date().toISOString(), loadAverage: os.loadavg(), rows, ...browser });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
    for (const server of started) void stopServer(server, 30_000);
  },
);
