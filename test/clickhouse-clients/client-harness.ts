/**
 * A capture service for the real-client suites: credentials configured,
 * writes allowed (so clients can insert), and one captured exchange whose
 * Map and LowCardinality columns the clients read back.
 */
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { captureBodilessGet } from '../support/raw-extproc-client';

export const CLIENT_USER = 'grafana';
export const CLIENT_PASSWORD = 'p@ss:word';
export const SEEDED_AUTHORITY = 'clients.test';

export async function startClientHarness(): Promise<CaptureHarness> {
  const harness = await startCaptureHarness({ adminUser: CLIENT_USER, adminPassword: CLIENT_PASSWORD, adminAllowWrites: true });
  await captureBodilessGet(harness.grpcAddress, SEEDED_AUTHORITY, { status: '200', extraHeaders: [['x-caller', 'dashboards']] });
  await harness.rows(`SELECT 1 FROM http_exchanges WHERE Authority = '${SEEDED_AUTHORITY}'`);
  return harness;
}

/** host and port of the harness's admin URL. */
export function adminAddress(harness: CaptureHarness): { host: string; port: string } {
  const url = new URL(harness.adminUrl);
  return { host: url.hostname, port: url.port };
}

/** Starts the harness before the enclosing describe's tests and stops it after; returns its getter. */
export function useClientHarness(): () => CaptureHarness {
  let harness: CaptureHarness | undefined;
  beforeAll(async () => {
    harness = await startClientHarness();
  });
  afterAll(async () => {
    await harness?.stop();
  });
  return () => {
    if (harness === undefined) throw new Error('the client harness did not start');
    return harness;
  };
}
