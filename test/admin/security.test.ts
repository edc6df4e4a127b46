/**
 * Who the admin port answers, against real listeners: the data paths (/,
 * /query, /status) never answer unauthenticated beyond loopback, a loopback
 * bind refuses foreign Host names there (DNS rebinding), CORS is never `*`,
 * and the probe and scrape paths stay open.
 */
import * as http from 'node:http';
import { AdminServer } from '../../src/admin/admin-server';
import { silentLogger } from '../../src/logger';
import { CaptureMetrics } from '../../src/metrics';
import { adminClickHouse } from '../support/admin-policy';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** node:http rather than fetch(): fetch() does not let a caller set Host. */
function request(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Stands in for the engine: answers the interface's own formatQuery/EXPLAIN steps and `SELECT 1`. */
const store = {
  async query(sql: string): Promise<string> {
    if (sql.startsWith('SELECT formatQuery(')) return `${JSON.stringify({ f: 'SELECT 1' })}\n`;
    if (sql.startsWith('EXPLAIN AST')) return 'SelectWithUnionQuery (children 1)\n';
    if (sql.startsWith('SELECT timezone()')) return 'UTC\n';
    if (sql.startsWith('SELECT name FROM system.table_functions')) return '';
    return '1\n';
  },
};

async function startAdmin(host: string, credentials?: { user: string; password: string }): Promise<{ server: AdminServer; port: number }> {
  const server = new AdminServer({
    host,
    port: 0,
    metrics: new CaptureMetrics({ processMetrics: false }),
    log: silentLogger(),
    isReady: () => true,
    store,
    status: () => ({ balanced: true }),
    clickhouse: adminClickHouse({ user: credentials?.user ?? '', password: credentials?.password ?? '' }),
  });
  return { server, port: await server.listen() };
}

const DATA_PATHS = ['/?query=SELECT%201', '/query?query=SELECT%201', '/status'];
const OPEN_PATHS = ['/healthz', '/readyz', '/metrics', '/ping'];

describe('admin port on a wide bind without credentials', () => {
  let admin: { server: AdminServer; port: number };
  beforeAll(async () => {
    admin = await startAdmin('0.0.0.0');
  });
  afterAll(() => admin.server.close());

  it.each(DATA_PATHS)('serves no data on %s, naming the fix', async (path) => {
    const answer = await request(admin.port, path);
    expect(answer.status).toBe(403);
    expect(answer.headers['x-clickhouse-exception-code']).toBe('497');
    expect(answer.body).toMatch(/EGRESS_CAPTURE_ADMIN_USER and EGRESS_CAPTURE_ADMIN_PASSWORD/);
    expect(answer.body).toMatch(/--admin-listen to 127\.0\.0\.1/);
    expect(answer.body).not.toMatch(/^1$/m);
  });

  it.each(OPEN_PATHS)('answers %s for probes and scrapes', async (path) => {
    const answer = await request(admin.port, path);
    expect(answer.status).toBe(200);
  });
});

describe('admin port on a wide bind with credentials', () => {
  const AUTH = `Basic ${Buffer.from('ops:s3cret').toString('base64')}`;
  let admin: { server: AdminServer; port: number };
  beforeAll(async () => {
    admin = await startAdmin('0.0.0.0', { user: 'ops', password: 's3cret' });
  });
  afterAll(() => admin.server.close());

  it.each(DATA_PATHS)('asks for them on %s (401) and answers with them, whatever the Host', async (path) => {
    const without = await request(admin.port, path);
    expect(without.status).toBe(401);
    expect(without.headers['www-authenticate']).toMatch(/^Basic/);
    const wrong = await request(admin.port, path, { authorization: `Basic ${Buffer.from('ops:guess').toString('base64')}` });
    expect(wrong.status).toBe(401);
    const right = await request(admin.port, path, { authorization: AUTH, host: 'egress-capture.egress-capture.svc:9003' });
    expect(right.status).toBe(200);
  });

  it.each(OPEN_PATHS)('answers %s without credentials', async (path) => {
    expect((await request(admin.port, path)).status).toBe(200);
  });
});

describe('admin port on loopback without credentials', () => {
  let admin: { server: AdminServer; port: number };
  beforeAll(async () => {
    admin = await startAdmin('127.0.0.1');
  });
  afterAll(() => admin.server.close());

  it.each(['localhost', 'LOCALHOST:9003', '127.0.0.1:1234', '[::1]:9003'])('serves data to Host %s', async (host) => {
    const answer = await request(admin.port, '/?query=SELECT%201', { host });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('1\n');
  });

  it.each(DATA_PATHS)('refuses a foreign Host (DNS rebinding) on %s', async (path) => {
    for (const host of ['evil.example', 'evil.example:9003', '127.0.0.1.evil.example', 'localhost.evil.example']) {
      const answer = await request(admin.port, path, { host });
      expect(answer.status).toBe(403);
      expect(answer.body).toMatch(/not a loopback name/);
    }
  });

  it.each(OPEN_PATHS)('answers %s whatever the Host', async (path) => {
    expect((await request(admin.port, path, { host: 'evil.example' })).status).toBe(200);
  });

  it('never answers CORS with *, even when asked with add_http_cors_header=1', async () => {
    const answer = await request(admin.port, '/?query=SELECT%201&add_http_cors_header=1', { origin: 'https://evil.example' });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    const query = await request(admin.port, '/query?query=SELECT%201&add_http_cors_header=1', { origin: 'https://evil.example' });
    expect(query.headers['access-control-allow-origin']).toBeUndefined();
  });
});
