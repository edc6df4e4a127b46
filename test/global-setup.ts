/**
 * jest's global set-up: installs the pinned external tools once, before any
 * test worker starts (two workers installing into one cache would race). It
 * never fails the run itself: a suite that needs a missing tool fails with the
 * reason.
 */
import envoySetup from './envoy/global-setup';
import { installAllK8sTools } from './deploy/k8s-tools-install';

export default function globalSetup(): void {
  envoySetup();
  for (const problem of installAllK8sTools((line) => console.log(line))) console.warn(`\n${problem}\n`);
}
