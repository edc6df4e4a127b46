/**
 * A real OpenTelemetry Collector for the OTLP export tests, built by the
 * project itself from the Go module proxy with the Collector's own builder:
 * the OTLP receiver (what every backend's collector runs), the file exporter
 * (writes what it received as OTLP/JSON, for the tests to read) and the debug
 * exporter. Cached per version under the user's cache directory, so a fresh
 * clone and CI build it once (4 CPU-minutes of compile from nothing, plus
 * module downloads; 1.2 GB of Go caches) and reuse it after.
 *
 *   node dist/test/otelcol/otelcol-install.js     build it (npm run otelcol:install)
 *
 * OTELCOL_VERSION is the one place the version is named: the newest release
 * whose contrib file exporter the module proxy serves with this Go.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheRoot } from '../envoy/envoy-install';
import { goEnv } from '../support/go-environment';

export const OTELCOL_VERSION = '0.161.0';
/** The confmap providers are versioned with the Collector's stable modules. */
const CONFMAP_VERSION = '1.41.0';

/** Set to 1 to run `npm test` without the Collector; its suite then says what was not tested. */
export const SKIP_OTELCOL_ENV = 'EGRESS_CAPTURE_SKIP_OTELCOL';

export function otelcolSkipped(): boolean {
  const value = process.env[SKIP_OTELCOL_ENV];
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

function buildDir(): string {
  return path.join(cacheRoot(), 'otelcol', OTELCOL_VERSION);
}

export function otelcolBinary(): string | undefined {
  const binary = path.join(buildDir(), 'dist', 'egress-capture-otelcol');
  return fs.existsSync(binary) ? binary : undefined;
}

const MANIFEST = `dist:
  name: egress-capture-otelcol
  description: OpenTelemetry Collector for egress-capture's OTLP export tests
  output_path: ./dist
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver v${OTELCOL_VERSION}
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter v${OTELCOL_VERSION}
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter v${OTELCOL_VERSION}
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider v${CONFMAP_VERSION}
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider v${CONFMAP_VERSION}
`;

export interface OtelcolInstall {
  binary?: string;
  /** What went wrong and how to get it, when `binary` is undefined. */
  problem?: string;
}

/** Builds the Collector unless it is there already; never throws. */
export function installOtelcol(log: (line: string) => void = () => undefined): OtelcolInstall {
  const existing = otelcolBinary();
  if (existing) return { binary: existing };
  const dir = buildDir();
  const how = `needs the Go toolchain and the Go module proxy; or set ${SKIP_OTELCOL_ENV}=1 to run without the Collector`;
  log(`building the OpenTelemetry Collector ${OTELCOL_VERSION} (OTLP receiver, file and debug exporters) in ${dir}; a few minutes the first time`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const env = goEnv({ gobin: path.join(dir, 'bin'), goflags: ['-mod=mod'] });
  const builder = spawnSync('go', ['install', `go.opentelemetry.io/collector/cmd/builder@v${OTELCOL_VERSION}`], { cwd: dir, env, encoding: 'utf8', timeout: 600_000 });
  if (builder.status !== 0) return { problem: `go install of the Collector builder failed: ${`${builder.stderr ?? ''}${builder.error ?? ''}`.trim().split('\n').slice(-3).join(' ')}; ${how}` };
  fs.writeFileSync(path.join(dir, 'manifest.yaml'), MANIFEST);
  const build = spawnSync(path.join(dir, 'bin', 'builder'), ['--config', 'manifest.yaml'], { cwd: dir, env, encoding: 'utf8', timeout: 1_200_000 });
  const binary = otelcolBinary();
  if (build.status !== 0 || binary === undefined) return { problem: `the Collector build failed: ${`${build.stderr ?? ''}${build.error ?? ''}`.trim().split('\n').slice(-3).join(' ')}; ${how}` };
  log(`OpenTelemetry Collector ${OTELCOL_VERSION}: ${binary}`);
  return { binary };
}

if (require.main === module) {
  const result = installOtelcol((line) => console.log(line));
  if (result.problem) console.error(result.problem);
  else console.log(`OpenTelemetry Collector ready: ${result.binary}`);
  process.exitCode = result.problem ? 1 : 0;
}
