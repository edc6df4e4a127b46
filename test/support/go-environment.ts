/**
 * The environment every tool the project builds with Go runs `go` in (Helm,
 * kustomize, the object checker, egctl, the OpenTelemetry Collector, the
 * clickhouse-go client): one module download and one build cache under the
 * project's cache directory, shared by all of them, and no toolchain
 * download behind the user's back.
 */
import type { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cacheRoot } from '../envoy/envoy-install';

export function goRoot(): string {
  return path.join(cacheRoot(), 'go');
}

/** `gobin`: where `go install` puts binaries; `goflags`: flags of this build on top of the shared ones; `extra`: more variables. */
export function goEnv(options: { gobin?: string; goflags?: string[]; extra?: NodeJS.ProcessEnv } = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(options.gobin === undefined ? {} : { GOBIN: options.gobin }),
    GOPATH: goRoot(),
    GOMODCACHE: path.join(goRoot(), 'mod'),
    GOCACHE: path.join(goRoot(), 'build'),
    // The module cache is read-only by default, which makes it undeletable without chmod.
    GOFLAGS: ['-modcacherw', ...(options.goflags ?? [])].join(' '),
    GOTOOLCHAIN: 'local',
    ...options.extra,
  };
}

/** The last lines of a failed command's output, for a one-line problem. */
export function lastLines(result: ReturnType<typeof spawnSync>): string {
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim();
  return output.split('\n').slice(-3).join(' ');
}
