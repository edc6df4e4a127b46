/**
 * ClickHouse's documented HTTP forms, sent by the real curl binary: INSERT
 * with the statement in the URL and the rows as the body, the format and
 * database request headers, compressed request bodies in every encoding
 * ClickHouse accepts, compressed answers curl decodes itself, external data
 * tables (-F), Map query parameters, and errors that quote the user's query.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { installPythonClient } from './clients-install';
import { CLIENT_PASSWORD, CLIENT_USER, useClientHarness } from './client-harness';

interface CurlAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

describe('ClickHouse HTTP forms through curl', () => {
  const harness = useClientHarness();
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'curl-forms-'));
    await curl(['--data-binary', 'CREATE TABLE curl_rows (id UInt32, name String) ENGINE = MergeTree ORDER BY id']);
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function curl(args: string[], query: Record<string, string> = {}): Promise<CurlAnswer> {
    const url = new URL('/', harness().adminUrl);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const headerFile = path.join(dir ?? os.tmpdir(), `headers-${Math.random().toString(36).slice(2)}`);
    const { stdout } = await promisify(execFile)('curl', ['-sS', '-u', `${CLIENT_USER}:${CLIENT_PASSWORD}`, '-D', headerFile, ...args, url.toString()], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = fs.readFileSync(headerFile, 'utf8').trim().split(/\r?\n/);
    fs.rmSync(headerFile);
    const headers = Object.fromEntries(lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    return { status: Number(lines[0]!.split(' ')[1]), headers, body: stdout };
  }

  function file(name: string, bytes: Buffer | string): string {
    const at = path.join(dir, name);
    fs.writeFileSync(at, bytes);
    return at;
  }

  it('inserts rows sent as the body of ?query=INSERT … FORMAT CSV, and counts them in X-ClickHouse-Summary', async () => {
    const answer = await curl(['--data-binary', `@${file('rows.csv', '1,one\n2,two\n3,three\n')}`], { query: 'INSERT INTO curl_rows FORMAT CSV' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.headers['x-clickhouse-summary']!)).toMatchObject({ written_rows: '3' });
    const back = await curl(['--data-binary', 'SELECT id, name FROM curl_rows ORDER BY id FORMAT CSV']);
    expect(back.body).toBe('1,"one"\n2,"two"\n3,"three"\n');
  });

  it('takes the default format and the database from X-ClickHouse-Format and X-ClickHouse-Database', async () => {
    const json = await curl(['-H', 'X-ClickHouse-Format: JSONEachRow', '-H', 'X-ClickHouse-Database: default', '--data-binary', 'SELECT count() AS n FROM curl_rows']);
    expect(json.headers['x-clickhouse-format']).toBe('JSONEachRow');
    expect(JSON.parse(json.body)).toEqual({ n: expect.anything() });
    const other = await curl(['-H', 'X-ClickHouse-Database: elsewhere', '--data-binary', 'SELECT 1']);
    expect(other.status).toBe(404);
    expect(other.headers['x-clickhouse-exception-code']).toBe('81');
  });

  it.each([
    ['gzip', (b: Buffer) => zlib.gzipSync(b)],
    ['deflate', (b: Buffer) => zlib.deflateSync(b)],
    ['br', (b: Buffer) => zlib.brotliCompressSync(b)],
    ['zstd', (b: Buffer) => zlib.zstdCompressSync(b)],
  ])('reads a %s request body', async (encoding, compress) => {
    const body = file(`query.${encoding}`, compress(Buffer.from('SELECT 40 + 2')));
    const answer = await curl(['-H', `Content-Encoding: ${encoding}`, '--data-binary', `@${body}`]);
    expect(answer.body).toBe('42\n');
  });

  it('reads an lz4 request body as the lz4 library frames it', async () => {
    const python = installPythonClient().executable!;
    const body = path.join(dir, 'rows.lz4');
    const rows = Array.from({ length: 5000 }, (_, i) => `${i + 100},row-${i % 10}`).join('\n');
    await promisify(execFile)(python, ['-c', 'import lz4.frame, sys; open(sys.argv[1], "wb").write(lz4.frame.compress(sys.argv[2].encode(), content_checksum=True, block_checksum=True))', body, rows]);
    const answer = await curl(['-H', 'Content-Encoding: lz4', '--data-binary', `@${body}`], { query: 'INSERT INTO curl_rows FORMAT CSV' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.headers['x-clickhouse-summary']!)).toMatchObject({ written_rows: '5000' });
  });

  it('stops inflating an lz4 body at the query size cap (a small body cannot become a huge query)', async () => {
    const python = installPythonClient().executable!;
    const bomb = path.join(dir, 'bomb.lz4');
    await promisify(execFile)(python, ['-c', 'import lz4.frame, sys; open(sys.argv[1], "wb").write(lz4.frame.compress(b"SELECT 1 -- " + b"a" * (32 * 1024 * 1024)))', bomb]);
    expect(fs.statSync(bomb).size).toBeLessThan(1024 * 1024);
    const answer = await curl(['-H', 'Content-Encoding: lz4', '--data-binary', `@${bomb}`], { readonly: '1' });
    expect(answer.status).toBe(413);
    expect(answer.headers['x-clickhouse-exception-code']).toBe('229');
  });

  it.each(['gzip', 'deflate', 'br', 'zstd'])('answers %s-compressed when asked, and curl decodes it', async (encoding) => {
    const answer = await curl(['-H', `Accept-Encoding: ${encoding}`, '--compressed', '--data-binary', 'SELECT sum(number) FROM numbers(100000)'], { enable_http_compression: '1' });
    expect(answer.headers['content-encoding']).toBe(encoding);
    expect(answer.body).toBe('4999950000\n');
  });

  it('answers lz4-compressed when asked, in frames the lz4 library decodes', async () => {
    const out = path.join(dir, 'answer.lz4');
    const answer = await curl(['-H', 'Accept-Encoding: lz4', '-o', out, '--data-binary', 'SELECT number, toString(number) FROM numbers(200000)'], { enable_http_compression: '1' });
    expect(answer.headers['content-encoding']).toBe('lz4');
    const compressed = fs.statSync(out).size;
    const python = installPythonClient().executable!;
    const { stdout } = await promisify(execFile)(python, ['-c', 'import lz4.frame, sys; sys.stdout.buffer.write(lz4.frame.decompress(open(sys.argv[1], "rb").read()))', out], {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    });
    const lines = stdout.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(200000);
    expect(lines[123456]).toBe('123456\t123456');
    expect(compressed).toBeLessThan(stdout.length);
  });

  it('serves an external data table sent with -F, its structure in the URL', async () => {
    const ids = file('ids.tsv', '1\tone\n2\ttwo\n3\tthree\n');
    const answer = await curl(['-F', `ids=@${ids}`], { query: 'SELECT name FROM ids WHERE id > 1 ORDER BY id', ids_structure: 'id UInt32, name String', readonly: '1' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('two\nthree\n');
  });

  it('binds a Map query parameter', async () => {
    const answer = await curl(['--data-binary', "SELECT {m:Map(String, Array(UInt8))}['b']"], { param_m: "{'a':[1],'b':[2,3]}" });
    expect(answer.body).toBe('[2,3]\n');
  });

  it("quotes the user's query in a syntax error, not the interface's own wrapper", async () => {
    const answer = await curl(['--data-binary', 'SELEC 1']);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/^Code: 62\. DB::Exception: Syntax error: failed at position 7.* in query: SELEC 1\. \(SYNTAX_ERROR\)\n$/s);
    expect(answer.body).not.toContain('formatQuery');
  });
});
