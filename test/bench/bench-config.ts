/**
 * Bench settings: flags (`--concurrency 50`) over env (`BENCH_CONCURRENCY=50`)
 * over defaults. Defaults size each emulator run at roughly 15-20 s on a
 * 2-core machine (the Node client tops out near 700 exchanges/s) and keep the
 * whole bench under about four minutes, plus two to three for the scaling
 * section.
 */
import * as path from 'node:path';

export interface BenchConfig {
  /** Emulator exchanges in flight at once. */
  concurrency: number;
  /** Measured emulator exchanges per server. */
  exchanges: number;
  /** Emulator exchanges per server before measuring (JIT, connection, first batches). */
  warmup: number;
  /** h2load: requests (= exchanges) per run, connections, streams per connection. */
  h2loadRequests: number;
  h2loadConnections: number;
  h2loadStreams: number;
  skipH2load: boolean;
  /** Exchanges per scaling point and server (a point with many streams runs at least two per stream). */
  scalingExchanges: number;
  skipScaling: boolean;
  /** Emulator exchanges per capture level and Envoy mode in the capture policy section. */
  policyExchanges: number;
  skipPolicy: boolean;
  /** `all`, or `scaling` / `minter` / `browser` for that section alone. */
  only: string;
  /** Stored exchanges the capture browser's queries run over (`--only browser`). */
  browserRows: number;
  /** Capture service data directory; ./data (the CLI's default) so `egress-capture query` sees the rows afterwards. */
  dataDir: string;
  /** When set, V8 CPU profiles of the capture service (main thread and workers) are written here. */
  cpuProfileDir: string;
  repoRoot: string;
}

/** One setting: its flag, its environment twin, how to read it, its default. */
export interface SettingSpec<T> {
  key: keyof T & string;
  flag: string;
  env: string;
  kind: 'int' | 'bool' | 'string';
  def: number | boolean | string;
  help: string;
}

const SPECS: Array<SettingSpec<BenchConfig>> = [
  { key: 'concurrency', flag: 'concurrency', env: 'BENCH_CONCURRENCY', kind: 'int', def: 50, help: 'emulator exchanges in flight' },
  { key: 'exchanges', flag: 'exchanges', env: 'BENCH_EXCHANGES', kind: 'int', def: 12_000, help: 'measured emulator exchanges per server' },
  { key: 'warmup', flag: 'warmup', env: 'BENCH_WARMUP', kind: 'int', def: 500, help: 'emulator warm-up exchanges per server' },
  { key: 'h2loadRequests', flag: 'h2load-requests', env: 'BENCH_H2LOAD_REQUESTS', kind: 'int', def: 20_000, help: 'h2load exchanges per run' },
  { key: 'h2loadConnections', flag: 'h2load-connections', env: 'BENCH_H2LOAD_CONNECTIONS', kind: 'int', def: 2, help: 'h2load connections (-c)' },
  { key: 'h2loadStreams', flag: 'h2load-streams', env: 'BENCH_H2LOAD_STREAMS', kind: 'int', def: 25, help: 'h2load concurrent streams per connection (-m)' },
  { key: 'skipH2load', flag: 'skip-h2load', env: 'BENCH_SKIP_H2LOAD', kind: 'bool', def: false, help: 'skip the h2load capacity runs' },
  {
    key: 'scalingExchanges',
    flag: 'scaling-exchanges',
    env: 'BENCH_SCALING_EXCHANGES',
    kind: 'int',
    def: 1500,
    help: 'emulator exchanges per scaling point and server (at least twice the streams in flight)',
  },
  { key: 'skipScaling', flag: 'skip-scaling', env: 'BENCH_SKIP_SCALING', kind: 'bool', def: false, help: 'skip the scaling section (body sizes, streams in flight)' },
  { key: 'policyExchanges', flag: 'policy-exchanges', env: 'BENCH_POLICY_EXCHANGES', kind: 'int', def: 1500, help: 'emulator exchanges per capture level and Envoy mode (policy section)' },
  { key: 'skipPolicy', flag: 'skip-policy', env: 'BENCH_SKIP_POLICY', kind: 'bool', def: false, help: 'skip the capture policy section (CPU per exchange at each capture level)' },
  {
    key: 'only',
    flag: 'only',
    env: 'BENCH_ONLY',
    kind: 'string',
    def: 'all',
    help: "run one section only: scaling (body sizes and streams in flight), policy (capture levels), minter, or browser (the capture browser's queries over --browser-rows stored exchanges; default: all)",
  },
  { key: 'browserRows', flag: 'browser-rows', env: 'BENCH_BROWSER_ROWS', kind: 'int', def: 1_000_000, help: "stored exchanges for the capture browser's queries (--only browser)" },
  { key: 'dataDir', flag: 'data-dir', env: 'BENCH_DATA_DIR', kind: 'string', def: './data', help: 'capture service data directory' },
  {
    key: 'cpuProfileDir',
    flag: 'cpu-prof-dir',
    env: 'BENCH_CPU_PROF_DIR',
    kind: 'string',
    def: '',
    help: 'write V8 CPU profiles of the capture service here (open in Chrome DevTools); profiling costs CPU, so figures of such a run are not comparable',
  },
];

export function benchHelp(): string {
  return settingsHelp('npm run bench', SPECS);
}

export function settingsHelp<T>(command: string, specs: Array<SettingSpec<T>>): string {
  return `usage: ${command} -- [options]\n\n${specs.map((s) => `  --${s.flag.padEnd(20)} ${s.help} (env ${s.env}, default ${s.def})`).join('\n')}\n`;
}

export function loadBenchConfig(argv: string[], env: NodeJS.ProcessEnv, repoRoot: string): BenchConfig {
  const values = loadSettings(SPECS, argv, env);
  return { ...values, repoRoot, dataDir: path.resolve(repoRoot, values.dataDir), cpuProfileDir: values.cpuProfileDir === '' ? '' : path.resolve(values.cpuProfileDir) };
}

/** Flags (`--name value`, `--name=value`, a bare `--flag` for booleans) over env over defaults; throws listing every bad value. */
export function loadSettings<T>(specs: Array<SettingSpec<T>>, argv: string[], env: NodeJS.ProcessEnv): T {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const spec of specs) {
    const at = argv.findIndex((a) => a === `--${spec.flag}` || a.startsWith(`--${spec.flag}=`));
    let raw: string | undefined = env[spec.env];
    if (at >= 0) {
      const arg = argv[at];
      if (arg.includes('=')) raw = arg.slice(arg.indexOf('=') + 1);
      else if (spec.kind === 'bool') raw = 'true';
      else raw = argv[at + 1];
    }
    if (raw === undefined || raw === '') {
      values[spec.key] = spec.def;
    } else if (spec.kind === 'int') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1) problems.push(`${spec.flag}=${raw} (expected a whole number ≥ 1)`);
      values[spec.key] = n;
    } else if (spec.kind === 'bool') {
      values[spec.key] = /^(1|true|yes)$/i.test(raw);
    } else {
      values[spec.key] = raw;
    }
  }
  if (problems.length > 0) throw new Error(`invalid bench settings: ${problems.join(', ')}`);
  return values as T;
}
