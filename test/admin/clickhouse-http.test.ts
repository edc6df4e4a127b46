/**
 * The admin port's ClickHouse HTTP interface, exercised the way curl users
 * and HTTP clients do: plain fetch() requests against a running capture
 * service with its embedded store, credentials configured, writes not
 * allowed. One test drives the real curl binary.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { main, type CommandIo } from '../../src/cli/main';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { captureBodilessGet } from '../support/raw-extproc-client';

const USER = 'reader';
const PASSWORD = 'p@ss:word';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

describe('admin ClickHouse HTTP interface', () => {
  let harness: CaptureHarness;

  beforeAll(async () => {
    harness = await startCaptureHarness({ adminUser: USER, adminPassword: PASSWORD });
    // One stored exchange so queries over http_exchanges have something to find.
    await captureBodilessGet(harness.grpcAddress, 'chhttp.test');
    await harness.rows("SELECT 1 FROM http_exchanges WHERE Authority = 'chhttp.test'");
  });

  afterAll(async () => {
    await harness.stop();
  });

  function get(query: string, params: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
    const url = new URL('/', harness.adminUrl);
    url.searchParams.set('query', query);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return fetch(url, { ...init, headers: { authorization: AUTH, ...(init.headers as Record<string, string> | undefined) } });
  }

  function post(body: string | Buffer, params: Record<string, string> = {}, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const url = new URL('/', harness.adminUrl);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return fetch(url, { method: 'POST', body, headers: { authorization: AUTH, ...extraHeaders } });
  }

  it('answers GET /?query=SELECT 1 in TabSeparated with the ClickHouse headers', async () => {
    const res = await get('SELECT 1');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('1\n');
    expect(res.headers.get('content-type')).toMatch(/^text\/tab-separated-values/);
    expect(res.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    expect(res.headers.get('x-clickhouse-query-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-clickhouse-timezone')).toMatch(/UTC/);
    expect(res.headers.get('x-clickhouse-server-display-name')).not.toBe('');
    const summary = JSON.parse(res.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>;
    expect(Object.keys(summary)).toEqual(expect.arrayContaining(['read_rows', 'read_bytes', 'written_rows', 'written_bytes', 'elapsed_ns']));
  });

  it('echoes a client query_id', async () => {
    const res = await get('SELECT 1', { query_id: 'my-query-1' });
    expect(res.headers.get('x-clickhouse-query-id')).toBe('my-query-1');
    await res.text();
  });

  it('takes the query from the POST body, and URL query + body concatenated', async () => {
    const res = await post("SELECT Authority, StatusCode FROM http_exchanges WHERE Authority = 'chhttp.test'");
    expect(await res.text()).toBe('chhttp.test\t204\n');
    const split = await post(' 2 + 2 AS four', { query: 'SELECT' });
    expect(await split.text()).toBe('4\n');
  });

  it('serves FORMAT JSON with meta, data and statistics', async () => {
    const res = await post("SELECT toUInt8(7) AS seven, 'x' AS s FORMAT JSON");
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-clickhouse-format')).toBe('JSON');
    const body = (await res.json()) as { meta: Array<{ name: string; type: string }>; data: Array<Record<string, unknown>>; rows: number };
    expect(body.meta).toEqual([
      { name: 'seven', type: 'UInt8' },
      { name: 's', type: 'String' },
    ]);
    expect(body.data).toEqual([{ seven: 7, s: 'x' }]);
    expect(body.rows).toBe(1);
  });

  it('serves FORMAT JSONEachRow, CSVWithNames, default_format=TSV and Pretty', async () => {
    const each = await post('SELECT number AS n FROM numbers(3) FORMAT JSONEachRow');
    expect(each.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(await each.text()).toBe('{"n":0}\n{"n":1}\n{"n":2}\n');

    const csv = await post("SELECT number AS n, concat('r', toString(number)) AS label FROM numbers(2) FORMAT CSVWithNames");
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await csv.text()).toBe('"n","label"\n0,"r0"\n1,"r1"\n');

    const tsv = await post('SELECT 1 AS a, 2 AS b', { default_format: 'TSV' });
    expect(tsv.headers.get('x-clickhouse-format')).toBe('TSV');
    expect(await tsv.text()).toBe('1\t2\n');

    // A FORMAT clause beats default_format.
    const both = await post('SELECT 1 AS a FORMAT JSONEachRow', { default_format: 'CSV' });
    expect(await both.text()).toBe('{"a":1}\n');

    const pretty = await post('SELECT 1 AS a FORMAT Pretty');
    expect(await pretty.text()).toContain('┃ a ┃');
  });

  it('passes settings from the URL (max_result_rows, date_time_output_format, output_format_json_quote_64bit_integers)', async () => {
    const limited = await post('SELECT number FROM numbers(10)', { max_result_rows: '3', result_overflow_mode: 'throw' });
    expect(limited.status).toBe(500);
    expect(limited.headers.get('x-clickhouse-exception-code')).toBe('396');
    await limited.text();

    const iso = await post("SELECT toDateTime('2024-01-02 03:04:05', 'UTC') AS t FORMAT JSONEachRow", { date_time_output_format: 'iso' });
    expect(await iso.text()).toBe('{"t":"2024-01-02T03:04:05Z"}\n');

    const quoted = await post('SELECT toUInt64(5) AS n FORMAT JSONEachRow', { output_format_json_quote_64bit_integers: '1' });
    expect(await quoted.text()).toBe('{"n":"5"}\n');
    const unquoted = await post('SELECT toUInt64(5) AS n FORMAT JSONEachRow', { output_format_json_quote_64bit_integers: '0' });
    expect(await unquoted.text()).toBe('{"n":5}\n');

    // HTTP-level parameters are accepted and do not reach the engine as settings.
    const http = await post('SELECT 1', { wait_end_of_query: '1', session_id: 's1', session_timeout: '60', compress: '0', send_progress_in_http_headers: '1' });
    expect(http.status).toBe(200);
    expect(await http.text()).toBe('1\n');

    // Settings are allow-listed: anything else is refused before the engine sees it.
    const unknown = await post('SELECT 1', { no_such_setting_here: '1' });
    expect(unknown.headers.get('x-clickhouse-exception-code')).toBe('164');
    await unknown.text();
  });

  it('binds param_* query parameters as typed values', async () => {
    const res = await post('SELECT {n:UInt32} + 1 AS n, {s:String} AS s, length({s:String}) AS len FORMAT JSONEachRow', { param_n: '41', param_s: "it's\\ta tab" });
    expect(await res.text()).toBe(`${JSON.stringify({ n: 42, s: "it's\ta tab", len: 10 })}\n`);
  });

  it('reports a syntax error and an unknown table the way ClickHouse does', async () => {
    const syntax = await post('SELECT 1 +');
    expect(syntax.status).toBe(400);
    expect(syntax.headers.get('x-clickhouse-exception-code')).toBe('62');
    expect(await syntax.text()).toMatch(/^Code: 62\. DB::Exception: Syntax error.*\(SYNTAX_ERROR\)\n$/s);

    const table = await post('SELECT * FROM no_such_table');
    expect(table.status).toBe(404);
    expect(table.headers.get('x-clickhouse-exception-code')).toBe('60');
    expect(await table.text()).toMatch(/^Code: 60\. DB::Exception: .*no_such_table.*\(UNKNOWN_TABLE\)\n$/s);

    const database = await post('SELECT 1', { database: 'nope' });
    expect(database.headers.get('x-clickhouse-exception-code')).toBe('81');
    expect(await database.text()).toMatch(/^Code: 81\. DB::Exception: Database nope does not exist.*\(UNKNOWN_DATABASE\)\n$/s);

    const fine = await post('SELECT 1', { database: 'default' });
    expect(await fine.text()).toBe('1\n');
  });

  it('is read-only: writes, DDL, file access and readonly overrides are refused with 164', async () => {
    for (const sql of [
      "INSERT INTO http_exchanges (CaptureId) VALUES ('x')",
      'DROP TABLE http_exchanges',
      'CREATE TABLE t (a UInt8) ENGINE = Memory',
      'ALTER TABLE http_exchanges DELETE WHERE 1',
      'TRUNCATE TABLE http_exchanges',
    ]) {
      const res = await post(sql);
      expect({ sql, status: res.status, code: res.headers.get('x-clickhouse-exception-code') }).toEqual({ sql, status: 403, code: '164' });
      expect(await res.text()).toMatch(/\(READONLY\)\n$/);
    }
    // Table functions that reach the host are refused (test/admin/read-only-policy.test.ts has every spelling).
    const file = await post("SELECT * FROM file('/etc/hostname', 'LineAsString')");
    expect(file.headers.get('x-clickhouse-exception-code')).toBe('497');
    await file.text();
    // ... and the statement cannot switch readonly back off, at any nesting level.
    const nested = await post('SELECT * FROM (SELECT 1 SETTINGS readonly = 0)');
    expect(nested.headers.get('x-clickhouse-exception-code')).toBe('164');
    await nested.text();
    const viaUrl = await post("SELECT * FROM file('/etc/hostname', 'LineAsString')", { readonly: '0' });
    expect(viaUrl.headers.get('x-clickhouse-exception-code')).toBe('164');
    await viaUrl.text();
    // Its own final SETTINGS still work (allowed names only, applied before readonly = 1).
    const own = await post('SELECT number FROM numbers(5) SETTINGS max_result_rows = 10 FORMAT JSONEachRow');
    expect(own.status).toBe(200);
    expect((await own.text()).split('\n').filter(Boolean)).toHaveLength(5);
    // One statement per request; SELECT … INTO OUTFILE would write on the capture host.
    const multi = await post('SELECT 1; SELECT 2');
    expect(multi.headers.get('x-clickhouse-exception-code')).toBe('62');
    expect(await multi.text()).toContain('Multi-statements are not allowed');
    const outfile = await post("SELECT 1 INTO OUTFILE '/tmp/egress-capture-outfile.txt'");
    expect(outfile.headers.get('x-clickhouse-exception-code')).toBe('497');
    await outfile.text();
    // A semicolon inside a string literal is not a second statement.
    const literal = await post("SELECT 'a;b' AS s FORMAT JSONEachRow");
    expect(await literal.text()).toBe('{"s":"a;b"}\n');
  });

  it('reads SHOW, DESCRIBE, EXISTS and EXPLAIN', async () => {
    expect(await (await post('SHOW TABLES')).text()).toContain('http_exchanges');
    expect(await (await post('DESCRIBE TABLE http_exchanges FORMAT JSONEachRow')).text()).toContain('"name":"CaptureId"');
    expect(await (await post('EXISTS TABLE http_exchanges')).text()).toBe('1\n');
    expect((await post('EXPLAIN SELECT 1')).status).toBe(200);
  });

  it('requires the configured credentials: Basic, X-ClickHouse-User/Key, or user/password parameters', async () => {
    const url = new URL('/', harness.adminUrl);
    url.searchParams.set('query', 'SELECT 1');
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('x-clickhouse-exception-code')).toBe('516');
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await none.text()).toMatch(/^Code: 516\. DB::Exception: default: Authentication failed.*\(AUTHENTICATION_FAILED\)\n$/s);

    const wrong = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('x-clickhouse-exception-code')).toBe('516');
    expect(await wrong.text()).toContain(`${USER}: Authentication failed`);

    const headerAuth = await fetch(url, { headers: { 'x-clickhouse-user': USER, 'x-clickhouse-key': PASSWORD } });
    expect(await headerAuth.text()).toBe('1\n');

    const paramUrl = new URL(url);
    paramUrl.searchParams.set('user', USER);
    paramUrl.searchParams.set('password', PASSWORD);
    expect(await (await fetch(paramUrl)).text()).toBe('1\n');

    // Health checks need no credentials.
    expect(await (await fetch(new URL('/ping', harness.adminUrl))).text()).toBe('Ok.\n');
    expect(await (await fetch(new URL('/', harness.adminUrl))).text()).toBe('Ok.\n');
  });

  it('compresses the response with gzip when asked (enable_http_compression=1 + Accept-Encoding)', async () => {
    const url = new URL('/', harness.adminUrl);
    url.searchParams.set('query', "SELECT repeat('abc', 1000) AS s FORMAT JSONEachRow");
    url.searchParams.set('enable_http_compression', '1');
    // node:http gives the raw bytes (fetch would decode them transparently).
    const { status, encoding, body } = await rawGet(url, { authorization: AUTH, 'accept-encoding': 'gzip' });
    expect(status).toBe(200);
    expect(encoding).toBe('gzip');
    expect(body.length).toBeLessThan(500);
    expect(zlib.gunzipSync(body).toString('utf8')).toBe(`${JSON.stringify({ s: 'abc'.repeat(1000) })}\n`);

    // Without enable_http_compression the response is plain even if the client accepts gzip.
    url.searchParams.delete('enable_http_compression');
    const plain = await rawGet(url, { authorization: AUTH, 'accept-encoding': 'gzip' });
    expect(plain.encoding).toBeUndefined();
  });

  it('accepts a gzip-compressed request body', async () => {
    const res = await post(zlib.gzipSync('SELECT 40 + 2'), {}, { 'content-encoding': 'gzip' });
    expect(await res.text()).toBe('42\n');
    const bad = await post(Buffer.from('not gzip'), {}, { 'content-encoding': 'gzip' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-clickhouse-exception-code')).toBe('271');
    await bad.text();
  });

  it('keeps /query as an alias that defaults to JSONEachRow', async () => {
    const res = await fetch(new URL('/query', harness.adminUrl), { method: 'POST', body: 'SELECT 1 AS one', headers: { authorization: AUTH } });
    expect(await res.text()).toBe('{"one":1}\n');
  });

  it('is queried by the real curl binary', async () => {
    const run = promisify(execFile);
    const base = harness.adminUrl;
    const plain = await run('curl', ['-sS', '-u', `${USER}:${PASSWORD}`, `${base}/?query=SELECT%201`]);
    expect(plain.stdout).toBe('1\n');
    const json = await run('curl', ['-sS', '-u', `${USER}:${PASSWORD}`, '--data-binary', "SELECT Authority FROM http_exchanges WHERE Authority = 'chhttp.test' FORMAT JSONEachRow", `${base}/`]);
    expect(json.stdout).toBe('{"Authority":"chhttp.test"}\n');
    const compressed = await run('curl', ['-sS', '--compressed', '-u', `${USER}:${PASSWORD}`, '--data-binary', 'SELECT number FROM numbers(3) FORMAT CSV', `${base}/?enable_http_compression=1`]);
    expect(compressed.stdout).toBe('0\n1\n2\n');
    const failed = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', `${USER}:wrong`, `${base}/?query=SELECT%201`]);
    expect(failed.stdout).toBe('401');
  });

  it('egress-capture query --admin URL goes through the interface', async () => {
    const { out, err, io } = capturedIo();
    const withUrlCredentials = harness.adminUrl.replace('http://', `http://${USER}:${encodeURIComponent(PASSWORD)}@`);
    expect(await main(['query', '--admin', withUrlCredentials, "SELECT count() AS n FROM http_exchanges WHERE Authority = 'chhttp.test'"], io)).toBe(0);
    expect(out.join('')).toBe('{"n":1}\n');

    out.length = 0;
    expect(await main(['query', '--admin', harness.adminUrl, '--user', USER, '--password', PASSWORD, '--format', 'CSV', 'SELECT 1, 2'], io)).toBe(0);
    expect(out.join('')).toBe('1,2\n');

    expect(await main(['query', '--admin', harness.adminUrl, 'SELECT 1'], { ...io, env: {} })).toBe(1);
    expect(err.join('')).toContain('AUTHENTICATION_FAILED');
  });

  it('egress-capture status sends the admin credentials /status asks for', async () => {
    const { out, err, io } = capturedIo();
    expect(await main(['status', '--admin', harness.adminUrl, '--json'], io)).toBe(1);
    expect(err.join('')).toMatch(/answered 401/);
    expect(await main(['status', '--admin', harness.adminUrl, '--json'], { ...io, env: { EGRESS_CAPTURE_ADMIN_USER: USER, EGRESS_CAPTURE_ADMIN_PASSWORD: PASSWORD } })).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ balanced: true });
    out.length = 0;
    const withUrlCredentials = harness.adminUrl.replace('http://', `http://${USER}:${encodeURIComponent(PASSWORD)}@`);
    expect(await main(['status', '--admin', withUrlCredentials, '--json'], io)).toBe(0);
  });
});

/** A CommandIo whose stdout and stderr are collected, with an empty environment. */
function capturedIo(): { out: string[]; err: string[]; io: CommandIo } {
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    stdin: process.stdin,
    stdout: { write: (chunk: string) => out.push(chunk) } as unknown as NodeJS.WritableStream,
    stderr: { write: (chunk: string) => err.push(chunk) } as unknown as NodeJS.WritableStream,
    env: {},
  };
  return { out, err, io };
}

function rawGet(url: URL, requestHeaders: Record<string, string>): Promise<{ status: number; encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: requestHeaders }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}
