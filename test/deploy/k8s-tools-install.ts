/**
 * Helm and kustomize, which the deploy tests render the chart and deploy/ with,
 * installed by the project itself: built with `go install` from the Go module
 * proxy at pinned versions, with GOPATH, the module cache and the build cache
 * under the user's cache directory, so a fresh clone and CI reuse them and a
 * machine with only Go installs them.
 *
 *   node dist/test/deploy/k8s-tools-install.js     install both (npm run k8s-tools:install)
 *
 * K8S_TOOLS is the one place the versions are named:
 * - Helm v4 (the current major; `helm lint` and `helm template` are what the tests use);
 * - kustomize v5.8.1, the newest whose modules build with the Go this project's machines have.
 *
 * Beside them it builds test/deploy/k8s-object-check (the strict decoder of built-in kinds),
 * once per content of its sources.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot } from '../envoy/envoy-install';
import { goEnv, lastLines } from '../support/go-environment';

export const K8S_TOOLS = {
  helm: { module: 'helm.sh/helm/v4/cmd/helm', version: 'v4.3.2' },
  kustomize: { module: 'sigs.k8s.io/kustomize/kustomize/v5', version: 'v5.8.1' },
} as const;
export type K8sTool = keyof typeof K8S_TOOLS;

/** One directory per tool and version, so a version bump installs beside the old one. */
function binDir(tool: K8sTool): string {
  return path.join(cacheRoot(), 'k8s-tools', `${tool}-${K8S_TOOLS[tool].version}`);
}

/** The installed binary of `tool`, or undefined. */
export function k8sToolBinary(tool: K8sTool): string | undefined {
  const binary = path.join(binDir(tool), tool);
  return fs.existsSync(binary) ? binary : undefined;
}

export interface ToolInstallResult {
  tool: K8sTool;
  binary?: string;
  /** What went wrong and how to get the tool, when `binary` is undefined. */
  problem?: string;
}

/** Builds `tool` unless it is already there; never throws. */
export function installK8sTool(tool: K8sTool, log: (line: string) => void = () => undefined): ToolInstallResult {
  const existing = k8sToolBinary(tool);
  if (existing) return { tool, binary: existing };
  const { module, version } = K8S_TOOLS[tool];
  const dir = binDir(tool);
  const how = `install it by hand with: GOBIN=${dir} go install ${module}@${version}`;
  log(`building ${tool} ${version} (go install ${module}) into ${dir}`);
  const result = spawnSync('go', ['install', `${module}@${version}`], { env: goEnv({ gobin: dir }), encoding: 'utf8', timeout: 1_200_000 });
  if (result.status !== 0) return { tool, problem: `go install ${module}@${version} failed: ${lastLines(result)}; ${how}` };
  const binary = k8sToolBinary(tool);
  if (!binary) return { tool, problem: `go install succeeded but ${path.join(dir, tool)} is missing; ${how}` };
  // A `go install` build reports its version as far as the module says (Helm: "v4.3"; the
  // release builds stamp the patch level in with -ldflags).
  const majorMinor = version.split('.').slice(0, 2).join('.');
  const check = spawnSync(binary, ['version'], { encoding: 'utf8' });
  if (check.status !== 0 || !`${check.stdout}`.includes(majorMinor)) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { tool, problem: `${binary} version did not report ${majorMinor}: ${check.stdout}${check.stderr}` };
  }
  log(`${tool} ${version}: ${binary}`);
  return { tool, binary };
}

/** The binary, or an Error naming why it is missing and how to install it (for a failing test to throw). */
export function requireK8sTool(tool: K8sTool): string {
  const binary = k8sToolBinary(tool);
  if (binary) return binary;
  throw new Error(`${tool} ${K8S_TOOLS[tool].version} is not installed under ${binDir(tool)}: run npm run k8s-tools:install (it needs Go and the Go module proxy)`);
}

const OBJECT_CHECK_SOURCE = path.resolve(__dirname, '..', '..', '..', 'test', 'deploy', 'k8s-object-check');

function objectCheckBinary(): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(fs.readFileSync(path.join(OBJECT_CHECK_SOURCE, file)));
  return path.join(cacheRoot(), 'k8s-tools', `k8s-object-check-${hash.digest('hex').slice(0, 16)}`, 'k8s-object-check');
}

/** Builds test/deploy/k8s-object-check unless this content of it is built already; never throws. */
export function installObjectCheck(log: (line: string) => void = () => undefined): { binary?: string; problem?: string } {
  const binary = objectCheckBinary();
  if (fs.existsSync(binary)) return { binary };
  log(`building k8s-object-check into ${path.dirname(binary)}`);
  const result = spawnSync('go', ['build', '-o', binary, '.'], { cwd: OBJECT_CHECK_SOURCE, env: goEnv(), encoding: 'utf8', timeout: 1_200_000 });
  if (result.status !== 0) return { problem: `go build in ${OBJECT_CHECK_SOURCE} failed: ${lastLines(result)}` };
  return { binary };
}

export function requireObjectCheck(): string {
  const binary = objectCheckBinary();
  if (fs.existsSync(binary)) return binary;
  throw new Error(`k8s-object-check is not built (${binary}): run npm run k8s-tools:install (it needs Go and the Go module proxy)`);
}

/** Everything the deploy tests need; returns one problem line per missing piece. */
export function installAllK8sTools(log: (line: string) => void = () => undefined): string[] {
  const problems: string[] = [];
  for (const tool of Object.keys(K8S_TOOLS) as K8sTool[]) {
    const result = installK8sTool(tool, log);
    if (result.problem) problems.push(`${tool}: ${result.problem}`);
  }
  const check = installObjectCheck(log);
  if (check.problem) problems.push(`k8s-object-check: ${check.problem}`);
  return problems;
}

if (require.main === module) {
  const problems = installAllK8sTools((line) => console.log(line));
  for (const problem of problems) console.error(problem);
  if (problems.length === 0) console.log(`helm ${K8S_TOOLS.helm.version}, kustomize ${K8S_TOOLS.kustomize.version} and k8s-object-check ready`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
