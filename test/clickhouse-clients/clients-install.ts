/**
 * The real ClickHouse clients the admin port is tested with, installed by the
 * project itself and cached under the user's cache directory (shared by every
 * clone and by CI), yet able to install from nothing:
 *
 * - clickhouse-go v2 (the driver of Grafana's ClickHouse data source): the
 *   small program in ./go, built with the machine's Go from the Go module
 *   proxy; go.mod/go.sum pin the driver and every dependency. The binary is
 *   kept per hash of the program's sources, so an edit rebuilds it.
 * - clickhouse-connect (Python): a venv per pinned version, from PyPI.
 *
 *   node dist/test/clickhouse-clients/clients-install.js     (npm run clients:install)
 *
 * The versions are named once, here and in go.mod.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot } from '../envoy/envoy-install';
import { goEnv } from '../support/go-environment';

export const CLICKHOUSE_CONNECT_VERSION = '1.12.0';

/** Sources of the Go client, in the repository (dist/ holds only the compiled TypeScript). */
export const GO_CLIENT_DIR = path.resolve(__dirname, '../../../test/clickhouse-clients/go');
export const PYTHON_CLIENT = path.resolve(__dirname, '../../../test/clickhouse-clients/python/client.py');

export interface ClientInstall {
  /** The executable to run (the Go binary, or the venv's python). */
  executable?: string;
  /** What went wrong and how to install by hand, when `executable` is undefined. */
  problem?: string;
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 600_000, cwd: options.cwd, env: options.env });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim();
  return { ok: result.status === 0, output };
}

function goSourceHash(): string {
  const hash = createHash('sha256');
  for (const name of ['go.mod', 'go.sum', 'main.go']) hash.update(name).update(fs.readFileSync(path.join(GO_CLIENT_DIR, name)));
  return hash.digest('hex').slice(0, 16);
}

function goBinary(): string {
  return path.join(cacheRoot(), 'clickhouse-clients', `clickhouse-go-${goSourceHash()}`, 'client');
}

/** Builds the clickhouse-go client unless this exact source is already built; never throws. */
export function installGoClient(log: (line: string) => void = () => undefined): ClientInstall {
  const binary = goBinary();
  if (fs.existsSync(binary)) return { executable: binary };
  const how = `build it by hand with: cd ${GO_CLIENT_DIR} && go build -o ${binary} . (needs the Go of go.mod or later, and the Go module proxy)`;
  const version = run('go', ['version']);
  if (!version.ok) return { problem: `Go is not installed (${version.output.split('\n').pop()}); ${how}` };
  log(`building the clickhouse-go client (${version.output}) into ${binary}`);
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const built = run('go', ['build', '-trimpath', '-o', `${binary}.tmp`, '.'], { cwd: GO_CLIENT_DIR, env: goEnv({ goflags: ['-mod=readonly'], extra: { CGO_ENABLED: '0' } }) });
  if (!built.ok) return { problem: `go build failed: ${built.output.split('\n').slice(-5).join(' ')}; ${how}` };
  fs.renameSync(`${binary}.tmp`, binary);
  return { executable: binary };
}

function venvDir(): string {
  return path.join(cacheRoot(), 'clickhouse-connect', CLICKHOUSE_CONNECT_VERSION);
}

/** Installs clickhouse-connect into its venv unless it is there; never throws. */
export function installPythonClient(log: (line: string) => void = () => undefined): ClientInstall {
  const dir = venvDir();
  const python = path.join(dir, 'bin', 'python');
  const marker = path.join(dir, 'installed');
  if (fs.existsSync(marker) && fs.existsSync(python)) return { executable: python };
  const system = process.env.PYTHON || 'python3';
  const how = `install it by hand with: ${system} -m venv ${dir} && ${dir}/bin/pip install clickhouse-connect==${CLICKHOUSE_CONNECT_VERSION} && touch ${marker}`;
  log(`installing clickhouse-connect ${CLICKHOUSE_CONNECT_VERSION} (PyPI) into ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const venv = run(system, ['-m', 'venv', dir]);
  if (!venv.ok) return { problem: `cannot create a Python venv with ${system} (${venv.output.split('\n').pop()}); ${how}` };
  // lz4 and zstd come with it: they are what it compresses with by default.
  const pip = run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `clickhouse-connect==${CLICKHOUSE_CONNECT_VERSION}`]);
  if (!pip.ok) return { problem: `pip could not install clickhouse-connect==${CLICKHOUSE_CONNECT_VERSION}: ${pip.output.split('\n').slice(-3).join(' ')}; ${how}` };
  const check = run(python, ['-c', 'import clickhouse_connect, lz4.frame; print(clickhouse_connect.__version__)']);
  if (!check.ok || !check.output.includes(CLICKHOUSE_CONNECT_VERSION)) return { problem: `clickhouse-connect installed but does not import as ${CLICKHOUSE_CONNECT_VERSION}: ${check.output}` };
  fs.writeFileSync(marker, `${CLICKHOUSE_CONNECT_VERSION}\n`);
  return { executable: python };
}

if (require.main === module) {
  let failed = false;
  for (const [name, install] of [
    ['clickhouse-go', installGoClient],
    ['clickhouse-connect', installPythonClient],
  ] as const) {
    const started = Date.now();
    const result = install((line) => console.log(line));
    if (result.problem) {
      failed = true;
      console.error(`${name}: ${result.problem}`);
    } else {
      console.log(`${name} ready: ${result.executable} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}
