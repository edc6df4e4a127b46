/**
 * Runs one of the real-client programs (./go, ./python) against a harness
 * and returns the JSON report it prints: one entry per step, `{ error }` for
 * a step that failed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ClientInstall } from './clients-install';

export type ClientReport = Record<string, unknown>;

export async function runClient(install: ClientInstall, args: string[], env: Record<string, string>): Promise<ClientReport> {
  if (install.executable === undefined) throw new Error(`the client is not installed: ${install.problem}`);
  const { stdout } = await promisify(execFile)(install.executable, args, { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }).catch((err: { stdout?: string; message: string }) => {
    // The programs exit non-zero only when they cannot connect at all; their report says why.
    if (err.stdout) return { stdout: err.stdout };
    throw err;
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ClientReport;
}

/** The steps whose value is an `{ error }`, for a failure message that names them all. */
export function failedSteps(report: ClientReport): Record<string, unknown> {
  return Object.fromEntries(Object.entries(report).filter(([, value]) => typeof value === 'object' && value !== null && 'error' in value));
}
