/**
 * The minter inside `serve`, tried as a new user would: `ca init`, then
 * `serve --ca-dir`, then an SDS client asks for api.openai.com and a node:tls
 * client trusting only that CA completes a handshake with the served secret.
 * Also what an operator watches: /readyz not ready while a configured CA
 * cannot be loaded, and the minter's metrics on /metrics.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BIN, REPO_ROOT, sleep, startService, type ServiceProcess } from '../service/service-process';
import { DeltaSdsClient } from '../support/delta-sds-client';
import { freePort } from '../support/listen-port';
import { createCa } from '../../src/certificates/ca-certificate';
import { caFiles, handshake, newCa, writeSecretVolume } from './test-cas';
import { tempDir } from './minter-harness';

const run = promisify(execFile);

async function stop(service: ServiceProcess | undefined): Promise<void> {
  if (!service) return;
  service.child.kill('SIGTERM');
  await service.exited;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('serve with the certificate minter', () => {
  test('ca init, serve --ca-dir, an SDS client gets api.openai.com, a client trusting only the CA handshakes', async () => {
    const dir = tempDir('egress-capture-new-user-');
    const caFolder = path.join(dir, 'cas', 'sandbox', 'agents-ca');
    const init = await run(process.execPath, [BIN, 'ca', 'init', '--out', caFolder, '--name', 'Agents Interception CA'], { cwd: REPO_ROOT });
    expect(init.stdout).toContain(`wrote ${path.join(caFolder, 'tls.crt')}`);
    expect(init.stdout).toMatch(/NODE_EXTRA_CA_CERTS=.*tls\.crt/);
    expect(init.stdout).toMatch(/SSL_CERT_FILE=/);
    expect(init.stdout).toMatch(/REQUESTS_CA_BUNDLE=/);
    expect(fs.statSync(path.join(caFolder, 'tls.key')).mode & 0o777).toBe(0o600);
    // Never overwrites a CA workloads may already trust.
    await expect(run(process.execPath, [BIN, 'ca', 'init', '--out', caFolder], { cwd: REPO_ROOT })).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('not overwritten') });

    const sdsPort = await freePort();
    let service: ServiceProcess | undefined;
    let client: DeltaSdsClient | undefined;
    try {
      service = await startService(path.join(dir, 'data'), ['--ca-dir', path.join(dir, 'cas'), '--sds-listen', `127.0.0.1:${sdsPort}`]);
      expect(service.stderr()).toContain(`certificate minter (SDS) :${sdsPort}`);
      client = new DeltaSdsClient({ address: `127.0.0.1:${sdsPort}`, caSecret: 'sandbox/agents-ca', gateway: 'sandbox/agents' });
      client.connect(['api.openai.com']);
      await client.until('api.openai.com', () => client!.held.has('api.openai.com'));
      const caPem = fs.readFileSync(path.join(caFolder, 'tls.crt'), 'utf8');
      expect(await handshake(client.held.get('api.openai.com')!.secret, caPem, 'api.openai.com')).toBeUndefined();
      expect(await handshake(client.held.get('api.openai.com')!.secret, caPem, 'api.anthropic.com')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      expect((await fetch(`${service.admin}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${service.admin}/metrics`)).text();
      expect(metrics).toMatch(/^egress_capture_sds_certificates_minted_total 1$/m);
      expect(metrics).toMatch(/^egress_capture_sds_streams\{api="delta"\} 1$/m);
      expect(metrics).toMatch(/^egress_capture_sds_mint_seconds_count 1$/m);
    } finally {
      client?.close();
      await stop(service);
    }
  });

  test('/readyz is not ready while the configured CA cannot be loaded, and ready once it is fixed', async () => {
    const dir = tempDir('egress-capture-ready-');
    const volume = path.join(dir, 'default-ca');
    const expired = createCa({ commonName: 'Expired', notBefore: new Date(Date.now() - 10 * 86400e3), notAfter: new Date(Date.now() - 86400e3) });
    writeSecretVolume(volume, caFiles(expired));
    let service: ServiceProcess | undefined;
    try {
      service = await startService(path.join(dir, 'data'), ['--ca-cert', path.join(volume, 'tls.crt'), '--ca-key', path.join(volume, 'tls.key'), '--sds-listen', `127.0.0.1:${await freePort()}`]);
      // The capture itself runs (healthy), but TLS interception cannot: not ready, and the log says why.
      expect((await fetch(`${service.admin}/healthz`)).status).toBe(200);
      expect((await fetch(`${service.admin}/readyz`)).status).toBe(503);
      expect(service.stderr()).toContain(`${path.join(volume, 'tls.crt')}: the CA certificate expired on`);
      expect(await (await fetch(`${service.admin}/metrics`)).text()).toMatch(/^egress_capture_sds_ca_load_errors_total\{reason="expired"\} 1$/m);
      writeSecretVolume(volume, caFiles(newCa('Fresh')));
      await waitFor('ready', async () => (await fetch(`${service!.admin}/readyz`)).status === 200);
    } finally {
      await stop(service);
    }
  });

  test('flags: the CA pair goes together and a missing --ca-dir is refused at start, naming the flag', async () => {
    const failed = await run(process.execPath, [BIN, 'serve', '--ca-cert', '/nonexistent/tls.crt', '--ca-dir', '/nonexistent/cas', '--leaf-validity', '1s'], { cwd: REPO_ROOT }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed).toMatchObject({ code: 2 });
    const stderr = (failed as { stderr: string }).stderr;
    expect(stderr).toContain('--ca-cert: "/nonexistent/tls.crt" expected together with --ca-key');
    expect(stderr).toContain('--ca-cert: "/nonexistent/tls.crt" cannot be read (ENOENT)');
    expect(stderr).toContain('--ca-dir: "/nonexistent/cas" is not a readable directory');
    expect(stderr).toContain('--leaf-validity: "1s" expected a duration such as 7d, 36h, 90m or 30s, from 2s to 397d');
  });
});
