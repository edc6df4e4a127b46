/**
 * `npm run bench:envoy` settings: flags (`--seconds 5`) over env
 * (`BENCH_ENVOY_SECONDS=5`) over defaults. The defaults give each fixed-rate
 * and each maximum point 10 s, about 6 minutes for the whole run on a 2-core machine.
 */
import { ENVOY_VERSIONS } from '../envoy/envoy-install';
import { loadSettings, settingsHelp, type SettingSpec } from './bench-config';

export type Answer = 'sse' | 'json';

export interface EnvoyBenchSettings {
  /** Fixed request rates, comma-separated requests/s. */
  rates: string;
  /** Seconds of load per fixed-rate point. */
  seconds: number;
  /** Seconds of load per maximum-throughput point, roughly: the request count is sized from the warm-up's rate. */
  maxSeconds: number;
  /** h2load clients = HTTP/2 connections to Envoy. */
  clients: number;
  /** Streams in flight per connection at the maximum (closed loop). */
  maxStreams: number;
  /** Requests per configuration and answer before measuring (JIT, connections, first batches), closed loop like the maximum. */
  warmup: number;
  /** Answers to measure, comma-separated: sse, json. */
  answers: string;
  envoyVersion: string;
}

export interface EnvoyBenchConfig extends Omit<EnvoyBenchSettings, 'rates' | 'answers'> {
  rates: number[];
  answers: Answer[];
}

const SPECS: Array<SettingSpec<EnvoyBenchSettings>> = [
  { key: 'rates', flag: 'rates', env: 'BENCH_ENVOY_RATES', kind: 'string', def: '300,1000', help: 'fixed request rates, requests/s, comma-separated' },
  { key: 'seconds', flag: 'seconds', env: 'BENCH_ENVOY_SECONDS', kind: 'int', def: 10, help: 'seconds per fixed-rate point' },
  { key: 'maxSeconds', flag: 'max-seconds', env: 'BENCH_ENVOY_MAX_SECONDS', kind: 'int', def: 10, help: 'seconds per maximum point (a request count sized from the warm-up rate)' },
  { key: 'clients', flag: 'clients', env: 'BENCH_ENVOY_CLIENTS', kind: 'int', def: 4, help: 'h2load clients (HTTP/2 connections to Envoy)' },
  { key: 'maxStreams', flag: 'max-streams', env: 'BENCH_ENVOY_MAX_STREAMS', kind: 'int', def: 4, help: 'streams in flight per connection at the maximum (closed loop)' },
  { key: 'warmup', flag: 'warmup', env: 'BENCH_ENVOY_WARMUP', kind: 'int', def: 1000, help: 'warm-up requests per configuration and answer' },
  { key: 'answers', flag: 'answers', env: 'BENCH_ENVOY_ANSWERS', kind: 'string', def: 'sse,json', help: 'upstream answers to measure: sse, json' },
  { key: 'envoyVersion', flag: 'envoy-version', env: 'BENCH_ENVOY_VERSION', kind: 'string', def: ENVOY_VERSIONS[0], help: `Envoy version (${ENVOY_VERSIONS.join(', ')})` },
];

export function envoyBenchHelp(): string {
  return settingsHelp('npm run bench:envoy', SPECS);
}

export function loadEnvoyBenchConfig(argv: string[], env: NodeJS.ProcessEnv): EnvoyBenchConfig {
  const settings = loadSettings(SPECS, argv, env);
  const rates = settings.rates.split(',').map((r) => Number(r.trim()));
  const answers = settings.answers.split(',').map((a) => a.trim());
  const problems: string[] = [];
  if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1)) problems.push(`rates=${settings.rates} (expected whole numbers ≥ 1)`);
  if (answers.length === 0 || answers.some((a) => a !== 'sse' && a !== 'json')) problems.push(`answers=${settings.answers} (expected sse and/or json)`);
  if (!(ENVOY_VERSIONS as readonly string[]).includes(settings.envoyVersion)) problems.push(`envoy-version=${settings.envoyVersion} (expected one of ${ENVOY_VERSIONS.join(', ')})`);
  if (problems.length > 0) throw new Error(`invalid bench settings: ${problems.join(', ')}`);
  return { ...settings, rates, answers: answers as Answer[] };
}
