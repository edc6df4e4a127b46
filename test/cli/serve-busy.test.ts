/**
 * A second `serve` on a data directory a running server owns must refuse to
 * start (CAP_ERR_STORE_BUSY, as the README documents), naming the owner,
 * instead of opening the same store and spool a second time.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../support/listen-port';
import { runInProcess } from './cli-helpers';

const MAIN = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');

test('a second serve on a data directory in use exits 1 with CAP_ERR_STORE_BUSY naming the first', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-busy-'));
  const adminPort = await freePort();
  const first = spawn(process.execPath, [MAIN, 'serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${await freePort()}`, '--admin-listen', `127.0.0.1:${adminPort}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let firstErr = '';
  first.stderr!.on('data', (chunk: Buffer) => (firstErr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => first.on('exit', resolve));
  try {
    const deadline = Date.now() + 30_000;
    while (!firstErr.includes('egress-capture serving') && first.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(firstErr).toContain('egress-capture serving');

    const second = await runInProcess(['serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${await freePort()}`, '--admin-listen', `127.0.0.1:${await freePort()}`]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('CAP_ERR_STORE_BUSY');
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).toContain(`--admin http://127.0.0.1:${adminPort}`);
    // The first server was not disturbed.
    expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(200);
  } finally {
    first.kill('SIGTERM');
    expect(await exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
