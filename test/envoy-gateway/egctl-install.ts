/**
 * egctl, Envoy Gateway's own command line, which the Envoy Gateway checks run
 * the translator's output through (`egctl x translate --from gateway-api --to
 * xds`: Envoy Gateway's real Gateway API and xDS translators, EnvoyPatchPolicy
 * included, without Kubernetes). Built by the project itself with `go install`
 * from the Go module proxy at pinned versions, with Go's caches under the
 * user's cache directory (shared with Helm, kustomize and the Collector), so a
 * fresh clone and CI build it once and reuse it after.
 *
 *   node dist/test/envoy-gateway/egctl-install.js     build them (npm run egctl:install)
 *
 * EGCTL_VERSIONS is the one place the versions are named: the Envoy Gateway
 * release the translator targets (v1.9.x), which is also the newest release the
 * module proxy serves (v1.9.1 on 2026-12-06; add a newer one beside it when it
 * appears, so its disagreements show up as failing checks too).
 * v1.9.1 declares no `replace` directives, so `go install module@version` builds
 * it as released (a later release that adds some would need a download-and-build
 * inside the module instead).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot } from '../envoy/envoy-install';
import { goEnv, lastLines } from '../support/go-environment';

const MODULE = 'github.com/envoyproxy/gateway';
const PACKAGE = `${MODULE}/cmd/egctl`;

/** Every Envoy Gateway release the translator's output is checked against. */
export const EGCTL_VERSIONS: readonly string[] = ['v1.9.1'];

function binDir(version: string): string {
  return path.join(cacheRoot(), 'egctl', version);
}

/** The installed egctl of `version`, or undefined. */
export function egctlBinary(version: string): string | undefined {
  const binary = path.join(binDir(version), 'egctl');
  return fs.existsSync(binary) ? binary : undefined;
}

export interface EgctlInstall {
  version: string;
  binary?: string;
  /** What went wrong and how to get egctl, when `binary` is undefined. */
  problem?: string;
}

/** Builds egctl `version` unless it is there already; never throws. */
export function installEgctl(version: string, log: (line: string) => void = () => undefined): EgctlInstall {
  const existing = egctlBinary(version);
  if (existing) return { version, binary: existing };
  const dir = binDir(version);
  // A `go install` build knows no release; the release builds stamp it in the same way.
  const ldflags = `-X ${MODULE}/internal/cmd/version.envoyGatewayVersion=${version}`;
  const how = `install it by hand with: GOBIN=${dir} go install -ldflags '${ldflags}' ${PACKAGE}@${version}`;
  log(`building egctl ${version} (go install ${PACKAGE}) into ${dir}; several minutes the first time`);
  const started = Date.now();
  const result = spawnSync('go', ['install', '-ldflags', ldflags, `${PACKAGE}@${version}`], { env: goEnv({ gobin: dir }), encoding: 'utf8', timeout: 1_800_000 });
  if (result.status !== 0) return { version, problem: `go install ${PACKAGE}@${version} failed: ${lastLines(result)}; ${how}` };
  const binary = egctlBinary(version);
  if (!binary) return { version, problem: `go install succeeded but ${path.join(dir, 'egctl')} is missing; ${how}` };
  const check = spawnSync(binary, ['version', '--remote=false'], { encoding: 'utf8' });
  // `egctl version --remote=false` prints the client's version alone.
  if (check.status !== 0 || `${check.stdout}`.trim() !== version) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { version, problem: `${binary} version did not report ${version}: ${check.stdout}${check.stderr}` };
  }
  log(`egctl ${version}: ${binary} (built in ${Math.round((Date.now() - started) / 1000)} s)`);
  return { version, binary };
}

/** The binary, or an Error naming why it is missing and how to install it (for a failing test to throw). */
export function requireEgctl(version: string): string {
  const binary = egctlBinary(version);
  if (binary) return binary;
  throw new Error(`egctl ${version} is not installed under ${binDir(version)}: run npm run egctl:install (it needs Go and the Go module proxy)`);
}

/** Every pinned version; one problem line per version that could not be built. */
export function installAllEgctl(log: (line: string) => void = () => undefined): string[] {
  return EGCTL_VERSIONS.map((version) => installEgctl(version, log).problem)
    .filter((problem): problem is string => problem !== undefined)
    .map((problem) => `egctl: ${problem}`);
}

if (require.main === module) {
  const problems = installAllEgctl((line) => console.log(line));
  for (const problem of problems) console.error(problem);
  if (problems.length === 0) console.log(`egctl ${EGCTL_VERSIONS.join(', ')} ready`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
