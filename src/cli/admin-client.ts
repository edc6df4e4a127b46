/**
 * The one client of a running server's admin port, for `query`, `status` and
 * `replay`: where the port is (`--admin URL`, or the server that owns the data
 * directory), the credentials it asks for, and the certificate to pin.
 *
 * chdb lets one process open a data directory, so while a server runs every
 * reader goes through its admin port; the server leaves its admin URL, pid and
 * certificate fingerprint in egress-capture-server.json while it runs.
 *
 * Credentials: the user:password in the URL, else `--admin-user` /
 * `--admin-password` and their environment twins EGRESS_CAPTURE_ADMIN_USER /
 * _PASSWORD, the very variables the server reads, so a command run beside
 * the server (kubectl exec) needs nothing more. Errors name the value
 * (credentials masked) and the expected form, and a refused connection says
 * where it tried, not just "fetch failed".
 */
import * as path from 'node:path';
import { CaptureError, describeError } from '../errors';
import { SERVER_INFO_FILE, type ServerInfo } from '../service/capture-service';
import { readJsonFile } from '../spool/atomic-file';
import { CertificatePinMismatch, pinnedFetch } from './pinned-https';

export const ADMIN_URL_FORM = "http://HOST:PORT of a running server's admin port (e.g. http://127.0.0.1:9003)";

/** The URL, or the problem with it in the "--admin: "value" expected …" form. */
export function parseAdminUrl(raw: string): URL | { error: string } {
  const problem = { error: `--admin: "${maskCredentials(raw)}" expected ${ADMIN_URL_FORM}` };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return problem;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : problem;
}

/** Nothing answered at the admin URL (as opposed to an answer that is an error). */
export class AdminUnreachable extends Error {}

/** The admin port answered a request with an error status; `body` is what it said (ClickHouse's "Code: N. DB::Exception: …" for queries). */
export class AdminRefused extends CaptureError {
  constructor(
    readonly status: number,
    readonly body: string,
    where: string,
  ) {
    super('CAP_ERR_QUERY_FAILED', `${where} answered ${status}: ${body.trim()}`);
  }
}

export interface AdminCredentials {
  user: string;
  password: string;
}

export class AdminClient {
  /** The URL without credentials (fetch() refuses URLs that carry them). */
  readonly url: URL;
  private readonly headers: Record<string, string> = {};

  /**
   * `certSha256`: an HTTPS server found through its data directory is pinned
   * to that certificate instead of verified by name (see pinned-https.ts).
   * `foundIn`: the data directory whose server this is, when it was not named by --admin.
   */
  constructor(
    url: URL,
    credentials: AdminCredentials,
    readonly certSha256?: string,
    readonly foundIn?: string,
  ) {
    this.url = new URL(url);
    const user = decodeURIComponent(this.url.username) || credentials.user;
    const password = decodeURIComponent(this.url.password) || credentials.password;
    this.url.username = '';
    this.url.password = '';
    if (user !== '') this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  /** The client of the live server that owns `dataDir`, if one runs. */
  static forDataDir(dataDir: string, credentials: AdminCredentials): AdminClient | undefined {
    const info = readJsonFile<ServerInfo>(path.join(dataDir, SERVER_INFO_FILE));
    if (info === undefined) return undefined;
    try {
      process.kill(info.pid, 0);
    } catch {
      return undefined; // stale file from a server that died
    }
    return new AdminClient(new URL(info.adminUrl), credentials, info.adminCertSha256, dataDir);
  }

  get origin(): string {
    return this.url.origin;
  }

  /** SQL through the ClickHouse HTTP interface; the result in `format`. Throws AdminRefused with ClickHouse's error. */
  async query(sql: string, format: string): Promise<string> {
    const url = new URL('/', this.url);
    url.search = new URLSearchParams({ default_format: format }).toString();
    const response = await this.fetch(url, { method: 'POST', body: sql, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    const text = await response.text();
    if (!response.ok) throw new AdminRefused(response.status, text, `${this.origin}/`);
    return text;
  }

  /** GET `pathname` (e.g. /status); the body, or AdminRefused. */
  async get(pathname: string): Promise<string> {
    const url = new URL(pathname, this.url);
    const response = await this.fetch(url, {});
    const text = await response.text();
    if (!response.ok) throw new AdminRefused(response.status, text, `${this.origin}${pathname}`);
    return text;
  }

  /** fetch() with the credentials and the pin; a connection failure names the address and the cause (ECONNREFUSED …). */
  private async fetch(url: URL, init: RequestInit): Promise<Response> {
    const request = { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...this.headers } };
    try {
      return this.certSha256 !== undefined && url.protocol === 'https:' ? await pinnedFetch(url, request, this.certSha256) : await fetch(url, request);
    } catch (err) {
      // Something answered, with the wrong certificate: not the same as nothing answering.
      if (err instanceof CertificatePinMismatch) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? describeError(err);
      throw new AdminUnreachable(`cannot reach the admin port at ${url.origin} (${detail}); expected --admin ${ADMIN_URL_FORM}`, { cause: err });
    }
  }
}

function maskCredentials(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@');
}
