/**
 * `egress-capture query [--data-dir DIR [--allow-writes] | --admin URL | --clickhouse-url URL] [--format F]
 *   [--admin-user U --admin-password P] "SQL"` → JSONEachRow (or F) on stdout.
 *
 * The store is the one store-chooser.ts picks: through a running server's
 * ClickHouse HTTP interface when there is one (--admin, or the server that
 * owns DIR), else the remote ClickHouse, else the embedded store opened here,
 * read, and closed. Credentials for the interface come from the URL
 * (http://user:pass@host:port), --admin-user/--admin-password (--user and
 * --password are the older spelling), or the env twins the server reads
 * (EGRESS_CAPTURE_ADMIN_USER/_PASSWORD).
 *
 * Opened here, the store is read-only unless --allow-writes, like the admin
 * port: the engine runs the session with readonly=1, so INSERT, DDL, ALTER
 * and `SET readonly=0` are refused by ClickHouse itself, not by parsing the
 * SQL. (Through a server, the server's --admin-allow-writes decides.)
 */
import { DEFAULTS } from '../config/defaults';
import { describeError } from '../errors';
import type { CommandIo } from './main';
import { AdminRefused } from './admin-client';
import { readAdminAndConfig, splitCommandArgs } from './command-config';
import { commandError } from './command-error';
import { openStoreReader } from './store-chooser';

const USAGE = `usage: egress-capture query [--data-dir DIR [--allow-writes] | --admin URL | --clickhouse-url URL] [--format FORMAT] [--admin-user U --admin-password P] "SQL"

Runs SQL against the store and prints the result (JSONEachRow unless --format).

  --data-dir DIR       the store (default ${DEFAULTS.dataDir}, env EGRESS_CAPTURE_DATA_DIR); while a server
                       owns it, the query goes through that server's admin port
  --admin URL          a running server's admin port, http://HOST:PORT
  --clickhouse-url URL a remote ClickHouse store (env EGRESS_CAPTURE_CLICKHOUSE_URL), as serve takes it
  --allow-writes       with no server running: let INSERT, DDL and ALTER change the store (default: read-only)
  --format FORMAT      ClickHouse output format (JSONEachRow)
  --admin-user U, --admin-password P
                       admin port credentials (also --user/--password, the URL, or
                       EGRESS_CAPTURE_ADMIN_USER/_PASSWORD, which the server reads too)
`;

const OWN = {
  admin: { type: 'string' },
  format: { type: 'string' },
  'allow-writes': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runQueryCommand(argv: string[], io: CommandIo): Promise<number> {
  let args: ReturnType<typeof splitCommandArgs<{ admin?: string; format?: string; 'allow-writes'?: boolean; help?: boolean }>>;
  try {
    args = splitCommandArgs(argv, OWN, { user: 'admin-user', password: 'admin-password' });
  } catch (err) {
    io.stderr.write(`egress-capture query: ${describeError(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  const sql = positionals.join(' ').trim();
  if (sql === '') {
    io.stderr.write(USAGE);
    return 2;
  }
  const inputs = readAdminAndConfig(values.admin, args.configArgv, io.env);
  if ('error' in inputs) {
    io.stderr.write(`egress-capture query: ${inputs.error}\n`);
    return 2;
  }
  const { config, admin } = inputs;
  const allowWrites = values['allow-writes'] === true;
  try {
    const store = await openStoreReader(config, admin, { readOnly: !allowWrites });
    try {
      io.stdout.write(await store.query(sql, values.format ?? 'JSONEachRow'));
      return 0;
    } finally {
      await store.close();
    }
  } catch (err) {
    if (err instanceof AdminRefused) {
      // The body is ClickHouse's "Code: N. DB::Exception: …" line.
      io.stderr.write(`egress-capture query: HTTP ${err.status}: ${err.body.endsWith('\n') ? err.body : `${err.body}\n`}`);
      return 1;
    }
    if (!allowWrites && /\(READONLY\)/.test(describeError(err))) {
      io.stderr.write(`egress-capture query: ${describeError(err)}\n  the store is opened read-only: pass --allow-writes to change it (with no server running)\n`);
      return 1;
    }
    io.stderr.write(`egress-capture query: ${commandError(err)}\n`);
    return 1;
  }
}
