/**
 * The admin port over HTTPS (--admin-tls-cert-file/--admin-tls-key-file), as
 * an operator turns it on: a real service with real certificates, clients
 * that trust only the CA, the CLI finding the server through its data
 * directory, and a certificate rotated under the running listener.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdminServer } from '../../src/admin/admin-server';
import { loadConfig } from '../../src/config/load-config';
import { silentLogger } from '../../src/logger';
import { CaptureMetrics } from '../../src/metrics';
import { SERVER_INFO_FILE } from '../../src/service/capture-service';
import { runInProcess } from '../cli/cli-helpers';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { makeTestPki, type TestPki } from '../support/test-certificates';
import { adminClickHouse } from '../support/admin-policy';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-admin-tls-'));
let pki: TestPki;

beforeAll(() => {
  pki = makeTestPki(dir);
  pki.issueServer('rotated', 'DNS:localhost,DNS:rotated.test,IP:127.0.0.1');
  pki.issueServer('other', 'DNS:localhost,IP:127.0.0.1');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** GET over HTTPS trusting only `ca`; resolves with the status, body and the certificate the server presented. */
function get(port: number, pathname: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port, path: pathname, servername: 'localhost', ca, headers, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, serial: (response.socket as import('node:tls').TLSSocket).getPeerX509Certificate()?.serialNumber ?? '' }));
    });
    request.on('error', reject);
  });
}

describe('admin port over HTTPS, with credentials', () => {
  let harness: CaptureHarness;
  const auth = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };
  beforeAll(async () => {
    harness = await startCaptureHarness({ adminTlsCertFile: pki.file('server.pem'), adminTlsKeyFile: pki.file('server.key'), adminUser: 'ops', adminPassword: 's3cret' });
  });
  afterAll(() => harness?.stop());

  it('answers probes and queries to a client that trusts the CA', async () => {
    expect(harness.adminUrl.startsWith('https://')).toBe(true);
    const port = harness.service.adminPort;
    expect(await get(port, '/readyz', pki.pem('ca.pem'))).toMatchObject({ status: 200, body: 'ready\n' });
    expect(await get(port, '/?query=SELECT%2040%2B2', pki.pem('ca.pem'), auth)).toMatchObject({ status: 200, body: '42\n' });
    expect((await get(port, '/?query=SELECT%201', pki.pem('ca.pem'))).status).toBe(401);
  });

  it('serves nothing to plain HTTP or to a client that does not trust the certificate', async () => {
    const port = harness.service.adminPort;
    await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow();
    await expect(get(port, '/readyz', pki.pem('other.pem'))).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('lets the CLI reach it through the data directory, pinned to the served certificate', async () => {
    const env = { EGRESS_CAPTURE_ADMIN_USER: 'ops', EGRESS_CAPTURE_ADMIN_PASSWORD: 's3cret' };
    const info = JSON.parse(fs.readFileSync(path.join(harness.dataDir, SERVER_INFO_FILE), 'utf8')) as { adminUrl: string; adminCertSha256: string };
    expect(info.adminUrl).toBe(`https://127.0.0.1:${harness.service.adminPort}`);
    const query = await runInProcess(['query', '--data-dir', harness.dataDir, '--format', 'TSV', 'SELECT 6*7'], env);
    expect(query).toMatchObject({ code: 0, stdout: '42\n', stderr: '' });
    const status = await runInProcess(['status', '--data-dir', harness.dataDir, '--json'], env);
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toHaveProperty('balanced', true);

    // Another certificate in the file than on the port: the CLI sends nothing and says why.
    const file = path.join(harness.dataDir, SERVER_INFO_FILE);
    const original = fs.readFileSync(file);
    try {
      fs.writeFileSync(file, JSON.stringify({ ...info, adminCertSha256: 'AA:'.repeat(31) + 'AA', pid: process.pid }));
      const refused = await runInProcess(['query', '--data-dir', harness.dataDir, 'SELECT 1'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`presented certificate SHA-256 ${info.adminCertSha256}`);
      expect(refused.stderr).toContain('not sending credentials or queries to it');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('reports the certificate expiry as a metric', async () => {
    const notAfter = new Date(new crypto.X509Certificate(pki.pem('server.pem')).validTo).getTime() / 1000;
    expect(await harness.metric('egress_capture_tls_certificate_not_after_seconds', { listener: 'admin' })).toBe(notAfter);
  });
});

describe('admin certificate rotation', () => {
  it('serves a rotated pair without a restart, and keeps the old one when the new files are broken', async () => {
    const live = fs.mkdtempSync(path.join(dir, 'live-'));
    const cert = path.join(live, 'tls.crt');
    const key = path.join(live, 'tls.key');
    fs.copyFileSync(pki.file('server.pem'), cert);
    fs.copyFileSync(pki.file('server.key'), key);
    const metrics = new CaptureMetrics();
    const changes: string[] = [];
    const admin = new AdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      log: silentLogger(),
      isReady: () => true,
      store: { query: async () => '' },
      clickhouse: adminClickHouse(),
      tls: { certFile: cert, keyFile: key, pollIntervalMs: 50, onChange: (pair) => changes.push(pair.fingerprint256) },
    });
    const port = await admin.listen();
    const serialOf = (name: string): string => new crypto.X509Certificate(pki.pem(name)).serialNumber;
    const until = async (check: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      expect((await get(port, '/healthz', pki.pem('ca.pem'))).serial).toBe(serialOf('server.pem'));

      // A half-done rotation (new certificate, old key) is refused and counted; the old pair keeps serving.
      fs.copyFileSync(pki.file('rotated.pem'), cert);
      await until(async () => (await metrics.registry.getSingleMetric('egress_capture_tls_reload_failures_total')!.get()).values.some((v) => v.value >= 1));
      expect((await get(port, '/healthz', pki.pem('ca.pem'))).serial).toBe(serialOf('server.pem'));

      // The key arrives: the new pair is served to new connections.
      fs.copyFileSync(pki.file('rotated.key'), key);
      await until(async () => (await get(port, '/healthz', pki.pem('ca.pem'))).serial === serialOf('rotated.pem'));
      expect(changes).toHaveLength(1);
    } finally {
      await admin.close();
    }
  });
});

describe('admin TLS configuration', () => {
  const load = (args: string[]): string => {
    try {
      loadConfig({ argv: args, env: {} });
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('names a missing half of the pair and an unreadable file', () => {
    expect(load(['--admin-tls-cert-file', pki.file('server.pem'), '--admin-tls-key-file', pki.file('server.key')])).toBe('');
    expect(load(['--admin-tls-key-file', pki.file('server.key')])).toContain(`--admin-tls-key-file: "${pki.file('server.key')}" expected together with --admin-tls-cert-file`);
    expect(load(['--admin-tls-cert-file', pki.file('nope.pem'), '--admin-tls-key-file', pki.file('server.key')])).toContain(`--admin-tls-cert-file: "${pki.file('nope.pem')}" cannot be read (ENOENT)`);
  });

  it("refuses to start with a key that is not the certificate's, naming both files", async () => {
    const result = await runInProcess([
      'serve',
      '--data-dir',
      path.join(dir, 'mismatch'),
      '--grpc-listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--admin-tls-cert-file',
      pki.file('server.pem'),
      '--admin-tls-key-file',
      pki.file('other.key'),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('CAP_ERR_TLS_FILES');
    expect(result.stderr).toContain(`${pki.file('other.key')}: is not the key of the certificate in ${pki.file('server.pem')}`);
  });
});
