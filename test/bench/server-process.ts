/**
 * A server under test as a child process: spawned with the project's pinned
 * Node binary, its ports learnt from the line
 * it prints once bound (so port 0 can be used and nothing races for ports),
 * its warnings and errors kept for the report, and stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { imageNodeFlags } from '../support/image-command';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/**
 * The servers run on the project's pinned Node (the `node` package) even when
 * the bench was started with another `node`: the system Node 20 cannot set the
 * HTTP/2 reset limits the capture server depends on.
 */
const PINNED_NODE = path.join(REPO_ROOT, 'node_modules', 'node', 'bin', 'node');
export const NODE_BIN = fs.existsSync(PINNED_NODE) ? PINNED_NODE : process.execPath;

/** The bench's no-op ext_proc server (noop-server.ts); its port is `ports.grpc`. */
export function startNoopServer(): Promise<ServerProcess> {
  return startServer({
    name: 'no-op server',
    node: NODE_BIN,
    script: path.join(REPO_ROOT, 'dist', 'test', 'bench', 'noop-server.js'),
    args: ['--listen', '127.0.0.1:0'],
    cwd: REPO_ROOT,
    readyPattern: /listening on :(?<grpc>\d+)/,
  });
}

/** `egress-capture serve` on `dataDir`, both listeners on port 0; its ports are `ports.grpc` and `ports.admin`. */
export function startCaptureService(dataDir: string, cpuProfileDir = '', extraArgs: string[] = []): Promise<ServerProcess> {
  return startServer({
    name: 'capture service',
    node: NODE_BIN,
    // As the image runs it (deploy/Dockerfile's ENTRYPOINT flags).
    nodeArgs: [...imageNodeFlags(), ...(cpuProfileDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`])],
    script: path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'),
    args: ['serve', '--data-dir', dataDir, '--grpc-listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...extraArgs],
    cwd: REPO_ROOT,
    readyPattern: /gRPC :(?<grpc>\d+), admin :(?<admin>\d+)/,
    readyTimeoutMs: 60_000,
  });
}

export interface ServerProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Ports parsed from the ready line (named groups of `readyPattern`). */
  ports: Record<string, number>;
  /** pino lines at warn or above, plus any non-JSON stderr line, most recent last (bounded). */
  problems: string[];
  /** Count of such lines, by pino level name or 'stderr'. */
  problemCounts: Record<string, number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MAX_KEPT_PROBLEMS = 20;
const PINO_LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

export async function startServer(options: {
  name: string;
  /** The Node binary to run the server on. */
  node: string;
  /** Node's own flags, before the script. */
  nodeArgs?: string[];
  script: string;
  args: string[];
  cwd: string;
  /** Matched against every stdout/stderr line; its named groups are the ports. */
  readyPattern: RegExp;
  readyTimeoutMs?: number;
}): Promise<ServerProcess> {
  const child = spawn(options.node, [...(options.nodeArgs ?? []), options.script, ...options.args], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  });
  const problems: string[] = [];
  const problemCounts: Record<string, number> = {};
  const note = (kind: string, line: string): void => {
    problemCounts[kind] = (problemCounts[kind] ?? 0) + 1;
    problems.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
    if (problems.length > MAX_KEPT_PROBLEMS) problems.shift();
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name}: not ready after ${options.readyTimeoutMs ?? 30000} ms`)), options.readyTimeoutMs ?? 30000);
    let ready = false;
    const onLine = (line: string): void => {
      if (!ready) {
        const match = options.readyPattern.exec(line);
        if (match?.groups) {
          ready = true;
          clearTimeout(timer);
          resolve(Object.fromEntries(Object.entries(match.groups).map(([k, v]) => [k, Number(v)])));
          return;
        }
      }
      if (line.startsWith('{')) {
        try {
          const level = (JSON.parse(line) as { level?: number }).level ?? 0;
          if (level >= 40) note(PINO_LEVELS[level] ?? `level${level}`, line);
        } catch {
          note('stderr', line);
        }
      } else if (line.trim() !== '') {
        note('stderr', line);
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) readline.createInterface({ input: stream }).on('line', onLine);
    exited.then(({ code, signal }) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited before it was ready (code ${code}, signal ${signal}):\n  ${problems.join('\n  ')}`));
      }
    });
  });
  return { name: options.name, pid: child.pid!, child, ports, problems, problemCounts, exited };
}

/** SIGTERM, then wait for the exit (SIGKILL after `timeoutMs`). */
export async function stopServer(server: ServerProcess, timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return { ...(await server.exited), killed: false };
  server.child.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    server.child.kill('SIGKILL');
  }, timeoutMs);
  const result = await server.exited;
  clearTimeout(timer);
  return { ...result, killed };
}
