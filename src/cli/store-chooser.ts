/**
 * Where `query`, `status` and `replay` find the captured data, decided in
 * one place and in this order:
 *   1. `--admin URL`: that server's admin port;
 *   2. the running server that owns `--data-dir`, through its admin port
 *      (chdb lets one process open a data directory);
 *   3. the remote ClickHouse of `--clickhouse-url`;
 *   4. the embedded store in `--data-dir`, opened here and closed after.
 * The configuration comes from the same loader as `serve`, so the data
 * directory, the store URL and the admin credentials are the ones the
 * server is given (flags or the same environment variables).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RuntimeConfig } from '../config/runtime-config';
import { CaptureError } from '../errors';
import { EmbeddedStore } from '../sinks/clickhouse/embedded-store';
import { RemoteStore } from '../sinks/clickhouse/remote-store';
import { AdminClient } from './admin-client';
import { layoutFromOptions } from '../sinks/clickhouse/table-layout';

/** Steps 1 and 2: the admin port to talk to, if there is one. */
export function chooseAdmin(config: RuntimeConfig, adminFlag: URL | undefined): AdminClient | undefined {
  const credentials = { user: config.adminUser, password: config.adminPassword };
  return adminFlag !== undefined ? new AdminClient(adminFlag, credentials) : AdminClient.forDataDir(config.dataDir, credentials);
}

/** Read access to the store, wherever it is. */
export interface StoreReader {
  /** "through http://…", "from HOST", "from /path": for the command's output. */
  readonly describe: string;
  /** Runs SQL; the result in a ClickHouse output format. */
  query(sql: string, format: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Opens the store the order above chooses. `readOnly` applies to an
 * embedded store opened here (ClickHouse's readonly=1); through a server its
 * --admin-allow-writes decides, and a remote server its user's grants.
 */
export async function openStoreReader(config: RuntimeConfig, adminFlag: URL | undefined, options: { readOnly: boolean }): Promise<StoreReader> {
  const admin = chooseAdmin(config, adminFlag);
  if (admin !== undefined) {
    return { describe: `through ${admin.origin}`, query: (sql, format) => admin.query(sql, format), close: async () => undefined };
  }
  if (config.clickhouseUrl !== '') {
    const store = new RemoteStore({ url: config.clickhouseUrl, ttlDays: config.ttlDays, caFile: config.clickhouseCaFile, layout: layoutFromOptions(config), reader: true });
    await store.open();
    return { describe: `from ${new URL(config.clickhouseUrl).host}`, query: (sql, format) => store.query(sql, format), close: () => store.close() };
  }
  if (!fs.existsSync(config.dataDir)) {
    throw new CaptureError('CAP_ERR_STORE_OPEN', `no store at ${path.resolve(config.dataDir)} (start the service, or pass --data-dir, --admin or --clickhouse-url)`);
  }
  // ttlDays undefined: a reader leaves the table's TTL as the service set it.
  const store = new EmbeddedStore({ dataDir: config.dataDir, ttlDays: undefined, readOnly: options.readOnly, memory: config });
  await store.open();
  return { describe: `from ${path.resolve(config.dataDir)}`, query: (sql, format) => store.query(sql, format), close: () => store.close() };
}
