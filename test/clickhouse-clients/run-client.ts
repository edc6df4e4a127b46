/**
 * Runs one of the real-client programs (./go, ./python) against a harness
 * and returns the JSON report it prints: one entry per step, `{ error }` for
 * a step that failed.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { CaptureHarness } from '../support/capture-harness';
import { CLIENT_PASSWORD, CLIENT_USER, adminAddress } from './client-harness';
import { installGoClient, type ClientInstall } from './clients-install';

export type ClientReport = Record<string, unknown>;

export async function runClient(install: ClientInstall, args: string[], env: Record<string, string>): Promise<ClientReport> {
  if (install.executable === undefined) throw new Error(`the client is not installed: ${install.problem}`);
  const { stdout } = await promisify(execFile)(install.executable, args, { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }).catch(
    (err: { stdout?: string; message: string }) => {
      // The programs exit non-zero only when they cannot connect at all; their report says why.
      if (err.stdout) return { stdout: err.stdout };
      throw err;
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ClientReport;
}

/** The steps whose value is an `{ error }`, for a failure message that names them all. */
export function failedSteps(report: ClientReport): Record<string, unknown> {
  return Object.fromEntries(Object.entries(report).filter(([, value]) => typeof value === 'object' && value !== null && 'error' in value));
}

export interface GoQueryResult {
  columns: Array<[name: string, type: string]>;
  rows: number;
  error?: string;
}

/** Runs each SQL text through clickhouse-go as Grafana runs a panel; the columns' ClickHouse types and the row count of each. */
export async function runGoQueries(harness: CaptureHarness, sqls: string[]): Promise<GoQueryResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'go-queries-'));
  try {
    const file = path.join(dir, 'queries.json');
    fs.writeFileSync(file, JSON.stringify(sqls));
    const { host, port } = adminAddress(harness);
    const report = await runClient(installGoClient(), [], { CH_ADDR: `${host}:${port}`, CH_USER: CLIENT_USER, CH_PASSWORD: CLIENT_PASSWORD, CH_QUERIES: file });
    return report.queries as GoQueryResult[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
