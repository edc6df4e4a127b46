/**
 * The certificate minter's section of `npm run bench` (issue #13 §5), in a
 * child process of its own so its memory figure is the minter's alone:
 *
 *  - mint: 10,000 distinct names through the path an SDS request takes
 *    (name check, CA lookup, key, certificate, signature, encoded Secret,
 *    cache insert): latency p50/p99 and certificates per second;
 *  - cache hit: the same 10,000 names again: latency p50/p99;
 *  - memory: RSS and heap growth with the 10,000 leaves cached, after a GC;
 *  - SDS round trip: one name at a time subscribed on one Delta stream over
 *    loopback gRPC, answered by a fresh mint: p50/p99 (what a handshake waits).
 *
 * `npm run bench -- --only minter` runs this section alone.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as prom from 'prom-client';
import { createCa } from '../../src/certificates/ca-certificate';
import { CertificateMinter } from '../../src/certificates/certificate-minter';
import { configWith } from '../../src/config/runtime-config';
import { silentLogger } from '../../src/logger';
import { DeltaSdsClient } from '../support/delta-sds-client';
import { check, fmt, table, type Check } from './report';
import { NODE_BIN } from './server-process';

const NAMES = 10_000;
const ROUND_TRIPS = 1_000;
const WARMUP = 300;
const MiB = 1024 * 1024;

export interface MinterBenchResult {
  names: number;
  caKey: string;
  mint: { p50Ms: number; p99Ms: number; maxMs: number; perSecond: number };
  cacheHit: { p50Ms: number; p99Ms: number };
  memory: { rssBeforeMiB: number; rssAfterMiB: number; rssGrowthMiB: number; heapGrowthMiB: number; externalGrowthMiB: number; cachedLeaves: number };
  sdsRoundTrip: { count: number; p50Ms: number; p99Ms: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Runs in the child (`node --expose-gc minter-bench.js --child`): prints one JSON line. */
async function measure(): Promise<MinterBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-minter-bench-'));
  const ca = createCa({ commonName: 'Bench CA', notAfter: new Date(Date.now() + 365 * 86400e3) });
  fs.writeFileSync(path.join(dir, 'tls.crt'), ca.certificatePem);
  fs.writeFileSync(path.join(dir, 'tls.key'), ca.keyPem);
  const config = configWith({ sdsListen: { host: '127.0.0.1', port: 0 }, caCertFile: path.join(dir, 'tls.crt'), caKeyFile: path.join(dir, 'tls.key'), sdsMaxCerts: NAMES + ROUND_TRIPS + WARMUP });
  const minter = (await CertificateMinter.start(config, silentLogger(), new prom.Registry()))!;
  const source = minter.source;
  try {
    for (let i = 0; i < WARMUP; i++) source.resolve('', `warmup-${i}.bench.example`);
    gc();
    const rssBefore = process.memoryUsage();
    const names = Array.from({ length: NAMES }, (_, i) => `host-${i}.api-${i % 97}.bench.example`);
    const mintMs: number[] = [];
    const started = process.hrtime.bigint();
    for (const name of names) {
      const t = process.hrtime.bigint();
      if (!source.resolve('', name).ok) throw new Error(`no leaf for ${name}`);
      mintMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const totalSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const hitMs: number[] = [];
    for (const name of names) {
      const t = process.hrtime.bigint();
      source.resolve('', name);
      hitMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    gc();
    const after = process.memoryUsage();
    const cachedLeaves = source.cache.size;
    mintMs.sort((a, b) => a - b);
    hitMs.sort((a, b) => a - b);

    // SDS round trip: subscribe one new name at a time, wait for its leaf.
    const client = new DeltaSdsClient({ address: `127.0.0.1:${minter.server.boundPort}` });
    client.connect([]);
    const tripMs: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const name = `trip-${i}.bench.example`;
      const t = process.hrtime.bigint();
      client.subscribe([name]);
      await client.until(name, () => client.held.has(name));
      tripMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    client.close();
    tripMs.sort((a, b) => a - b);
    return {
      names: NAMES,
      caKey: 'ecdsa-prime256v1',
      mint: { p50Ms: percentile(mintMs, 0.5), p99Ms: percentile(mintMs, 0.99), maxMs: mintMs[mintMs.length - 1]!, perSecond: NAMES / totalSeconds },
      cacheHit: { p50Ms: percentile(hitMs, 0.5), p99Ms: percentile(hitMs, 0.99) },
      memory: {
        rssBeforeMiB: rssBefore.rss / MiB,
        rssAfterMiB: after.rss / MiB,
        rssGrowthMiB: (after.rss - rssBefore.rss) / MiB,
        heapGrowthMiB: (after.heapUsed - rssBefore.heapUsed) / MiB,
        externalGrowthMiB: (after.external + after.arrayBuffers - rssBefore.external - rssBefore.arrayBuffers) / MiB,
        cachedLeaves,
      },
      sdsRoundTrip: { count: ROUND_TRIPS, p50Ms: percentile(tripMs, 0.5), p99Ms: percentile(tripMs, 0.99) },
    };
  } finally {
    await minter.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the section in a child on the pinned Node and returns its figures and verdicts. */
export async function runMinterBench(log: (line: string) => void): Promise<{ result: MinterBenchResult; checks: Check[] }> {
  const { stdout } = await promisify(execFile)(NODE_BIN, ['--expose-gc', __filename, '--child'], { maxBuffer: 16 * MiB });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as MinterBenchResult;
  const checks = [
    check('minter: mint p99 ≤ 5 ms', result.mint.p99Ms <= 5, `${fmt(result.mint.p99Ms)} ms`, '≤ 5 ms'),
    check('minter: cache hit p99 ≤ 0.5 ms', result.cacheHit.p99Ms <= 0.5, `${fmt(result.cacheHit.p99Ms)} ms`, '≤ 0.5 ms'),
    check(`minter: ${NAMES} cached leaves ≤ 64 MiB (RSS growth)`, result.memory.rssGrowthMiB <= 64, `${fmt(result.memory.rssGrowthMiB)} MiB`, '≤ 64 MiB'),
  ];
  log(`\nCertificate minter (${result.names} distinct names, CA ${result.caKey}, leaves ECDSA P-256; in its own process)`);
  log(
    table(
      ['', 'p50', 'p99', 'other'],
      [
        ['mint ms (resolve, cache miss)', result.mint.p50Ms, result.mint.p99Ms, `max ${fmt(result.mint.maxMs)} ms, ${fmt(result.mint.perSecond)} certificates/s`],
        ['cache hit ms', result.cacheHit.p50Ms, result.cacheHit.p99Ms, ''],
        [`SDS round trip ms (${result.sdsRoundTrip.count} new names, one stream)`, result.sdsRoundTrip.p50Ms, result.sdsRoundTrip.p99Ms, ''],
      ],
    ),
  );
  log(
    `  memory with ${result.memory.cachedLeaves} cached leaves: RSS ${fmt(result.memory.rssBeforeMiB)} → ${fmt(result.memory.rssAfterMiB)} MiB ` +
      `(+${fmt(result.memory.rssGrowthMiB)}), heap +${fmt(result.memory.heapGrowthMiB)} MiB, buffers +${fmt(result.memory.externalGrowthMiB)} MiB`,
  );
  return { result, checks };
}

if (require.main === module && process.argv.includes('--child')) {
  measure().then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      process.stderr.write(`minter bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
