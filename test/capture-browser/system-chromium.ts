/**
 * Headless Chromium from the distribution's `chromium` package, driven by
 * playwright-core (which downloads no browser of its own). `.ci/run`
 * installs the package when it is missing; anywhere else a missing browser
 * fails the suite with the command that installs it.
 */
import * as fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = [process.env.EGRESS_CAPTURE_CHROMIUM ?? '', '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string {
  const found = CANDIDATES.find((candidate) => candidate !== '' && fs.existsSync(candidate));
  if (found === undefined) {
    throw new Error(
      'the capture browser tests need Chromium and found none at /usr/bin/chromium: install it with `apt-get install -y chromium` (Debian; .ci/run does this), or point EGRESS_CAPTURE_CHROMIUM at a Chromium binary',
    );
  }
  return found;
}

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}
