/**
 * Envoy's part of jest's global set-up (test/global-setup.ts): installs the
 * pinned Envoy versions once, before any test worker starts (two workers
 * installing into one venv would race). It never fails the run itself: a
 * suite that needs a missing Envoy fails with the reason, and the opt-out is
 * announced here and in every suite.
 */
import { ENVOY_VERSIONS, SKIP_ENVOY_ENV, envoySkipped, installEnvoy } from './envoy-install';

export default function globalSetup(): void {
  if (envoySkipped()) {
    console.warn(`\n*** ${SKIP_ENVOY_ENV} is set: the end-to-end tests through the real Envoy (${ENVOY_VERSIONS.join(', ')}) are NOT run ***\n`);
    return;
  }
  for (const version of ENVOY_VERSIONS) {
    const result = installEnvoy(version, (line) => console.log(line));
    if (result.problem) console.warn(`\nEnvoy ${version} is not available: ${result.problem}\n`);
  }
}
