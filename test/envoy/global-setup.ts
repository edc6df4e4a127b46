/**
 * jest's global set-up: installs the pinned Envoy versions and builds the
 * OpenTelemetry Collector once, before any test worker starts (two workers installing into one venv would race). It
 * never fails the run itself: a suite that needs a missing Envoy fails with
 * the reason, and the opt-out is announced here and in every suite.
 */
import { ENVOY_VERSIONS, SKIP_ENVOY_ENV, envoySkipped, installEnvoy } from './envoy-install';
import { OTELCOL_VERSION, SKIP_OTELCOL_ENV, installOtelcol, otelcolSkipped } from '../otelcol/otelcol-install';

export default function globalSetup(): void {
  if (otelcolSkipped()) {
    console.warn(`\n*** ${SKIP_OTELCOL_ENV} is set: the OTLP export is NOT tested against the real OpenTelemetry Collector ${OTELCOL_VERSION} ***\n`);
  } else {
    const collector = installOtelcol((line) => console.log(line));
    if (collector.problem) console.warn(`\nThe OpenTelemetry Collector is not available: ${collector.problem}\n`);
  }
  if (envoySkipped()) {
    console.warn(`\n*** ${SKIP_ENVOY_ENV} is set: the end-to-end tests through the real Envoy (${ENVOY_VERSIONS.join(', ')}) are NOT run ***\n`);
    return;
  }
  for (const version of ENVOY_VERSIONS) {
    const result = installEnvoy(version, (line) => console.log(line));
    if (result.problem) console.warn(`\nEnvoy ${version} is not available: ${result.problem}\n`);
  }
}
