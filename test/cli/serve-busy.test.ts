/**
 * A second `serve` on a data directory a running server owns must refuse to
 * start (CAP_ERR_STORE_BUSY, as the README documents), naming the owner,
 * instead of opening the same store and spool a second time. With a remote
 * store too: the data directory still holds the server's spool and journal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../support/listen-port';
import { runInProcess } from './cli-helpers';

const MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

interface Serving {
  child: ChildProcess;
  adminPort: number;
  stop(): Promise<number | null>;
}

/** `serve` in a child process, once it says it serves. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Serving> {
  const adminPort = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve', '--grpc-listen', `127.0.0.1:${await freePort()}`, '--admin-listen', `127.0.0.1:${adminPort}`, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('egress-capture serving') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(stderr).toContain('egress-capture serving');
  return {
    child,
    adminPort,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function expectSecondRefused(dataDir: string, first: Serving, extraArgs: string[]): Promise<void> {
  const second = await runInProcess(['serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${await freePort()}`, '--admin-listen', `127.0.0.1:${await freePort()}`, ...extraArgs]);
  expect(second.code).toBe(1);
  expect(second.stderr).toContain('CAP_ERR_STORE_BUSY');
  expect(second.stderr).toContain(`pid ${first.child.pid}`);
  expect(second.stderr).toContain(`--admin http://127.0.0.1:${first.adminPort}`);
  // The first server was not disturbed.
  expect((await fetch(`http://127.0.0.1:${first.adminPort}/readyz`)).status).toBe(200);
}

test('a second serve on a data directory in use exits 1 with CAP_ERR_STORE_BUSY naming the first', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-busy-'));
  const first = await serve(['--data-dir', dataDir]);
  try {
    await expectSecondRefused(dataDir, first, []);
  } finally {
    expect(await first.stop()).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the same with a remote store: the data directory holds the spool, so it is refused all the same', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-busy-remote-'));
  // A ClickHouse-compatible server for the first one to write to: another capture service's admin port.
  const target = await serve(['--data-dir', path.join(root, 'target'), '--admin-allow-writes', '--admin-user', 'u'], { EGRESS_CAPTURE_ADMIN_PASSWORD: 'p' });
  const url = `http://u:p@127.0.0.1:${target.adminPort}/default`;
  const dataDir = path.join(root, 'spool-owner');
  const first = await serve(['--data-dir', dataDir, '--clickhouse-url', url]);
  try {
    await expectSecondRefused(dataDir, first, ['--clickhouse-url', url]);
  } finally {
    expect(await first.stop()).toBe(0);
    expect(await target.stop()).toBe(0);
    fs.rmSync(root, { recursive: true, force: true });
  }
});
