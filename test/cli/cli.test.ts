/**
 * The command line as a user runs it: the real bin script in a child
 * process, on the pinned Node.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { rawClient, exchange, headers } from '../support/raw-extproc-client';
import { canBind, randomListenPort } from '../support/listen-port';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'egress-capture.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PINNED_NODE = path.join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');
const MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/**
 * Runs the CLI on the pinned Node without the wrapper, in its own process
 * group, and waits at most `timeoutMs` for it to exit; a process still
 * running then is killed with its whole group and reported as `timedOut`.
 */
async function runToExit(args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  const child = spawn(PINNED_NODE, [MAIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.kill(-child.pid!, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stderr, timedOut };
}

/** A TCP port held by this test process, so the server cannot bind it. */
async function takenPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

/**
 * A Node older than the pinned one, found on PATH outside node_modules (the
 * system's): started with it, bin/egress-capture.js re-runs itself on the
 * pinned Node as a child process.
 */
function olderNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const candidate = path.join(dir, 'node');
    if (!fs.existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.split('.')[0]) < 24) return candidate;
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface LaunchedServer {
  /** The process the user started (a wrapper, npm). */
  launcher: ChildProcess;
  /** The process that serves, from the file it leaves in its data directory. */
  pid: number;
  dataDir: string;
  grpcPort: number;
  adminPort: number;
  stderr: () => string;
  cleanUp: () => void;
}

/**
 * Starts `serve` through `command` in its own process group, on fresh ports
 * (given as env) and a fresh data directory, and waits until it serves.
 */
async function launch(command: string, args: string[]): Promise<LaunchedServer> {
  // Two test files may pick the same port: a bind failure is retried on new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchOnce(command, args);
    } catch (err) {
      if (attempt >= 3 || !/_BIND/.test(String(err))) throw err;
    }
  }
}

async function launchOnce(command: string, args: string[]): Promise<LaunchedServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-launch-'));
  const grpcPort = randomListenPort();
  const adminPort = grpcPort + 1;
  const launcher = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, EGRESS_CAPTURE_DATA_DIR: dataDir, EGRESS_CAPTURE_GRPC_LISTEN: `127.0.0.1:${grpcPort}`, EGRESS_CAPTURE_ADMIN_LISTEN: `127.0.0.1:${adminPort}` },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  launcher.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Known only once the server wrote its file, but cleanUp (made before) must see it.
  // eslint-disable-next-line prefer-const
  let pid: number | undefined;
  const cleanUp = (): void => {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    if (launcher.exitCode === null && launcher.signalCode === null) process.kill(-launcher.pid!, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (!stderr.includes('serving on node')) {
    if (Date.now() > deadline || launcher.exitCode !== null || launcher.signalCode !== null) {
      cleanUp();
      throw new Error(`server did not start:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  pid = (JSON.parse(fs.readFileSync(path.join(dataDir, 'egress-capture-server.json'), 'utf8')) as { pid: number }).pid;
  return { launcher, pid, dataDir, grpcPort, adminPort, stderr: () => stderr, cleanUp };
}

/** The server process is gone within 30 s, after a drain (stop() removes its server file last), and its ports are free. */
async function expectStoppedCleanly(server: LaunchedServer): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (alive(server.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(alive(server.pid)).toBe(false);
  // The server's own log says why, when a shutdown step failed.
  expect({ serverFileLeft: fs.existsSync(path.join(server.dataDir, 'egress-capture-server.json')), log: server.stderr() }).toEqual({
    serverFileLeft: false,
    log: expect.not.stringContaining('shutdown failed'),
  });
  expect(await canBind(server.grpcPort)).toBe(true);
  expect(await canBind(server.adminPort)).toBe(true);
}

describe('egress-capture CLI', () => {
  it('reports the pinned Node runtime', () => {
    const result = run(['version']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^egress-capture \d+\.\d+\.\d+ \(node v24\./);
  });

  it('exits 2 with every bad field named when the configuration is invalid', () => {
    const result = run(['serve', '--max-bytes', 'lots', '--admin-listen', ':x'], { EGRESS_CAPTURE_WORKER_THREADS: '0' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('CAP_ERR_CONFIG_INVALID');
    expect(result.stderr).toContain('--max-bytes: "lots"');
    expect(result.stderr).toContain('--admin-listen: ":x"');
    expect(result.stderr).toContain('EGRESS_CAPTURE_WORKER_THREADS (env): "0"');
  });

  it('refuses a data directory ClickHouse would read as a file pattern, naming it', () => {
    const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-cli-')), 'capture{1}');
    const result = run(['serve', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('CAP_ERR_STORE_OPEN');
    expect(result.stderr).toContain(dataDir);
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  describe('a listener that cannot bind stops the whole service', () => {
    let dataDir: string;
    beforeEach(() => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-bind-'));
    });
    afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    // Before, the workers, the spool and the admin port stayed up: /healthz answered "ok" and the process never exited.
    it('exits 1 with CAP_ERR_GRPC_BIND when the gRPC port is taken, and leaves nothing listening', async () => {
      const taken = await takenPort();
      const adminPort = randomListenPort();
      try {
        const result = await runToExit(['serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${taken.port}`, '--admin-listen', `127.0.0.1:${adminPort}`], 20_000);
        expect(result.timedOut).toBe(false);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('CAP_ERR_GRPC_BIND');
        expect(result.stderr).toContain(`127.0.0.1:${taken.port}`);
        expect(await refused(`http://127.0.0.1:${adminPort}/healthz`)).toBe(true);
      } finally {
        await taken.release();
      }
      // The data directory is free again: an offline query opens it.
      expect(run(['query', '--data-dir', dataDir, 'SELECT count() AS n FROM http_exchanges']).status).toBe(0);
    }, 60_000);

    it('exits 1 with CAP_ERR_GRPC_BIND for an address this host does not have', async () => {
      // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface.
      const result = await runToExit(['serve', '--data-dir', dataDir, '--grpc-listen', `192.0.2.1:${randomListenPort()}`, '--admin-listen', `127.0.0.1:${randomListenPort()}`], 20_000);
      expect(result.timedOut).toBe(false);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('CAP_ERR_GRPC_BIND');
      expect(result.stderr).toContain('192.0.2.1');
    }, 60_000);

    it('exits 1 with CAP_ERR_ADMIN_BIND when the admin port is taken', async () => {
      const taken = await takenPort();
      try {
        const result = await runToExit(['serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${randomListenPort()}`, '--admin-listen', `127.0.0.1:${taken.port}`], 20_000);
        expect(result.timedOut).toBe(false);
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('CAP_ERR_ADMIN_BIND');
      } finally {
        await taken.release();
      }
    }, 60_000);
  });

  const OLDER_NODE = olderNode();
  (OLDER_NODE === undefined ? describe.skip : describe)('started by an older Node, the wrapper re-runs itself on the pinned one', () => {
    // Before, the wrapper waited in spawnSync: a signal to its PID killed it and left the server holding the ports and the store.
    it.each([
      ['SIGTERM', 'its PID'],
      ['SIGINT', 'its PID'],
      ['SIGHUP', 'its PID'],
      // Both processes get it, the server a second time from the wrapper: the drain must still finish.
      ['SIGINT', 'its process group, as Ctrl-C in a terminal'],
    ] as const)(
      'given %s to %s, passes it on, ends as the server ended, and leaves nothing running',
      async (signal, target) => {
        const server = await launch(OLDER_NODE!, [BIN, 'serve']);
        try {
          expect(server.stderr()).toContain('serving on node v24.');
          // One JSON object per line, the ready line too: a log pipeline reading stderr never meets plain text.
          const notJson = server
            .stderr()
            .split('\n')
            .filter((line) => line.trim() !== '' && !isJsonObject(line));
          expect(notJson).toEqual([]);
          expect(server.pid).not.toBe(server.launcher.pid);
          const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => server.launcher.on('exit', (code, sig) => resolve({ code, signal: sig })));
          if (target === 'its PID') server.launcher.kill(signal);
          else process.kill(-server.launcher.pid!, signal);
          await expectStoppedCleanly(server);
          // The server drained and exited 0; the wrapper exits with that code.
          expect(await exited).toEqual({ code: 0, signal: null });
        } finally {
          server.cleanUp();
        }
      },
      90_000,
    );

    it('exits with the code of the command it ran', () => {
      const result = spawnSync(OLDER_NODE!, [BIN, 'capture'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
      expect(result.status).toBe(2);
    });
  });

  // Before, the start script ran node under `sh -c`: npm passed SIGTERM to the shell, which died and left the server running.
  it.each([
    ['SIGTERM', 'npm passes it on'],
    ['SIGINT', 'npm passes it on'],
    ['SIGHUP', 'npm dies of it; the server sees its launcher gone'],
  ] as const)(
    'npm start given %s (%s): the server stops and frees its ports',
    async (signal, _how) => {
      // --ignore-scripts: the prestart build is not what is tested here.
      const server = await launch('npm', ['start', '--ignore-scripts']);
      try {
        server.launcher.kill(signal);
        await expectStoppedCleanly(server);
      } finally {
        server.cleanUp();
      }
    },
    90_000,
  );

  it('exits 2 on an unknown command', () => {
    expect(run(['capture']).status).toBe(2);
  });

  it('serves, stores what it saw, flushes on SIGTERM, and query reads the store afterwards', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-cli-'));
    const grpcPort = randomListenPort();
    const adminPort = grpcPort + 1;
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${grpcPort}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--batch-max-delay-ms', '60000'],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!stderr.includes('serving on node')) {
        if (Date.now() > deadline) throw new Error(`server did not start:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status).toBe(200);

      const client = rawClient(`127.0.0.1:${grpcPort}`);
      for (let i = 0; i < 5; i++) {
        await exchange(client, [
          {
            request_headers: {
              headers: headers([
                [':method', 'GET'],
                [':path', `/cli/${i}`],
                [':authority', 'cli.test'],
              ]),
              end_of_stream: true,
            },
            metadata_context: {},
          },
          { response_headers: { headers: headers([[':status', '204']]), end_of_stream: true }, metadata_context: {} },
        ]);
      }
      client.close();

      // While the server runs, query goes through its admin endpoint (chdb: one process per data directory).
      const live = run(['query', '--data-dir', dataDir, "SELECT count() AS n FROM http_exchanges WHERE Authority = 'cli.test'"]);
      expect(live.status).toBe(0);

      // The batch delay is 60 s: only the SIGTERM flush can have stored the rows.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const after = run(['query', '--data-dir', dataDir, "SELECT count() AS n FROM http_exchanges WHERE Authority = 'cli.test'"]);
      expect(after.status).toBe(0);
      expect(Number((JSON.parse(after.stdout.trim()) as { n: string | number }).n)).toBe(5);
      // Reading the store must not migrate it: the service's TTL is still there.
      const table = run(['query', '--data-dir', dataDir, "SELECT create_table_query AS ddl FROM system.tables WHERE name = 'http_exchanges'"]);
      const ddl = (JSON.parse(table.stdout.trim()) as { ddl: string }).ddl;
      expect(ddl).toMatch(/TTL toDateTime\(Timestamp\) \+ toIntervalDay\(if\(RetentionDays = 0, 30, RetentionDays\)\)/);
      // The embedded engine's lighter merge policy (schema.ts) is on the table.
      expect(ddl).toMatch(/merge_selector_base = 20/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});

function isJsonObject(line: string): boolean {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
