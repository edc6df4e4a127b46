/**
 * The admin interface with --admin-allow-writes: writes reach the store's own
 * tables and nothing else. Real POST requests against a running service;
 * a canary file outside the data directory must never be read, nothing
 * outside it written, no host reached over HTTP.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { startCanary, type Canary } from './canary';

const AUTH = `Basic ${Buffer.from('writer:secret').toString('base64')}`;

describe('admin ClickHouse interface: writes allowed', () => {
  let harness: CaptureHarness;
  let watch: Canary;
  let outside: string;
  let canary: string;
  let token: string;
  let listenerUrl: string;
  const hits = (): number => watch.hits();

  beforeAll(async () => {
    watch = await startCanary();
    ({ outside, file: canary, token, url: listenerUrl } = watch);
    harness = await startCaptureHarness({ adminUser: 'writer', adminPassword: 'secret', adminAllowWrites: true });
  });

  afterAll(async () => {
    await harness.stop();
    await watch.close();
  });

  async function post(body: string, params: Record<string, string> = {}): Promise<{ status: number; code: string | null; text: string }> {
    const url = new URL('/', harness.adminUrl);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const res = await fetch(url, { method: 'POST', body, headers: { authorization: AUTH } });
    return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), text: await res.text() };
  }

  it('writes to its own tables: CREATE TABLE, INSERT with data, SELECT, DROP', async () => {
    expect((await post('CREATE TABLE notes (id UInt32, note String) ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 8192')).status).toBe(200);
    expect((await post('{"id":1,"note":"a"}\n{"id":2,"note":"b"}\n', { query: 'INSERT INTO notes FORMAT JSONEachRow', insert_deduplication_token: 't1' })).status).toBe(200);
    expect((await post("INSERT INTO notes VALUES (3, 'c;d')")).status).toBe(200);
    expect((await post('INSERT INTO notes SELECT number + 10, toString(number) FROM numbers(2)')).status).toBe(200);
    expect((await post('SELECT id, note FROM notes ORDER BY id FORMAT CSV')).text).toBe('1,"a"\n2,"b"\n3,"c;d"\n10,"0"\n11,"1"\n');
    expect((await post('DROP TABLE notes')).status).toBe(200);
  });

  it('never reaches files, the network or processes through table functions, engines, VALUES or INFILE', async () => {
    expect((await post('CREATE TABLE w (s String) ENGINE = MergeTree ORDER BY s')).status).toBe(200);
    const before = hits();
    for (const sql of [
      `CREATE TABLE f (s String) ENGINE = File(LineAsString, '${path.join(outside, 'f.txt')}')`,
      `CREATE TABLE u (s String) ENGINE = URL('${listenerUrl}', LineAsString)`,
      `CREATE TABLE e (s String) ENGINE = Executable('cat ${canary}', LineAsString)`,
      `CREATE TABLE d (s String) ENGINE = MergeTree ORDER BY s SETTINGS disk = disk(type = local, path = '${outside}/d/')`,
      `ALTER TABLE w MODIFY SETTING disk = disk(type = local, path = '${outside}/d2/')`,
      `CREATE TABLE c ENGINE = MergeTree ORDER BY s AS SELECT * FROM file('${canary}', 'LineAsString', 's String')`,
      `CREATE VIEW v AS SELECT file('${canary}') AS s`,
      `CREATE FUNCTION readit AS (p) -> file(p)`,
      `CREATE DICTIONARY dct (s String) PRIMARY KEY s SOURCE(FILE(path '${canary}' format 'LineAsString')) LAYOUT(FLAT()) LIFETIME(0)`,
      `INSERT INTO FUNCTION file('${path.join(outside, 'g.txt')}', 'LineAsString') SELECT 'x'`,
      `INSERT INTO w SELECT * FROM file('${canary}', 'LineAsString')`,
      `INSERT INTO w SELECT * FROM url('${listenerUrl}', 'LineAsString')`,
      `INSERT INTO w SELECT file('${canary}')`,
      `INSERT INTO w FROM INFILE '${canary}' FORMAT LineAsString`,
      `INSERT INTO w SETTINGS format_schema = '${canary}' FORMAT LineAsString x`,
      `SELECT * FROM file('${canary}', 'LineAsString')`,
      `SELECT 1 INTO${'\u00a0'}OUTFILE '${path.join(outside, 'o.txt')}'`,
      `ATTACH TABLE a FROM '${outside}' (s String) ENGINE = MergeTree ORDER BY s`,
      'SYSTEM SHUTDOWN',
    ]) {
      const answer = await post(sql);
      expect({ sql, refused: answer.status >= 400 }).toEqual({ sql, refused: true });
      expect(answer.text).not.toContain(token);
    }
    // VALUES data is literals only: an expression there is a parse error, not a file read.
    await post(`INSERT INTO w VALUES (file('${canary}'))`);
    expect((await post("SELECT count() FROM w WHERE s LIKE '%CANARY%'")).text).toBe('0\n');
    expect(hits()).toBe(before);
    expect(fs.readdirSync(outside)).toEqual(['canary.txt']);
    expect((await post('DROP TABLE w')).status).toBe(200);
  });
});
