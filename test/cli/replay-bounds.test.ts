/**
 * `replay` against an endpoint nothing listens on gives up within --timeout
 * (or after --max-retries) and exits 1 saying why, instead of retrying for
 * about ten minutes.
 */
import { DEFAULTS } from '../../src/config/defaults';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedStore } from '../../src/sinks/clickhouse/embedded-store';
import { TABLE } from '../../src/sinks/clickhouse/schema';
import { closedPort, runInProcess } from './cli-helpers';

describe('egress-capture replay to an unreachable endpoint', () => {
  // chdb opens one data directory per process: every case here uses this one.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-replay-bounds-'));
  let endpoint: string;

  beforeAll(async () => {
    const store = new EmbeddedStore({ dataDir, ttlDays: 30, memory: DEFAULTS });
    await store.open();
    await store.query(`INSERT INTO ${TABLE} (Timestamp, CaptureId, Authority) VALUES (now64(9), 'replay-bounds-1', 'replay.test')`);
    await store.close();
    endpoint = `http://127.0.0.1:${await closedPort()}`;
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const replay = async (extra: string[]): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> => {
    const started = Date.now();
    const result = await runInProcess(['replay', '--data-dir', dataDir, '--since', '-1h', '--endpoint', endpoint, ...extra]);
    return { ...result, seconds: (Date.now() - started) / 1000 };
  };

  it('gives up within --timeout', async () => {
    const result = await replay(['--timeout', '3s']);
    expect(result.code).toBe(1);
    // Room for a loaded machine; without the bound replay would retry for minutes.
    expect(result.seconds).toBeLessThan(3 + 5);
    expect(result.stderr).toMatch(new RegExp(`batch 1 not accepted by ${endpoint} after \\d+ attempt\\(s\\) in [\\d.]+ s, giving up \\(another attempt would not end within --timeout 3s\\)`));
    expect(result.stdout).toContain('re-run with --since');
  }, 30_000);

  it('gives up after --max-retries', async () => {
    const result = await replay(['--timeout', '500ms', '--max-retries', '0']);
    expect(result.code).toBe(1);
    expect(result.seconds).toBeLessThan(0.5 + 5);
    expect(result.stderr).toContain('after 1 attempt(s)');
    expect(result.stderr).toContain('giving up (--max-retries 0 reached)');
  }, 30_000);

  it('names a bad --timeout or --max-retries and the expected form', async () => {
    const result = await replay(['--timeout', 'soon', '--max-retries', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--timeout: "soon" expected a duration from 100ms to 60m, like 30s, 2m or 500ms');
    expect(result.stderr).toContain('--max-retries: "many" expected a whole number from 0 to 1000');
  });
});
