/**
 * jest's global set-up: installs the pinned external counterparts once,
 * before any test worker starts (two workers installing into one cache would
 * race): Envoy, Helm and kustomize, the OpenTelemetry Collector and the real
 * ClickHouse clients. It never fails the run itself: a suite whose
 * counterpart is missing fails with the reason.
 */
import envoySetup from './envoy/global-setup';
import { installGoClient, installPythonClient } from './clickhouse-clients/clients-install';
import { installAllK8sTools } from './deploy/k8s-tools-install';
import { installAllEgctl } from './envoy-gateway/egctl-install';
import { OTELCOL_VERSION, SKIP_OTELCOL_ENV, installOtelcol, otelcolSkipped } from './otelcol/otelcol-install';

export default function globalSetup(): void {
  envoySetup();
  for (const problem of installAllK8sTools((line) => console.log(line))) console.warn(`\n${problem}\n`);
  for (const problem of installAllEgctl((line) => console.log(line))) console.warn(`\n${problem}\n`);
  if (otelcolSkipped()) {
    console.warn(`\n*** ${SKIP_OTELCOL_ENV} is set: the OTLP export is NOT tested against the real OpenTelemetry Collector ${OTELCOL_VERSION} ***\n`);
  } else {
    const collector = installOtelcol((line) => console.log(line));
    if (collector.problem) console.warn(`\nThe OpenTelemetry Collector is not available: ${collector.problem}\n`);
  }
  for (const [name, install] of [
    ['clickhouse-go', installGoClient],
    ['clickhouse-connect', installPythonClient],
  ] as const) {
    const result = install((line) => console.log(line));
    if (result.problem) console.warn(`\n${name} is not available: ${result.problem}\n`);
  }
}
