/**
 * ClickHouse HTTP sessions (`session_id`) over engine connections.
 *
 * Each request normally gets an engine connection of its own, closed at the
 * end, so a temporary table lives as long as its request — what ClickHouse
 * does without `session_id`. With `session_id` ClickHouse keeps temporary
 * tables for the session until `session_timeout` seconds pass without a
 * request; the engine scopes temporary tables to a connection, so a session
 * here is one connection kept open under its user and id, closed when idle.
 * As in ClickHouse: one request at a time per session (another one at the
 * same time gets SESSION_IS_LOCKED), `session_check=1` refuses to create a
 * session (SESSION_NOT_FOUND), the timeout is capped (3600 s, ClickHouse's
 * default max_session_timeout). Sessions are bounded in number so they
 * cannot exhaust the engine; the oldest idle one gives way.
 */
import type { EngineConnection } from '../../sinks/clickhouse/embedded-store';
import { CH, ClickHouseHttpError } from './clickhouse-errors';

export const DEFAULT_SESSION_TIMEOUT_SECONDS = 60;
export const MAX_SESSION_TIMEOUT_SECONDS = 3600;
const MAX_SESSIONS = 64;

interface Session {
  connection: EngineConnection;
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
  lastUsed: number;
}

export interface SessionLease {
  connection: EngineConnection;
  /** A new session: its connection has no settings yet. */
  created: boolean;
  release(): void;
}

export class EngineSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly open: () => EngineConnection) {}

  acquire(user: string, id: string, timeoutSeconds: number, check: boolean): SessionLease {
    if (!/^[\w.:-]{1,128}$/.test(id))
      throw ClickHouseHttpError.of(CH.INVALID_SESSION_ID, `session_id must be 1 to 128 letters, digits, '_', '-', '.' or ':'; got ${JSON.stringify(id.slice(0, 140))}`, 400);
    const key = `${user}\n${id}`;
    let session = this.sessions.get(key);
    const created = session === undefined;
    if (session === undefined) {
      if (check) throw ClickHouseHttpError.of(CH.SESSION_NOT_FOUND, `Session ${id} not found`, 404);
      this.makeRoom();
      session = { connection: this.open(), busy: false, timer: undefined, lastUsed: Date.now() };
      this.sessions.set(key, session);
    }
    if (session.busy) throw ClickHouseHttpError.of(CH.SESSION_IS_LOCKED, `Session ${id} is locked by a concurrent client`, 409);
    session.busy = true;
    if (session.timer !== undefined) clearTimeout(session.timer);
    const own = session;
    return {
      connection: own.connection,
      created,
      release: () => {
        own.busy = false;
        own.lastUsed = Date.now();
        own.timer = setTimeout(() => this.drop(key, own), timeoutSeconds * 1000);
        own.timer.unref();
      },
    };
  }

  closeAll(): void {
    for (const [key, session] of this.sessions) this.drop(key, session);
  }

  private drop(key: string, session: Session): void {
    if (this.sessions.get(key) !== session || session.busy) return;
    if (session.timer !== undefined) clearTimeout(session.timer);
    this.sessions.delete(key);
    session.connection.close();
  }

  private makeRoom(): void {
    if (this.sessions.size < MAX_SESSIONS) return;
    const idle = [...this.sessions].filter(([, session]) => !session.busy).sort(([, a], [, b]) => a.lastUsed - b.lastUsed)[0];
    if (idle === undefined) throw ClickHouseHttpError.of(CH.TOO_MANY_SIMULTANEOUS_QUERIES, `Too many sessions (${MAX_SESSIONS}) in use at once on the admin interface`);
    this.drop(idle[0], idle[1]);
  }
}

/** session_timeout as ClickHouse reads it: seconds, capped; a bad value is the client's error. */
export function sessionTimeout(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_SESSION_TIMEOUT_SECONDS;
  if (!/^\d{1,9}$/.test(value)) throw ClickHouseHttpError.of(CH.INVALID_SESSION_TIMEOUT, `session_timeout must be a number of seconds; got ${JSON.stringify(value)}`, 400);
  const seconds = Number(value);
  if (seconds > MAX_SESSION_TIMEOUT_SECONDS) throw ClickHouseHttpError.of(CH.INVALID_SESSION_TIMEOUT, `session_timeout ${seconds} is above the maximum ${MAX_SESSION_TIMEOUT_SECONDS} seconds`, 400);
  return seconds;
}
