/**
 * jest's global set-up: installs the pinned Envoy versions and the real
 * ClickHouse clients once, before any test worker starts (two workers
 * installing into one venv would race). It never fails the run itself: a
 * suite whose counterpart is missing fails with the reason.
 */
import envoySetup from './envoy/global-setup';
import { installGoClient, installPythonClient } from './clickhouse-clients/clients-install';

export default function globalSetup(): void {
  envoySetup();
  for (const [name, install] of [
    ['clickhouse-go', installGoClient],
    ['clickhouse-connect', installPythonClient],
  ] as const) {
    const result = install((line) => console.log(line));
    if (result.problem) console.warn(`\n${name} is not available: ${result.problem}\n`);
  }
}
