/**
 * `egress-capture query [--data-dir DIR [--allow-writes] | --admin URL] [--format F] [--user U --password P] "SQL"`
 * → JSONEachRow (or F) on stdout.
 *
 * chdb lets only one process open a data directory, so while a server owns
 * DIR (it leaves egress-capture-server.json there with its admin URL and pid)
 * the query goes through that server's ClickHouse HTTP interface; otherwise
 * the store is opened here, read, and closed. Credentials for the interface
 * come from --user/--password, the URL (http://user:pass@host:port), or the
 * same env twins the server reads (EGRESS_CAPTURE_ADMIN_USER/_PASSWORD).
 *
 * Opened here, the store is read-only unless --allow-writes, like the admin
 * port: the engine runs the session with readonly=1, so INSERT, DDL, ALTER
 * and `SET readonly=0` are refused by ClickHouse itself, not by parsing the
 * SQL. (Through a server, the server's --admin-allow-writes decides.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../config/defaults';
import { describeError } from '../errors';
import { EmbeddedStore } from '../sinks/clickhouse/embedded-store';
import type { CommandIo } from './main';
import { fetchAdmin, parseAdminUrl } from './admin-url';
import { runningServerAdmin } from './running-server';

const USAGE = `usage: egress-capture query [--data-dir DIR [--allow-writes] | --admin URL] [--format FORMAT] [--user U --password P] "SQL"

Runs SQL against the store and prints the result (JSONEachRow unless --format).

  --data-dir DIR     the store (default ${DEFAULTS.dataDir}, env EGRESS_CAPTURE_DATA_DIR); while a server
                     owns it, the query goes through that server's admin port
  --admin URL        a running server's admin port, http://HOST:PORT
  --allow-writes     with no server running: let INSERT, DDL and ALTER change the store (default: read-only)
  --format FORMAT    ClickHouse output format (JSONEachRow)
  --user, --password admin port credentials (or in the URL, or EGRESS_CAPTURE_ADMIN_USER/_PASSWORD)
`;

export async function runQueryCommand(argv: string[], io: CommandIo): Promise<number> {
  let values: { 'data-dir'?: string; admin?: string; format?: string; user?: string; password?: string; 'allow-writes'?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        admin: { type: 'string' },
        format: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        'allow-writes': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }));
  } catch (err) {
    io.stderr.write(`egress-capture query: ${describeError(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  const sql = positionals.join(' ').trim();
  if (sql === '') {
    io.stderr.write(USAGE);
    return 2;
  }
  const dataDir = values['data-dir'] ?? io.env.EGRESS_CAPTURE_DATA_DIR ?? DEFAULTS.dataDir;
  const running = values.admin === undefined ? runningServerAdmin(dataDir) : undefined;
  const admin = values.admin ?? running?.url;
  const format = values.format ?? 'JSONEachRow';
  try {
    if (admin !== undefined) {
      const url = parseAdminUrl(admin);
      if (!(url instanceof URL)) {
        io.stderr.write(`egress-capture query: ${url.error}\n`);
        return 2;
      }
      // fetch() refuses URLs with credentials: move them into the Authorization header.
      const user = values.user ?? (decodeURIComponent(url.username) || io.env.EGRESS_CAPTURE_ADMIN_USER || '');
      const password = values.password ?? (decodeURIComponent(url.password) || io.env.EGRESS_CAPTURE_ADMIN_PASSWORD || '');
      url.username = '';
      url.password = '';
      url.pathname = '/';
      url.search = new URLSearchParams({ default_format: format }).toString();
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
      if (user !== '') headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const response = await fetchAdmin(url, { method: 'POST', body: sql, headers }, running?.certSha256);
      const text = await response.text();
      if (!response.ok) {
        // The body is ClickHouse's "Code: N. DB::Exception: …" line.
        io.stderr.write(`egress-capture query: HTTP ${response.status}: ${text.endsWith('\n') ? text : `${text}\n`}`);
        return 1;
      }
      io.stdout.write(text);
      return 0;
    }
    if (!fs.existsSync(dataDir)) {
      io.stderr.write(`egress-capture query: no store at ${path.resolve(dataDir)} (start the service, or pass --data-dir)\n`);
      return 1;
    }
    const allowWrites = values['allow-writes'] === true;
    const store = new EmbeddedStore({ dataDir, ttlDays: undefined, readOnly: !allowWrites });
    await store.open();
    try {
      io.stdout.write(await store.query(sql, format));
    } catch (err) {
      if (!allowWrites && /\(READONLY\)/.test(describeError(err))) {
        io.stderr.write(`egress-capture query: ${describeError(err)}\n  the store is opened read-only: pass --allow-writes to change it (with no server running)\n`);
        return 1;
      }
      throw err;
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    io.stderr.write(`egress-capture query: ${describeError(err)}\n`);
    return 1;
  }
}

