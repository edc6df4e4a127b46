/**
 * The embedded engine's memory settings, as the engine itself reports them:
 * the ceiling and caches from the option table, the part format that bounds
 * what one insert holds, and the granule size that bounds what a merge holds
 * (README "Memory"). A batch larger than ClickHouse's own wide-part threshold
 * (10 MiB) is still written as one compact part; a table an earlier version
 * created gets the part format at the next start and keeps its granule size,
 * which the engine fixes at creation.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS } from '../../../src/config/defaults';
import { EmbeddedStore, PART_LOADING_THREADS } from '../../../src/sinks/clickhouse/embedded-store';

const BIN = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'egress-capture.js');

/** `count` rows of ~16 KiB bodies, in one batch: ~13 MiB uncompressed. */
function bigBatch(count: number): string {
  const body = 'x'.repeat(16 * 1024);
  const at = new Date().toISOString().replace('T', ' ').replace('Z', '');
  let lines = '';
  for (let i = 0; i < count; i++) lines += JSON.stringify({ Timestamp: at, CaptureId: `engine-memory-${i}`, Authority: 'engine-memory.test', RequestBody: `${i}${body}` }) + '\n';
  return lines;
}

async function settingOf(store: EmbeddedStore, sql: string): Promise<string> {
  return (await store.query(sql, 'TabSeparated')).trim();
}

describe('the embedded engine', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-engine-memory-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs with the configured ceiling and caches, and writes a 13 MiB batch as one compact part', async () => {
    const memory = { ...DEFAULTS, storeMaxMemoryBytes: 768 * 1024 * 1024 };
    const store = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory });
    await store.open();
    try {
      const server = async (name: string): Promise<number> => Number(await settingOf(store, `SELECT value FROM system.server_settings WHERE name = '${name}'`));
      expect(await server('max_server_memory_usage')).toBe(768 * 1024 * 1024);
      expect(await server('mark_cache_size')).toBe(DEFAULTS.storeMarkCacheBytes);
      expect(await server('uncompressed_cache_size')).toBe(DEFAULTS.storeUncompressedCacheBytes);

      const lines = bigBatch(800);
      expect(Buffer.byteLength(lines)).toBeGreaterThan(12 * 1024 * 1024);
      expect(await store.write({ jsonEachRow: lines, rowCount: 800, byteLength: Buffer.byteLength(lines), batchId: 'engine-memory-1' })).toEqual({ ok: true });
      const parts = await store.query("SELECT part_type, rows, data_uncompressed_bytes > 10485760 AS big FROM system.parts WHERE table = 'http_exchanges' AND active", 'TabSeparated');
      expect(parts.trim()).toBe('Compact\t800\t1');
      // Granules of at most storeIndexGranularityBytes: ~13 MiB of rows make at least 13 of them (2 at ClickHouse's 10 MiB), plus the final mark.
      const granules = Number(await settingOf(store, "SELECT marks FROM system.parts WHERE table = 'http_exchanges' AND active"));
      expect(granules).toBeGreaterThanOrEqual(Math.floor(Buffer.byteLength(lines) / DEFAULTS.storeIndexGranularityBytes));
    } finally {
      await store.close();
    }
  });

  // The pools are the process's own, made by the first engine it opens (in this test process, whichever test file came first): asked in a process of its own.
  it('loads and cleans up parts with one thread per core, not the pools of a server', () => {
    const sql = "SELECT name, value FROM system.server_settings WHERE name LIKE 'max_%parts_%thread_pool_size' ORDER BY name";
    const result = spawnSync(process.execPath, [BIN, 'query', '--data-dir', dir, sql], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    const pools = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; value: string });
    expect(pools.map(({ name }) => name)).toEqual([
      'max_active_parts_loading_thread_pool_size',
      'max_outdated_parts_loading_thread_pool_size',
      'max_parts_cleaning_thread_pool_size',
      'max_unexpected_parts_loading_thread_pool_size',
    ]);
    for (const { value } of pools) expect(Number(value)).toBe(PART_LOADING_THREADS);
  });

  it('opens a table an earlier version created with larger granules, and leaves their size as it is', async () => {
    const tenMiB = 10 * 1024 * 1024;
    const first = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory: { ...DEFAULTS, storeIndexGranularityBytes: tenMiB } });
    await first.open();
    await first.close();

    const store = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory: DEFAULTS });
    await store.open();
    try {
      const ddl = await store.query("SELECT create_table_query FROM system.tables WHERE name = 'http_exchanges'", 'TabSeparatedRaw');
      expect(ddl).toContain(`index_granularity_bytes = ${tenMiB}`);
      expect(ddl).toContain(`min_bytes_for_wide_part = ${DEFAULTS.storeMinBytesForWidePart}`);
    } finally {
      await store.close();
    }
  });

  it('gives a table an earlier version created the part format at the next start', async () => {
    const first = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory: DEFAULTS });
    await first.open();
    await first.query('ALTER TABLE http_exchanges RESET SETTING min_bytes_for_wide_part, vertical_merge_algorithm_min_rows_to_activate', 'TabSeparated');
    const before = await first.query("SELECT create_table_query FROM system.tables WHERE name = 'http_exchanges'", 'TabSeparatedRaw');
    expect(before).not.toContain('min_bytes_for_wide_part');
    await first.close();

    const store = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory: DEFAULTS });
    await store.open();
    try {
      const ddl = await store.query("SELECT create_table_query FROM system.tables WHERE name = 'http_exchanges'", 'TabSeparatedRaw');
      expect(ddl).toContain(`min_bytes_for_wide_part = ${DEFAULTS.storeMinBytesForWidePart}`);
      expect(ddl).toContain(`vertical_merge_algorithm_min_rows_to_activate = ${DEFAULTS.storeVerticalMergeMinRows}`);
    } finally {
      await store.close();
    }
  });
});
