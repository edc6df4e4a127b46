/**
 * Helpers for tests running the translator's standalone bootstrap: which
 * leaves a test changed in its copy, and the stored row of one request.
 */
import { sqlStringLiteral } from '../../src/sinks/clickhouse/sql-literal';
import { adminQuery, sleep, type ServiceProcess } from '../service/service-process';
import type { EnvoyProcess } from './envoy-process';

type Json = Record<string, any>;

/** The host the translator gives the capture service (and certificate minter) clusters by default. */
export const CAPTURE_HOST = 'egress-capture';

/** The one row whose request carried `x-test-id: testId`, waited for up to 15 s. */
export async function rowByTestId(capture: ServiceProcess, envoy: EnvoyProcess, testId: string): Promise<Json> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const rows = await adminQuery<Json>(capture.admin, `SELECT * FROM http_exchanges WHERE RequestHeaders['x-test-id'] = ${sqlStringLiteral(testId)}`);
    if (rows.length > 1) throw new Error(`${rows.length} rows for ${testId}`);
    if (rows.length === 1) return rows[0]!;
    if (Date.now() > deadline) throw new Error(`no row for ${testId}; Envoy log:\n${envoy.logTail()}\nservice log:\n${capture.stderr().slice(-3000)}`);
    await sleep(50);
  }
}

/** Leaf paths whose values differ between two JSON values. */
export function changedPaths(before: unknown, after: unknown, at = ''): string[] {
  if (typeof before !== 'object' || before === null || typeof after !== 'object' || after === null) {
    return before === after ? [] : [at];
  }
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) => changedPaths((before as Json)[key], (after as Json)[key], at === '' ? key : `${at}.${key}`));
}

/** The value at a dotted path (as changedPaths names them). */
export function pathValue(value: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, key) => (v as Json | undefined)?.[key], value);
}
