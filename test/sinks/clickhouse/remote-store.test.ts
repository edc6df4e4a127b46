/**
 * The remote ClickHouse sink end to end, with the real @clickhouse/client
 * talking to a real ClickHouse engine: a second egress-capture process
 * (chdb binds one data directory per process) serves its embedded store on
 * its admin port with writes allowed and credentials u/p. This process runs
 * the capture service with --clickhouse-url pointing there, so captured
 * exchanges travel ext_proc → RemoteStore → @clickhouse/client (gzip bodies,
 * deduplication tokens, schema DDL) → the admin ClickHouse interface → chdb.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';

// Expected failures below would otherwise be logged by the client at ERROR.
const quiet = { log: { level: ClickHouseLogLevel.OFF } };
import { CaptureError } from '../../../src/errors';
import { RemoteStore, type RemoteStoreOptions } from '../../../src/sinks/clickhouse/remote-store';
import { schemaStatements } from '../../../src/sinks/clickhouse/schema';
import { SINGLE_SERVER_LAYOUT } from '../../../src/sinks/clickhouse/table-layout';
import { SERVER_INFO_FILE, type ServerInfo } from '../../../src/service/capture-service';
import { startCaptureHarness, type CaptureHarness } from '../../support/capture-harness';
import { exchange, headers, rawClient } from '../../support/raw-extproc-client';
import { freePort } from '../../support/listen-port';
import { runInProcess } from '../../cli/cli-helpers';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

interface Target {
  child: ChildProcess;
  dataDir: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  stderr: string[];
}

async function startTarget(): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-target-'));
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--admin-allow-writes', '--admin-user', 'u', '--log-level', 'warn'],
    // The password goes through the env twin, as the docs recommend.
    { env: { ...process.env, EGRESS_CAPTURE_ADMIN_PASSWORD: 'p' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const infoFile = path.join(dataDir, SERVER_INFO_FILE);
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(infoFile)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`target did not start: ${stderr.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as ServerInfo;
  const port = Number(new URL(info.adminUrl).port);
  return { child, dataDir, origin: info.adminUrl, port, stderr };
}

async function stopTarget(target: Target): Promise<void> {
  if (target.child.exitCode === null) {
    const exited = new Promise((resolve) => target.child.once('exit', resolve));
    target.child.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(target.dataDir, { recursive: true, force: true });
}

async function openError(url: string, caFile?: string, extra: Partial<RemoteStoreOptions> = {}): Promise<CaptureError> {
  const store = new RemoteStore({ url, ttlDays: 0, caFile, requestTimeoutMs: 5000, ...extra });
  try {
    await store.open();
  } catch (err) {
    expect(err).toBeInstanceOf(CaptureError);
    return err as CaptureError;
  }
  await store.close();
  throw new Error('expected open() to fail');
}

describe('remote ClickHouse through @clickhouse/client', () => {
  let target: Target;
  let client: ClickHouseClient;

  beforeAll(async () => {
    target = await startTarget();
    client = createClient({ url: target.origin, username: 'u', password: 'p', compression: { request: true, response: true }, ...quiet });
  });

  afterAll(async () => {
    await client?.close();
    if (target !== undefined) await stopTarget(target);
  });

  it('ping, command, insert and query work against the admin interface', async () => {
    expect(await client.ping()).toEqual({ success: true });
    await client.command({ query: 'CREATE TABLE IF NOT EXISTS client_ops (id UInt32, name String) ENGINE = MergeTree ORDER BY id' });
    const inserted = await client.insert({
      table: 'client_ops',
      values: [
        { id: 1, name: 'one' },
        { id: 2, name: 'two' },
      ],
      format: 'JSONEachRow',
    });
    expect(inserted.query_id).not.toBe('');
    // The client's default insert format, JSONCompactEachRow, with a column list.
    await client.insert({ table: 'client_ops', values: [[3, 'three']], columns: ['id', 'name'] });

    const each = await client.query({ query: 'SELECT id, name FROM client_ops ORDER BY id', format: 'JSONEachRow' });
    expect(each.query_id).not.toBe('');
    expect(await each.json()).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
      { id: 3, name: 'three' },
    ]);
    // The client's default format (JSON), query parameters and settings.
    const json = await client.query({ query: 'SELECT name FROM client_ops WHERE id = {id:UInt32}', query_params: { id: 2 }, clickhouse_settings: { max_result_rows: '10' } });
    expect(((await json.json()) as { data: unknown[] }).data).toEqual([{ name: 'two' }]);
    const text = await client.query({ query: 'SELECT count() FROM client_ops', format: 'CSV' });
    expect(await text.text()).toBe('3\n');

    await client.command({ query: 'DROP TABLE client_ops' });
    // Errors surface as ClickHouseError with the server's code.
    await expect(client.query({ query: 'SELECT * FROM client_ops', format: 'JSONEachRow' })).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });

  it('with writes allowed, curl-style INSERT … FORMAT JSONEachRow works over POST and GET stays read-only', async () => {
    const auth = { authorization: `Basic ${Buffer.from('u:p').toString('base64')}` };
    const url = (query: string): URL => {
      const u = new URL('/', target.origin);
      u.searchParams.set('query', query);
      return u;
    };
    expect((await fetch(url('CREATE TABLE raw_rows (id UInt32, s String) ENGINE = MergeTree ORDER BY id'), { method: 'POST', headers: auth })).status).toBe(200);
    const insert = await fetch(url('INSERT INTO raw_rows FORMAT JSONEachRow'), { method: 'POST', headers: auth, body: '{"id":1,"s":"a;b"}\n{"id":2,"s":"c"}\n' });
    expect(insert.status).toBe(200);
    expect(await insert.text()).toBe('');
    const read = await fetch(url('SELECT * FROM raw_rows ORDER BY id FORMAT JSONEachRow'), { headers: auth });
    expect(await read.text()).toBe('{"id":1,"s":"a;b"}\n{"id":2,"s":"c"}\n');
    // GET implies read-only, as in ClickHouse.
    const viaGet = await fetch(url('DROP TABLE raw_rows'), { headers: auth });
    expect(viaGet.status).toBe(403);
    expect(viaGet.headers.get('x-clickhouse-exception-code')).toBe('164');
    await viaGet.text();
    expect((await fetch(url('DROP TABLE raw_rows'), { method: 'POST', headers: auth })).status).toBe(200);
  });

  it('the client sees 516 for a wrong password and 81 for a missing database', async () => {
    const wrong = createClient({ url: target.origin, username: 'u', password: 'nope', ...quiet });
    await expect(wrong.query({ query: 'SELECT 1', format: 'CSV' })).rejects.toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' });
    await wrong.close();
    const noDb = createClient({ url: target.origin, username: 'u', password: 'p', database: 'missing', ...quiet });
    await expect(noDb.query({ query: 'SELECT 1', format: 'CSV' })).rejects.toMatchObject({ code: '81', type: 'UNKNOWN_DATABASE' });
    await noDb.close();
  });

  describe('a schema managed by hand (--no-create-schema) and the start-up check', () => {
    const storeUrl = (): string => `http://u:p@127.0.0.1:${target.port}/default`;

    // The target is a stand-in server whose own (embedded) table is in the way: a DBA's
    // database starts empty. The service tests below create theirs again.
    beforeAll(async () => {
      await client.command({ query: 'DROP TABLE IF EXISTS http_exchanges' });
    });

    afterAll(async () => {
      await client.command({ query: 'DROP TABLE IF EXISTS http_exchanges' });
    });

    it('names a missing table, and creates nothing', async () => {
      const err = await openError(storeUrl(), undefined, { createSchema: false });
      expect(err.code).toBe('CAP_ERR_STORE_SCHEMA');
      expect(err.message).toBe(
        `ClickHouse at 127.0.0.1:${target.port} (database default): table http_exchanges does not exist (apply \`egress-capture schema\` with the same options, or drop --no-create-schema)`,
      );
      const tables = await client.query({ query: "SELECT name FROM system.tables WHERE database = 'default' AND name LIKE 'http_exchanges%'", format: 'JSONEachRow' });
      expect(await tables.json()).toEqual([]);
    });

    it('names every column the table lacks', async () => {
      await client.command({ query: "CREATE TABLE http_exchanges (Timestamp DateTime64(9, 'UTC'), CaptureId String, Authority String, Path String) ENGINE = MergeTree ORDER BY Timestamp" });
      const err = await openError(storeUrl(), undefined, { createSchema: false });
      expect(err.code).toBe('CAP_ERR_STORE_SCHEMA');
      expect(err.message).toMatch(
        /^ClickHouse at 127\.0\.0\.1:\d+ \(database default\): table http_exchanges lacks columns RequestId, TraceId, SpanId, SourceAddress, Method, .*, CapturedBy, CaptureLevel, CaptureRule, CaptureOptOut, RetentionDays that the service writes \(add them: `egress-capture schema --migrations` prints the ALTER statements\)$/,
      );
      expect(err.message).not.toMatch(/\b(CaptureId|Authority|Path),/);
    });

    it('a table with another engine than configured is refused, even when the service may create tables', async () => {
      const err = await openError(storeUrl(), undefined, { layout: { ...SINGLE_SERVER_LAYOUT, cluster: 'c1', distributed: true }, createSchema: false });
      expect(err.message).toBe(
        `ClickHouse at 127.0.0.1:${target.port} (database default): table http_exchanges is MergeTree; --clickhouse-distributed needs a Distributed table by that name (the data in http_exchanges_local on each shard): rename or drop the existing one first`,
      );
      const replicated = await openError(storeUrl(), undefined, { layout: { ...SINGLE_SERVER_LAYOUT, engine: 'ReplicatedMergeTree' } });
      expect(replicated.code).toBe('CAP_ERR_STORE_SCHEMA');
      expect(replicated.message).toBe(`ClickHouse at 127.0.0.1:${target.port} (database default): table http_exchanges is MergeTree, not ReplicatedMergeTree (--clickhouse-engine)`);
    });

    it('with every column in place the store opens without running DDL, and writes', async () => {
      await client.command({ query: 'DROP TABLE http_exchanges' });
      // What a DBA applies from `egress-capture schema --ttl-days 0`.
      const [create] = schemaStatements(0, []);
      await client.command({ query: create! });
      const store = new RemoteStore({ url: storeUrl(), ttlDays: 30, createSchema: false });
      await store.open();
      try {
        // ttlDays 30 was not applied: the service ran no ALTER.
        const create = await client.query({ query: "SELECT create_table_query FROM system.tables WHERE database = 'default' AND name = 'http_exchanges'", format: 'JSONEachRow' });
        const ddl = JSON.stringify(await create.json());
        expect(ddl).toContain('WHERE RetentionDays > 0');
        expect(ddl).not.toContain('if(RetentionDays = 0, 30');
        const line = `${JSON.stringify({ Timestamp: '2026-01-01 00:00:00.000000000', CaptureId: 'handmade-1', Authority: 'handmade.test' })}\n`;
        expect(await store.write({ jsonEachRow: line, rowCount: 1, byteLength: Buffer.byteLength(line), batchId: 'handmade-batch' })).toEqual({ ok: true });
        expect(await store.query("SELECT CaptureId FROM http_exchanges WHERE Authority = 'handmade.test'")).toBe('{"CaptureId":"handmade-1"}\n');
      } finally {
        await store.close();
      }
    });
  });

  describe('the capture service on a remote store', () => {
    let harness: CaptureHarness;

    beforeAll(async () => {
      harness = await startCaptureHarness({ clickhouseUrl: `http://u:p@127.0.0.1:${target.port}/default` });
    });

    afterAll(async () => {
      await harness?.stop();
    });

    it('stores captured exchanges in the remote ClickHouse', async () => {
      const grpcClient = rawClient(harness.grpcAddress);
      try {
        for (const pathName of ['/remote/a', '/remote/b', '/remote/c']) {
          await exchange(
            grpcClient,
            [
              {
                request_headers: {
                  headers: headers([
                    [':method', 'POST'],
                    [':path', pathName],
                    [':authority', 'remote.test'],
                    [':scheme', 'https'],
                    ['content-type', 'application/json'],
                  ]),
                  end_of_stream: false,
                },
                metadata_context: {},
              },
              { request_body: { body: Buffer.from(JSON.stringify({ path: pathName })), end_of_stream: true }, metadata_context: {} },
              {
                response_headers: {
                  headers: headers([
                    [':status', '200'],
                    ['content-type', 'application/json'],
                  ]),
                  end_of_stream: false,
                },
                metadata_context: {},
              },
              { response_body: { body: Buffer.from('{"ok":true}'), end_of_stream: true }, metadata_context: {} },
            ],
            { close: 'half-close' },
          );
        }
      } finally {
        grpcClient.close();
      }
      // harness.rows flushes the batcher, then reads back through RemoteStore.query.
      const viaService = await harness.rows<{ Path: string }>("SELECT Path FROM http_exchanges WHERE Authority = 'remote.test' ORDER BY Path");
      expect(viaService.map((row) => row.Path)).toEqual(['/remote/a', '/remote/b', '/remote/c']);

      // And independently, through @clickhouse/client against the target.
      const result = await client.query({ query: "SELECT Path, RequestBody, ResponseBody, StatusCode FROM http_exchanges WHERE Authority = 'remote.test' ORDER BY Path", format: 'JSONEachRow' });
      expect(await result.json()).toEqual([
        { Path: '/remote/a', RequestBody: '{"path":"/remote/a"}', ResponseBody: '{"ok":true}', StatusCode: 200 },
        { Path: '/remote/b', RequestBody: '{"path":"/remote/b"}', ResponseBody: '{"ok":true}', StatusCode: 200 },
        { Path: '/remote/c', RequestBody: '{"path":"/remote/c"}', ResponseBody: '{"ok":true}', StatusCode: 200 },
      ]);
    });

    it('egress-capture query reads it through --clickhouse-url and leaves its schema and TTL alone', async () => {
      const showCreate = async (): Promise<string> => (await client.query({ query: 'SHOW CREATE TABLE http_exchanges', format: 'TabSeparatedRaw' })).text();
      const before = await showCreate();
      expect(before).toContain('TTL');
      // A reader with another --ttl-days than the service: opening the store for it must not rewrite the table.
      const url = `http://u:p@127.0.0.1:${target.port}/default`;
      const result = await runInProcess(['query', '--clickhouse-url', url, '--ttl-days', '1', '--format', 'TSV', "SELECT Path FROM http_exchanges WHERE Authority = 'remote.test' ORDER BY Path"]);
      expect(result).toMatchObject({ code: 0, stdout: '/remote/a\n/remote/b\n/remote/c\n', stderr: '' });
      const fromEnv = await runInProcess(['query', '--format', 'TSV', "SELECT count() FROM http_exchanges WHERE Authority = 'remote.test'"], {
        EGRESS_CAPTURE_CLICKHOUSE_URL: url,
        EGRESS_CAPTURE_TTL_DAYS: '0',
      });
      expect(fromEnv).toMatchObject({ code: 0, stdout: '3\n' });
      expect(await showCreate()).toBe(before);
    });

    it('a batch written twice with the same token is stored once', async () => {
      const store = new RemoteStore({ url: `http://u:p@127.0.0.1:${target.port}/default`, ttlDays: 0 });
      await store.open();
      try {
        const line = `${JSON.stringify({ Timestamp: '2026-01-01 00:00:00.000000000', CaptureId: 'dedup-1', Authority: 'dedup.test', Path: '/once' })}\n`;
        const batch = { jsonEachRow: line, rowCount: 1, byteLength: Buffer.byteLength(line), batchId: 'dedup-batch-1' };
        expect(await store.write(batch)).toEqual({ ok: true });
        expect(await store.write(batch)).toEqual({ ok: true });
        const count = await client.query({ query: "SELECT count() AS n FROM http_exchanges WHERE CaptureId = 'dedup-1'", format: 'JSONEachRow' });
        expect(await count.json()).toEqual([{ n: 1 }]);
      } finally {
        await store.close();
      }
    });
  });

  it('a wrong password is a clear startup error', async () => {
    const err = await openError(`http://u:wrong@127.0.0.1:${target.port}/default`);
    expect(err.code).toBe('CAP_ERR_STORE_AUTH');
    expect(err.message).toBe(`ClickHouse rejected the credentials for user u at 127.0.0.1:${target.port} (check the user and password in --clickhouse-url)`);
    expect(err.message).not.toContain('wrong');
    // The service does not start on it either.
    await expect(startCaptureHarness({ clickhouseUrl: `http://u:wrong@127.0.0.1:${target.port}/default` })).rejects.toMatchObject({ code: 'CAP_ERR_STORE_AUTH' });
  });

  it('a missing database is a clear startup error (and is not created)', async () => {
    const err = await openError(`http://u:p@127.0.0.1:${target.port}/nosuchdb`);
    expect(err.code).toBe('CAP_ERR_STORE_NO_DATABASE');
    expect(err.message).toBe(`database nosuchdb does not exist on 127.0.0.1:${target.port} (create it or fix --clickhouse-url)`);
  });

  it('an unreachable server is a clear startup error', async () => {
    const port = await freePort();
    const err = await openError(`http://u:p@127.0.0.1:${port}/default`);
    expect(err.code).toBe('CAP_ERR_STORE_UNREACHABLE');
    expect(err.message).toMatch(new RegExp(`^cannot reach ClickHouse at 127\\.0\\.0\\.1:${port}: `));
  });

  it('speaks TLS with a private CA given by --clickhouse-ca-file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    // A TLS-terminating proxy in front of the target's plain-HTTP admin port.
    const proxy = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
      const upstream = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    try {
      const store = new RemoteStore({ url: `https://u:p@127.0.0.1:${port}/default`, ttlDays: 0, caFile: cert });
      await store.open();
      expect(await store.query('SELECT 1 AS one', 'JSONEachRow')).toBe('{"one":1}\n');
      await store.close();
      // Without the CA the certificate is not trusted, and the error says what to do.
      const err = await openError(`https://u:p@127.0.0.1:${port}/default`);
      expect(err.code).toBe('CAP_ERR_STORE_UNREACHABLE');
      expect(err.message).toContain('--clickhouse-ca-file');
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
