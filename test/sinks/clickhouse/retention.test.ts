/**
 * Retention per row, in the engine the embedded store runs: rows kept for
 * their own RetentionDays (the capture policy's, per level and rule), or
 * --ttl-days when it is 0, both in a table the service creates and in one an
 * older version created (partitioned by day alone) and this one migrated.
 * The rows are written with old timestamps and the engine's TTL merge is
 * forced (OPTIMIZE FINAL); what is left is what the README promises.
 */
import { DEFAULTS } from '../../../src/config/defaults';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EmbeddedStore } from '../../../src/sinks/clickhouse/embedded-store';

const DAY_MS = 24 * 3600 * 1000;

/** A row `daysOld` days old with its own retention (0: the table's --ttl-days). */
function row(id: string, daysOld: number, retentionDays: number): string {
  const at = new Date(Date.now() - daysOld * DAY_MS).toISOString().replace('T', ' ').replace('Z', '');
  return JSON.stringify({ Timestamp: at, CaptureId: id, Authority: 'retention.test', RetentionDays: retentionDays });
}

const ROWS = [row('ten-days-kept-7', 10, 7), row('ten-days-default', 10, 0), row('forty-days-default', 40, 0), row('forty-days-kept-90', 40, 90), row('today-kept-7', 0, 7)];
/** With --ttl-days 30. */
const SURVIVORS = ['forty-days-kept-90', 'ten-days-default', 'today-kept-7'];

async function survivorsAfterTtl(store: EmbeddedStore): Promise<string[]> {
  const lines = ROWS.join('\n') + '\n';
  expect(await store.write({ jsonEachRow: lines, rowCount: ROWS.length, byteLength: Buffer.byteLength(lines), batchId: `retention-${Date.now()}` })).toEqual({ ok: true });
  await store.query('OPTIMIZE TABLE http_exchanges FINAL', 'TabSeparated');
  const text = await store.query("SELECT CaptureId FROM http_exchanges WHERE Authority = 'retention.test' ORDER BY CaptureId", 'TabSeparated');
  return text.split('\n').filter((line) => line !== '');
}

describe('retention per row', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-retention-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a table the service creates drops each row at its own retention, else at --ttl-days, whole parts at a time', async () => {
    const store = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory: DEFAULTS });
    await store.open();
    try {
      expect(await survivorsAfterTtl(store)).toEqual(SURVIVORS);
      const ddl = await store.query("SELECT create_table_query FROM system.tables WHERE name = 'http_exchanges'", 'TabSeparatedRaw');
      expect(ddl).toContain('PARTITION BY (toDate(Timestamp), RetentionDays)');
      expect(ddl).toContain('ttl_only_drop_parts = 1');
    } finally {
      await store.close();
    }
  });

  it('a table an older version created (partitioned by day alone) deletes expired rows row by row after the migration', async () => {
    const first = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory: DEFAULTS });
    await first.open();
    await first.query('DROP TABLE http_exchanges', 'TabSeparated');
    await first.query(
      "CREATE TABLE http_exchanges (Timestamp DateTime64(9, 'UTC'), CaptureId String, Authority LowCardinality(String)) ENGINE = MergeTree " +
        'PARTITION BY toDate(Timestamp) ORDER BY (toStartOfHour(Timestamp), Authority, Timestamp) TTL toDateTime(Timestamp) + INTERVAL 30 DAY SETTINGS ttl_only_drop_parts = 1',
      'TabSeparated',
    );
    await first.close();

    const store = new EmbeddedStore({ dataDir: dir, ttlDays: 30, memory: DEFAULTS });
    await store.open();
    try {
      const ddl = await store.query("SELECT create_table_query FROM system.tables WHERE name = 'http_exchanges'", 'TabSeparatedRaw');
      expect(ddl).toContain('PARTITION BY toDate(Timestamp)');
      expect(ddl).toContain('ttl_only_drop_parts = 0');
      expect(await survivorsAfterTtl(store)).toEqual(SURVIVORS);
    } finally {
      await store.close();
    }
  });
});
