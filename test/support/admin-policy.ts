/** The admin ClickHouse interface's policy as `serve` builds it from its defaults, for tests that start an AdminServer on their own. */
import type { AdminServerOptions } from '../../src/admin/admin-server';
import { DEFAULTS } from '../../src/config/defaults';
import { adminClickHousePolicy } from '../../src/service/capture-service';

export function adminClickHouse(overrides: Partial<AdminServerOptions['clickhouse']> = {}): AdminServerOptions['clickhouse'] {
  return { ...adminClickHousePolicy(DEFAULTS), ...overrides };
}
