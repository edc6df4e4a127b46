/** The admin ClickHouse interface's policy as `serve` builds it from its defaults, for tests that start an AdminServer on their own. */
import { DEFAULTS } from '../../src/config/defaults';
import type { AdminServerOptions } from '../../src/admin/admin-server';

export function adminClickHouse(overrides: Partial<AdminServerOptions['clickhouse']> = {}): AdminServerOptions['clickhouse'] {
  return {
    user: '',
    password: '',
    allowWrites: false,
    limits: { maxExecutionTimeSeconds: DEFAULTS.adminMaxExecutionTimeSeconds, maxMemoryUsageBytes: DEFAULTS.adminMaxMemoryUsageBytes, maxResultBytes: DEFAULTS.adminMaxResultBytes },
    maxConcurrentQueries: DEFAULTS.adminMaxConcurrentQueries,
    maxQueryBytes: DEFAULTS.adminQueryMaxBytes,
    ...overrides,
  };
}
