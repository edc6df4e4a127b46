/**
 * An offline `query` (no server owns the data directory) opens the store
 * itself: it must be as read-only as the admin port unless --allow-writes,
 * and the engine, not a parser of ours, must enforce it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runInProcess } from './cli-helpers';

const query = (args: string[]) => runInProcess(['query', ...args]);

describe('egress-capture query on a data directory no server owns', () => {
  // chdb opens one data directory per process: every case here uses this one.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-query-ro-'));
  const count = async (): Promise<number> => {
    const result = await query(['--data-dir', dataDir, 'SELECT count() AS n FROM t']);
    expect(result.code).toBe(0);
    return Number((JSON.parse(result.stdout.trim()) as { n: string | number }).n);
  };

  beforeAll(async () => {
    expect((await query(['--data-dir', dataDir, '--allow-writes', 'CREATE TABLE t (a UInt32) ENGINE = MergeTree ORDER BY a'])).code).toBe(0);
    expect((await query(['--data-dir', dataDir, '--allow-writes', 'INSERT INTO t VALUES (1), (2), (3)'])).code).toBe(0);
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('reads', async () => {
    expect(await count()).toBe(3);
  });

  it.each([
    ['DROP', 'DROP TABLE t'],
    ['INSERT', 'INSERT INTO t VALUES (4)'],
    ['ALTER', 'ALTER TABLE t DELETE WHERE 1'],
    ['TRUNCATE', 'TRUNCATE TABLE t'],
    ['SET readonly=0 first', 'SET readonly = 0; DROP TABLE t'],
    ['a SETTINGS clause', 'DROP TABLE t SETTINGS readonly = 0'],
    ['a query-level override', 'SELECT 1 SETTINGS readonly = 0'],
    ['a write to a file', "INSERT INTO FUNCTION file('escape.csv', 'CSV') SELECT 1"],
  ])('refuses %s without --allow-writes, and the data stays', async (_name, sql) => {
    const result = await query(['--data-dir', dataDir, sql]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('READONLY');
    expect(result.stderr).toContain('--allow-writes');
    expect(await count()).toBe(3);
  });

  it('writes with --allow-writes', async () => {
    expect((await query(['--data-dir', dataDir, '--allow-writes', 'INSERT INTO t VALUES (4)'])).code).toBe(0);
    expect(await count()).toBe(4);
  });
});
