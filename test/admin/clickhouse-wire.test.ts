/**
 * The admin port's ClickHouse HTTP interface on the wire, as plain HTTP
 * requests send it: ClickHouse's compressed blocks (compress=1,
 * decompress=1), every Content-Encoding ClickHouse reads (xz, bz2 and
 * snappy made by independent encoders: Python's lzma and bz2 modules, the
 * snappy library in Hadoop's framing), the answer encodings, external data
 * tables in multipart requests, and the progress headers. A read-only
 * server with credentials, as a user runs it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as snappy from 'snappy';
import { cityHash128 } from '../../src/admin/clickhouse-http/cityhash128';
import { compressNativeBlocks } from '../../src/admin/clickhouse-http/native-blocks';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { installPythonClient } from '../clickhouse-clients/clients-install';

const USER = 'reader';
const PASSWORD = 'wire-secret';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/** Runs a Python snippet with `input` on stdin and returns its stdout (bytes). */
async function python(code: string, input: Buffer = Buffer.alloc(0), executable = 'python3'): Promise<Buffer> {
  const child = promisify(execFile)(executable, ['-c', code], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  child.child.stdin!.end(input);
  return (await child).stdout;
}

/** Parses ClickHouse's compressed blocks independently of the interface's decoder: [method, data, uncompressed size][]. */
function blocksOf(framed: Buffer): Array<{ method: number; data: Buffer; size: number }> {
  const blocks = [];
  for (let at = 0; at < framed.length;) {
    const compressedSize = framed.readUInt32LE(at + 17);
    const hash = cityHash128(framed.subarray(at + 16, at + 16 + compressedSize));
    expect([framed.readBigUInt64LE(at), framed.readBigUInt64LE(at + 8)]).toEqual([hash.low, hash.high]);
    blocks.push({ method: framed[at + 16]!, data: framed.subarray(at + 25, at + 16 + compressedSize), size: framed.readUInt32LE(at + 21) });
    at += 16 + compressedSize;
  }
  return blocks;
}

/** Hadoop's snappy framing: one block (big-endian length) of chunks (big-endian length + raw snappy). */
function hadoopSnappy(data: Buffer, chunk = 64 * 1024): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(data.length);
  for (let at = 0; at < data.length; at += chunk) {
    const compressed = snappy.compressSync(data.subarray(at, at + chunk));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(compressed.length);
    parts.push(length, compressed);
  }
  return Buffer.concat(parts);
}

describe('admin ClickHouse interface on the wire', () => {
  let harness: CaptureHarness;

  beforeAll(async () => {
    harness = await startCaptureHarness({ adminUser: USER, adminPassword: PASSWORD });
  });

  afterAll(async () => {
    await harness.stop();
  });

  function post(body: string | Buffer | FormData, params: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Response> {
    const url = new URL('/', harness.adminUrl);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return fetch(url, { method: 'POST', body, headers: { authorization: AUTH, ...headers } });
  }

  async function bytes(res: Response): Promise<Buffer> {
    return Buffer.from(await res.arrayBuffer());
  }

  describe('compress=1 and decompress=1 (ClickHouse compressed blocks)', () => {
    it('answers in LZ4 blocks by default, which the lz4 library decodes', async () => {
      const res = await post('SELECT number, toString(number) FROM numbers(200000) FORMAT TabSeparated', { compress: '1' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBeNull();
      const blocks = blocksOf(await bytes(res));
      expect(blocks.length).toBeGreaterThan(1);
      expect(blocks.every((block) => block.method === 0x82 && block.size <= 1024 * 1024)).toBe(true);
      // Each LZ4 block through the lz4 package's block decoder (clickhouse-connect's dependency).
      const py = installPythonClient().executable!;
      const decoded: Buffer[] = [];
      for (const block of blocks) {
        decoded.push(await python(`import lz4.block, sys; sys.stdout.buffer.write(lz4.block.decompress(sys.stdin.buffer.read(), uncompressed_size=${block.size}))`, block.data, py));
      }
      const lines = Buffer.concat(decoded).toString('utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(200000);
      expect(lines[199999]).toBe('199999\t199999');
    });

    it('answers in ZSTD blocks with network_compression_method=ZSTD, inside HTTP compression when both are asked', async () => {
      const res = await post('SELECT sum(number) FROM numbers(1000)', { compress: '1', network_compression_method: 'ZSTD', enable_http_compression: '1' }, { 'accept-encoding': 'gzip' });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      // fetch undid the gzip; the compressed blocks are what remains.
      const [block] = blocksOf(await bytes(res));
      expect(block!.method).toBe(0x90);
      expect(zlib.zstdDecompressSync(block!.data).toString()).toBe('499500\n');
    });

    it('reads a body of compressed blocks with decompress=1, after its Content-Encoding', async () => {
      const blocks = await compressNativeBlocks(Buffer.from('SELECT 40 + 2'), 'LZ4');
      expect(await (await post(blocks, { decompress: '1' })).text()).toBe('42\n');
      const gzipped = zlib.gzipSync(await compressNativeBlocks(Buffer.from('SELECT 6 * 7'), 'ZSTD'));
      expect(await (await post(gzipped, { decompress: '1' }, { 'content-encoding': 'gzip' })).text()).toBe('42\n');
    });

    it('refuses a block whose checksum does not match (40), unless http_native_compression_disable_checksumming_on_decompress=1', async () => {
      const blocks = await compressNativeBlocks(Buffer.from('SELECT 1'), 'NONE');
      blocks[0] = blocks[0]! ^ 0xff;
      const refused = await post(blocks, { decompress: '1' });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('x-clickhouse-exception-code')).toBe('40');
      expect(await refused.text()).toMatch(/checksum does not match in the compressed block at byte 0/);
      expect(await (await post(blocks, { decompress: '1', http_native_compression_disable_checksumming_on_decompress: '1' })).text()).toBe('1\n');
    });

    it('stops at the query size cap before inflating a block that claims more', async () => {
      const bomb = await compressNativeBlocks(Buffer.concat([Buffer.from('SELECT 1 -- '), Buffer.alloc(8 * 1024 * 1024, 0x61)]), 'LZ4');
      expect(bomb.length).toBeLessThan(64 * 1024);
      const res = await post(bomb, { decompress: '1' });
      expect(res.status).toBe(413);
      expect(res.headers.get('x-clickhouse-exception-code')).toBe('229');
    });

    it('sends an error in compressed blocks when compress=1 was asked (as ClickHouse does), and plain before authentication', async () => {
      const res = await post('SELECT no_such_column', { compress: '1' });
      expect(res.headers.get('x-clickhouse-exception-code')).toBe('47');
      const [block] = blocksOf(await bytes(res));
      expect(block!.data.length).toBeGreaterThan(0);
      const url = new URL('/', harness.adminUrl);
      url.searchParams.set('compress', '1');
      const unauthorized = await fetch(url, { method: 'POST', body: 'SELECT 1', headers: { authorization: 'Basic eDp5' } });
      expect(unauthorized.status).toBe(401);
      expect(await unauthorized.text()).toMatch(/^Code: 516\./);
    });

    it('names the methods it takes when network_compression_method is another codec', async () => {
      const res = await post('SELECT 1', { compress: '1', network_compression_method: 'Delta' });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/network_compression_method must be LZ4, ZSTD or NONE; got "Delta"/);
    });
  });

  describe('Content-Encoding xz, bz2 and snappy', () => {
    it('reads an xz body made by Python’s lzma module (and its lzma alias)', async () => {
      const body = await python('import lzma, sys; sys.stdout.buffer.write(lzma.compress(b"SELECT 40 + 2"))');
      expect(await (await post(body, {}, { 'content-encoding': 'xz' })).text()).toBe('42\n');
      expect(await (await post(body, {}, { 'content-encoding': 'lzma' })).text()).toBe('42\n');
    });

    it('reads a bz2 body made by Python’s bz2 module, two concatenated streams included', async () => {
      const body = await python('import bz2, sys; sys.stdout.buffer.write(bz2.compress(b"SELECT 40 ") + bz2.compress(b"+ 2"))');
      expect(await (await post(body, {}, { 'content-encoding': 'bz2' })).text()).toBe('42\n');
      expect(await (await post(body, {}, { 'content-encoding': 'bzip2' })).text()).toBe('42\n');
    });

    it('reads a snappy body in Hadoop’s framing, as ClickHouse does', async () => {
      const sql = `SELECT count() FROM numbers(10) WHERE number IN (${Array.from({ length: 20000 }, (_, i) => i % 7).join(',')})`;
      const res = await post(hadoopSnappy(Buffer.from(sql), 4096), {}, { 'content-encoding': 'snappy' });
      expect(await res.text()).toBe('7\n');
    });

    it.each([
      ['xz', 'import lzma, sys; sys.stdout.buffer.write(lzma.compress(b"SELECT 1 -- " + b"a" * (16 * 1024 * 1024)))'],
      ['bz2', 'import bz2, sys; sys.stdout.buffer.write(bz2.compress(b"SELECT 1 -- " + b"a" * (16 * 1024 * 1024)))'],
    ])('stops inflating a %s body at the query size cap', async (encoding, code) => {
      const bomb = await python(code);
      expect(bomb.length).toBeLessThan(256 * 1024);
      const res = await post(bomb, {}, { 'content-encoding': encoding });
      expect(res.status).toBe(413);
      expect(res.headers.get('x-clickhouse-exception-code')).toBe('229');
    });

    it('refuses a snappy block that declares more than the cap before inflating it', async () => {
      const bomb = Buffer.alloc(8);
      bomb.writeUInt32BE(1 << 30, 0);
      const res = await post(bomb, {}, { 'content-encoding': 'snappy' });
      expect(res.status).toBe(413);
    });

    it('names the encodings it reads when given another', async () => {
      const res = await post('SELECT 1', {}, { 'content-encoding': 'compress' });
      expect(res.status).toBe(501);
      expect(await res.text()).toMatch(/Unknown Content-Encoding "compress": gzip, deflate, br, xz, zstd, lz4, bz2 and snappy/);
    });

    it('answers xz when it is the encoding offered, which Python’s lzma module decodes', async () => {
      const res = await post('SELECT number FROM numbers(50000)', { enable_http_compression: '1' }, { 'accept-encoding': 'xz' });
      expect(res.headers.get('content-encoding')).toBe('xz');
      const text = (await python('import lzma, sys; sys.stdout.buffer.write(lzma.decompress(sys.stdin.buffer.read()))', await bytes(res))).toString();
      expect(text.split('\n')[49999]).toBe('49999');
    });

    it('prefers the encodings in ClickHouse’s order, and answers uncompressed to bz2 or snappy alone', async () => {
      const both = await post('SELECT 1', { enable_http_compression: '1' }, { 'accept-encoding': 'gzip, zstd' });
      expect(both.headers.get('content-encoding')).toBe('zstd');
      await both.arrayBuffer();
      for (const encoding of ['bz2', 'snappy']) {
        const res = await post('SELECT 1', { enable_http_compression: '1' }, { 'accept-encoding': encoding });
        expect(res.headers.get('content-encoding')).toBeNull();
        expect(await res.text()).toBe('1\n');
      }
    });
  });

  describe('external data tables', () => {
    function form(tables: Record<string, string | Buffer>, fields: Record<string, string> = {}): FormData {
      const data = new FormData();
      for (const [name, value] of Object.entries(fields)) data.append(name, value);
      for (const [name, content] of Object.entries(tables)) data.append(name, new Blob([content]), `${name}.data`);
      return data;
    }

    it('serves a file part as a table of the query, with its structure in the URL', async () => {
      const res = await post(form({ ids: '1\tone\n2\ttwo\n3\tthree\n' }), { query: 'SELECT name FROM ids WHERE id >= 2 ORDER BY id', ids_structure: 'id UInt32, name String' });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('two\nthree\n');
    });

    it('takes _types (columns _1, _2…) and _format as parts, and joins two tables with the store', async () => {
      const res = await post(
        form({ a: '1,x\n2,y\n', b: '2\n' }, { query: 'SELECT _2 FROM a WHERE _1 IN b AND _1 IN (SELECT number FROM numbers(5))', a_types: 'UInt8,String', a_format: 'CSV', b_types: 'UInt8' }),
      );
      expect(await res.text()).toBe('y\n');
    });

    it('keeps binary formats whole (Native made by the engine itself)', async () => {
      const native = await bytes(await post("SELECT toUInt64(number) AS n, repeat('é', number) AS s FROM numbers(4) FORMAT Native"));
      const res = await post(form({ t: native }, { query: 'SELECT sum(n), max(length(s)) FROM t' }), { t_structure: 'n UInt64, s String', t_format: 'Native' });
      expect(await res.text()).toBe('6\t6\n');
    });

    it('stays read-only and lives only as long as its request', async () => {
      const write = await post(form({ ids: '1\n' }, { query: 'INSERT INTO ids VALUES (2)' }), { ids_structure: 'id UInt32' });
      expect(write.headers.get('x-clickhouse-exception-code')).toBe('164');
      const later = await post('SELECT * FROM ids');
      expect(later.headers.get('x-clickhouse-exception-code')).toBe('60');
      await later.text();
    });

    it('says what is wrong with a table: no structure, a bad name, rows that do not parse', async () => {
      const none = await post(form({ ids: '1\n' }, { query: 'SELECT 1' }));
      expect(await none.text()).toMatch(/External table ids has neither ids_structure .* nor ids_types/);
      const name = await post(form({ 'x-y': '1\n' }, { query: 'SELECT 1' }), { 'x-y_types': 'UInt8' });
      expect(await name.text()).toMatch(/External table name "x-y" must be a plain identifier/);
      const rows = await post(form({ ids: 'abc\n' }, { query: 'SELECT * FROM ids' }), { ids_structure: 'id UInt32' });
      expect(rows.status).toBe(400);
      expect(await rows.text()).toMatch(/External table ids \(format TabSeparated, structure 'id UInt32'\): .*abc/s);
    });

    it('caps the external data of one request', async () => {
      const res = await post(form({ big: Buffer.alloc(17 * 1024 * 1024, 0x31) }, { query: 'SELECT 1' }), { big_types: 'String' });
      expect(res.status).toBe(413);
      expect(res.headers.get('x-clickhouse-exception-code')).toBe('229');
    });
  });

  describe('progress and summary headers', () => {
    it('sends X-ClickHouse-Progress with the final counts when asked, and the summary always', async () => {
      const res = await post('SELECT sum(number) FROM numbers(123456) FORMAT Native', {
        send_progress_in_http_headers: '1',
        http_headers_progress_interval_ms: '100',
        client_protocol_version: '54460',
      });
      await res.arrayBuffer();
      const progress = JSON.parse(res.headers.get('x-clickhouse-progress') ?? '{}') as Record<string, string>;
      const summary = JSON.parse(res.headers.get('x-clickhouse-summary') ?? '{}') as Record<string, string>;
      // The embedded engine reports the rows of its result, not those it read (0, as ClickHouse reports counters it has none for).
      expect(summary).toMatchObject({ read_rows: '0', result_rows: '1', written_rows: '0', result_bytes: expect.stringMatching(/^[1-9]\d*$/) });
      expect(progress).toEqual(summary);
      const plain = await post('SELECT number FROM numbers(1000) FORMAT JSONEachRow');
      expect(plain.headers.get('x-clickhouse-progress')).toBeNull();
      expect(JSON.parse(plain.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({ result_rows: '1000' });
      await plain.text();
    });
  });
});
