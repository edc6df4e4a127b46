/**
 * The admin interface's read-only policy against the spellings that got past
 * the old lexer-based checks: real, unauthenticated requests against a
 * running service with its embedded store and the default policy (no
 * credentials, no writes). A canary file outside the data directory must
 * never be read, no file outside it written, no host reached over HTTP.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { startCanary, type Canary } from './canary';

const SPACES = ['\u00a0', '\u1680', ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)), '\u202f', '\u205f', '\u3000'];

describe('admin ClickHouse interface: read-only policy', () => {
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
    harness = await startCaptureHarness();
  });

  afterAll(async () => {
    await harness.stop();
    await watch.close();
  });

  function target(name: string): string {
    return path.join(outside, name);
  }

  async function get(query: string, params: Record<string, string> = {}): Promise<{ status: number; code: string | null; text: string }> {
    const url = new URL('/', harness.adminUrl);
    url.searchParams.set('query', query);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const res = await fetch(url);
    return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), text: await res.text() };
  }

  async function post(body: string | Buffer, params: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<{ status: number; code: string | null; text: string }> {
    const url = new URL('/', harness.adminUrl);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const res = await fetch(url, { method: 'POST', body, headers });
    return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), text: await res.text() };
  }

  /** Refused, without the canary's content, and nothing outside the data directory changed. */
  function expectRefused(sql: string, answer: { status: number; code: string | null; text: string }, codes: string[] = ['62', '164', '497']): void {
    expect({ sql, status: answer.status >= 400, code: codes.includes(answer.code ?? '') ? 'refused' : answer.code }).toEqual({ sql, status: true, code: 'refused' });
    expect(answer.text).not.toContain(token);
    expect(fs.readdirSync(outside)).toEqual(['canary.txt']);
    expect(fs.readFileSync(canary, 'utf8')).toBe(`${token}\n`);
  }

  it('never reads a host file with the scalar file(), in any spelling', async () => {
    for (const sql of [
      `SELECT file('${canary}')`,
      `SELECT FILE('${canary}')`,
      `SELECT \`file\`('${canary}')`,
      `SELECT/**/file/* x */('${canary}') -- ;`,
      `SELECT file($$${canary}$$)`,
      `WITH f AS (SELECT file('${canary}') AS c) SELECT c FROM f`,
      `SELECT number FROM numbers(1) WHERE 1 IN (SELECT length(file('${canary}')))`,
      `SELECT arrayMap(x -> file(x), ['${canary}'])`,
      `SELECT * FROM (SELECT file('${canary}') SETTINGS readonly\u00a0=\u00a00)`,
      `SELECT file('${canary}'), 'a;b'`,
    ]) {
      expectRefused(sql, await get(sql));
      expectRefused(sql, await post(sql));
    }
  });

  it('never shows /proc/self/environ', async () => {
    const environ = fs
      .readFileSync('/proc/self/environ', 'utf8')
      .split('\0')
      .filter((entry) => entry.length > 8);
    for (const sql of ["SELECT file('/proc/self/environ')", "SELECT * FROM file('/proc/self/environ', 'RawBLOB')", "DESCRIBE file('/proc/self/environ', 'CSVWithNames')"]) {
      const answer = await get(sql);
      expectRefused(sql, answer);
      for (const entry of environ) expect(answer.text).not.toContain(entry);
    }
  });

  it('never writes INTO OUTFILE, whatever Unicode space separates the keywords', async () => {
    for (const space of [' ', ...SPACES]) {
      const sql = `SELECT 1 INTO${space}OUTFILE '${target('out.txt')}'`;
      expectRefused(sql, await get(sql));
      const formatted = `SELECT 'x'${space}INTO${space}OUTFILE${space}'${target('out2.txt')}'${space}TRUNCATE${space}FORMAT${space}CSV`;
      expectRefused(formatted, await post(formatted));
    }
  });

  it('runs one statement only: unclosed heredocs, comments and literals do not hide a second one', async () => {
    for (const sql of [
      `SELECT $a$x; SELECT file('${canary}') INTO OUTFILE '${target('h.txt')}'`,
      `SELECT $a$x$b$; SELECT * FROM file('${canary}', 'LineAsString')`,
      `SELECT 1; SELECT file('${canary}')`,
      `SELECT '\\'; SELECT file('${canary}') -- '`,
      `SELECT 1 /* ; */; SET readonly = 0`,
    ]) {
      expectRefused(sql, await post(sql));
    }
  });

  it('refuses every table function that reaches files, the network or processes', async () => {
    const before = hits();
    for (const sql of [
      `SELECT * FROM file('${canary}', 'LineAsString')`,
      `SELECT * FROM fileCluster('default', '${canary}', 'LineAsString')`,
      `SELECT * FROM url('${listenerUrl}', 'LineAsString')`,
      `SELECT * FROM URL('${listenerUrl}', 'LineAsString')`,
      `SELECT * FROM s3('${listenerUrl}', 'LineAsString')`,
      `SELECT * FROM executable('cat ${canary}', 'LineAsString', 'x String')`,
      `SELECT * FROM remote('127.0.0.1', system.one)`,
      `SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')`,
      `SELECT * FROM input('x String')`,
      `DESCRIBE file('${canary}', 'CSVWithNames')`,
      `SELECT * FROM numbers(1) AS n JOIN url('${listenerUrl}', 'LineAsString') AS u ON 1`,
      `SELECT * FROM${'\u3000'}file('${canary}',${'\u2003'}'LineAsString')`,
      `INSERT INTO FUNCTION file('${target('f.txt')}', 'CSV') SELECT 1`,
    ]) {
      expectRefused(sql, await post(sql));
    }
    expect(hits()).toBe(before);
  });

  it('refuses URL settings that are not allow-listed, and readonly=0', async () => {
    for (const [sql, params] of [
      ['SELECT 1 FORMAT Template', { format_template_resultset: canary }],
      ['SELECT 1 FORMAT Protobuf', { output_format_schema: target('schema.proto') }],
      ['SELECT 1', { format_schema: canary }],
      ['SELECT 1', { readonly: '0' }],
      ['SELECT 1', { max_query_size: '100000000' }],
      ['SELECT 1', { allow_ddl: '1' }],
    ] as const) {
      expectRefused(`${sql} ${JSON.stringify(params)}`, await get(sql, params), ['164']);
    }
    // The same names in the statement's own SETTINGS clause.
    for (const sql of [
      `SELECT 1 SETTINGS format_template_resultset = '${canary}' FORMAT Template`,
      `SELECT 1 FORMAT Protobuf SETTINGS output_format_schema = '${target('schema.proto')}'`,
      `SELECT 1 SETTINGS${'\u00a0'}readonly${'\u00a0'}=${'\u00a0'}0`,
      `SELECT * FROM (SELECT 1 SETTINGS max_threads = 1)`,
    ]) {
      expectRefused(sql, await get(sql), ['164']);
    }
  });

  it('refuses a 16 MiB query text and a gzip bomb with QUERY_IS_TOO_LARGE', async () => {
    // Refused before any parsing: a lexer walking the text took 12 s here; the bound leaves a loaded machine room.
    const huge = `SELECT '${'x'.repeat(16 * 1024 * 1024)}'`;
    let started = performance.now();
    const big = await post(huge);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(big.status).toBe(413);
    expect(big.code).toBe('229');
    expect(big.text).toMatch(/^Code: 229\. DB::Exception: Query is too large .*\(QUERY_IS_TOO_LARGE\)\n$/);

    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(256 * 1024);
    started = performance.now();
    const inflated = await post(bomb, {}, { 'content-encoding': 'gzip' });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(inflated.code).toBe('229');
  });

  it('keeps serving the queries clients send', async () => {
    expect((await get('SELECT 1')).text).toBe('1\n');
    expect((await get('SELECT number FROM numbers(3) FORMAT JSONEachRow')).text).toBe('{"number":0}\n{"number":1}\n{"number":2}\n');
    const limited = await get('SELECT number FROM numbers(10)', { max_result_rows: '2', result_overflow_mode: 'break', max_block_size: '1' });
    expect(limited.status).toBe(200);
    expect(limited.text.split('\n').filter(Boolean).length).toBeLessThan(10);
    const tooMany = await get('SELECT number FROM numbers(10)', { max_result_rows: '2' });
    expect(tooMany.code).toBe('396');
    expect((await get("SELECT format('{} {}', 'a', 'b'), 'INTO' AS into, $$x$$ AS h FORMAT TSV")).text).toBe('a b\tINTO\tx\n');
    expect((await get(`SELECT count() FROM http_exchanges${'\u00a0'}WHERE 1 SETTINGS max_threads = 1`)).text).toBe('0\n');
    expect((await get('SHOW TABLES')).text).toContain('http_exchanges');
    // The capture writer's session is untouched by the requests' readonly = 1.
    expect(await harness.rows("SELECT getSetting('readonly') AS r")).toEqual([{ r: 0 }]);
  });
});
