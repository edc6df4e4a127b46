/**
 * `replay`, `status` and `query` against a running server whose admin port
 * asks for credentials and speaks HTTPS, found through its data directory
 * the way an operator runs them beside it: credentials from the same
 * environment variables the server reads, or from --admin-user /
 * --admin-password; the data directory from EGRESS_CAPTURE_DATA_DIR as well
 * as --data-dir.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TABLE } from '../../src/sinks/clickhouse/schema';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { makeTestPki } from '../support/test-certificates';
import { OTLP_JSON_ENV, startReceiver, type Receiver } from '../service/otlp-receiver';
import { BIN, REPO_ROOT } from '../service/service-process';
import { runInProcess } from './cli-helpers';

const USER = 'ops';
const PASSWORD = 's3cret:with colon';
const CREDENTIALS_ENV = { EGRESS_CAPTURE_ADMIN_USER: USER, EGRESS_CAPTURE_ADMIN_PASSWORD: PASSWORD };

/**
 * `egress-capture replay` as its own process (the OTLP exporter loads modules the way only a
 * real process can), with `env` and nothing of this process's EGRESS_CAPTURE_* settings.
 */
async function replay(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('EGRESS_CAPTURE_')));
  const child = spawn(process.execPath, [BIN, 'replay', ...args], { cwd: REPO_ROOT, env: { ...inherited, ...OTLP_JSON_ENV, ...env } });
  const result = { code: null as number | null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (result.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  result.code = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return result;
}

describe('the CLI against a running server with admin credentials and HTTPS', () => {
  const pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-cli-credentials-'));
  const pki = makeTestPki(pkiDir);
  let harness: CaptureHarness;
  let receiver: Receiver;

  beforeAll(async () => {
    harness = await startCaptureHarness({ adminTlsCertFile: pki.file('server.pem'), adminTlsKeyFile: pki.file('server.key'), adminUser: USER, adminPassword: PASSWORD });
    await harness.service.storeForQueries.query(
      `INSERT INTO ${TABLE} (Timestamp, CaptureId, Authority) VALUES (now64(9), 'credentials-1', 'credentials.test'), (now64(9), 'credentials-2', 'credentials.test')`,
    );
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await harness?.stop();
    fs.rmSync(pkiDir, { recursive: true, force: true });
  });

  it('replay reads through the server with the credentials from the environment', async () => {
    // The server runs in this process: the replay child finds it through the data directory (pid alive, HTTPS pinned).
    const result = await replay(['--data-dir', harness.dataDir, '--since', '-1h', '--endpoint', receiver.url], CREDENTIALS_ENV);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`through https://127.0.0.1:${harness.service.adminPort}`);
    expect(result.stdout).toContain('replayed 2 exchange(s)');
    expect(receiver.ids.filter((id) => id.startsWith('credentials-')).sort()).toEqual(['credentials-1', 'credentials-2']);
  }, 30_000);

  it('replay takes --admin-user/--admin-password, and without credentials says the port refused it', async () => {
    receiver.ids.length = 0;
    const withFlags = await replay(['--data-dir', harness.dataDir, '--since', '-1h', '--endpoint', receiver.url, '--admin-user', USER, '--admin-password', PASSWORD], {});
    expect(withFlags).toMatchObject({ code: 0, stderr: '' });
    expect(receiver.ids.filter((id) => id.startsWith('credentials-'))).toHaveLength(2);

    const without = await replay(['--data-dir', harness.dataDir, '--since', '-1h', '--endpoint', receiver.url], {});
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('CAP_ERR_QUERY_FAILED');
    expect(without.stderr).toContain('answered 401');
  }, 30_000);

  it('status takes the credentials from flags or the environment', async () => {
    const fromFlags = await runInProcess(['status', '--data-dir', harness.dataDir, '--admin-user', USER, '--admin-password', PASSWORD, '--json']);
    expect(fromFlags).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(fromFlags.stdout)).toHaveProperty('balanced', true);
    const fromEnv = await runInProcess(['status'], { EGRESS_CAPTURE_DATA_DIR: harness.dataDir, ...CREDENTIALS_ENV });
    expect(fromEnv).toMatchObject({ code: 0, stderr: '' });
    expect(fromEnv.stdout).toContain(`server   https://127.0.0.1:${harness.service.adminPort}`);

    const without = await runInProcess(['status', '--data-dir', harness.dataDir]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('answered 401');
  });

  it('query finds the server through EGRESS_CAPTURE_DATA_DIR, with --admin-user or the older --user', async () => {
    const sql = `SELECT count() AS n FROM ${TABLE} WHERE Authority = 'credentials.test'`;
    const fromEnv = await runInProcess(['query', sql], { EGRESS_CAPTURE_DATA_DIR: harness.dataDir, ...CREDENTIALS_ENV });
    expect(fromEnv).toMatchObject({ code: 0, stdout: '{"n":2}\n', stderr: '' });
    const withFlags = await runInProcess(['query', '--admin-user', USER, '--admin-password', PASSWORD, '--format', 'TSV', sql], { EGRESS_CAPTURE_DATA_DIR: harness.dataDir });
    expect(withFlags).toMatchObject({ code: 0, stdout: '2\n' });
    const older = await runInProcess(['query', '--data-dir', harness.dataDir, '--user', USER, '--password', PASSWORD, sql]);
    expect(older).toMatchObject({ code: 0, stdout: '{"n":2}\n' });

    const without = await runInProcess(['query', '--data-dir', harness.dataDir, sql]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('AUTHENTICATION_FAILED');
  });

  it('names a half-given pair of credentials, as serve does', async () => {
    const result = await runInProcess(['status', '--data-dir', harness.dataDir, '--admin-user', USER]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--admin-user: "ops" expected together with --admin-password');
  });
});
