/**
 * h2load (nghttp2-client) as the capacity load generator: a C client that
 * keeps up with the servers where the Node emulator saturates its own core.
 * Installed on demand from the Debian archive; when that fails the bench says
 * so and skips the capacity part.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export function h2loadPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v h2load'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

function apt(args: string[], log: (line: string) => void): boolean {
  log(`  $ apt-get ${args.join(' ')}`);
  const run = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 180_000,
  });
  if (run.status !== 0) {
    const why = run.error?.message ?? (run.stderr || run.stdout).trim().split('\n').slice(-3).join(' | ');
    log(`    failed (status ${run.status}): ${why}`);
  }
  return run.status === 0;
}

/** Finds h2load, installing nghttp2-client (apt-get update first only if a plain install fails). */
export function ensureH2load(log: (line: string) => void): { path?: string; problem?: string } {
  let path = h2loadPath();
  if (path) return { path };
  log('h2load not found: installing the Debian package nghttp2-client');
  if (!apt(['install', '-y', '--no-install-recommends', 'nghttp2-client'], log)) {
    apt(['update'], log);
    apt(['install', '-y', '--no-install-recommends', 'nghttp2-client'], log);
  }
  path = h2loadPath();
  if (path) return { path };
  return { problem: 'h2load is not installed and `apt-get install -y nghttp2-client` did not succeed (needs root and the Debian archive); capacity runs skipped' };
}

export interface H2loadResult {
  requests: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status2xx: number;
  wallSeconds: number;
  requestsPerSecond: number;
  raw: string;
}

function field(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : NaN;
}

function durationSeconds(match: RegExpExecArray | null): number {
  if (!match) return NaN;
  const scale = { us: 1e-6, ms: 1e-3, s: 1 }[match[2] as 'us' | 'ms' | 's'];
  return Number(match[1]) * scale;
}

export function parseH2loadOutput(text: string): H2loadResult {
  return {
    requests: field(text, /requests: (\d+) total/),
    succeeded: field(text, /(\d+) succeeded/),
    failed: field(text, /(\d+) failed/),
    errored: field(text, /(\d+) errored/),
    timeout: field(text, /(\d+) timeout/),
    status2xx: field(text, /status codes: (\d+) 2xx/),
    // h2load prints the duration in the largest fitting unit: "finished in 481.65ms" or "… 5.12s".
    wallSeconds: durationSeconds(/finished in ([\d.]+)(us|ms|s),/.exec(text)),
    requestsPerSecond: field(text, /finished in [\d.]+(?:us|ms|s), ([\d.]+) req\/s/),
    raw: text,
  };
}

/** One h2load run posting `dataFile` on every stream as a gRPC ExternalProcessor/Process call. */
export function runH2load(options: { h2load: string; port: number; dataFile: string; requests: number; connections: number; streamsPerConnection: number }): Promise<H2loadResult> {
  const args = [
    '-d',
    options.dataFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '-n',
    String(options.requests),
    '-c',
    String(options.connections),
    '-m',
    String(options.streamsPerConnection),
    `http://127.0.0.1:${options.port}/envoy.service.ext_proc.v3.ExternalProcessor/Process`,
  ];
  return runH2loadArgs(options.h2load, args);
}

/** Runs h2load with `args` and parses its summary (rejects only when it printed none). */
export function runH2loadArgs(h2load: string, args: string[]): Promise<H2loadResult> {
  return new Promise((resolve, reject) => {
    execFile(h2load, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`;
      const result = parseH2loadOutput(text);
      if (err && !Number.isFinite(result.requests)) reject(new Error(`h2load failed: ${err.message}\n${text}`));
      else resolve(result);
    });
  });
}

/** Per-request figures from h2load's --log-file (start µs since epoch, status, µs until end of response). */
export interface H2loadLog {
  /** End-of-response latency of every request with a status, in ms, sorted. */
  latenciesMs: number[];
  /** Requests logged with status -1 (stream failed). */
  failed: number;
  /** Requests by status code. */
  statuses: Record<string, number>;
}

export function readH2loadLog(file: string): H2loadLog {
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  let failed = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [, status, micros] = line.split('\t');
    if (status === undefined || micros === undefined) continue;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === '-1') failed++;
    else latenciesMs.push(Number(micros) / 1000);
  }
  latenciesMs.sort((a, b) => a - b);
  return { latenciesMs, failed, statuses };
}

/** The q-quantile (nearest rank) of ascending `sorted`. */
export function sortedQuantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
