/**
 * `--admin URL` for query, status and replay: the admin port of a running
 * server. Errors name the value (credentials in it masked) and the expected
 * form, and a refused connection says where it tried, not just "fetch failed".
 */
import { describeError } from '../errors';
import { CertificatePinMismatch, pinnedFetch } from './pinned-https';

export const ADMIN_URL_FORM = 'http://HOST:PORT of a running server\'s admin port (e.g. http://127.0.0.1:9003)';

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

/**
 * fetch() against the admin port; a connection failure names the address and
 * the cause (ECONNREFUSED …). With `certSha256` (an HTTPS server found through
 * its data directory) the connection is pinned to that certificate instead of
 * verified by name: see pinned-https.ts.
 */
export async function fetchAdmin(url: URL, init?: RequestInit, certSha256?: string): Promise<Response> {
  try {
    return certSha256 !== undefined && url.protocol === 'https:' ? await pinnedFetch(url, init ?? {}, certSha256) : await fetch(url, init);
  } catch (err) {
    // Something answered, with the wrong certificate: not the same as nothing answering.
    if (err instanceof CertificatePinMismatch) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? describeError(err);
    throw new AdminUnreachable(`cannot reach the admin port at ${url.origin} (${detail}); expected --admin ${ADMIN_URL_FORM}`, { cause: err });
  }
}

/** Nothing answered at the admin URL (as opposed to an answer that is an error). */
export class AdminUnreachable extends Error {}

function maskCredentials(raw: string): string {
  return raw.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * The admin port serves data only with the credentials the server was given
 * when it has any: `url` without its user:password part (fetch() refuses
 * URLs with credentials) and an Authorization header from them, else from
 * `fallback` (the EGRESS_CAPTURE_ADMIN_USER/_PASSWORD the server reads too).
 */
export function withAdminCredentials(url: URL, fallback: { user?: string; password?: string }): { url: URL; headers: Record<string, string> } {
  const bare = new URL(url);
  const user = decodeURIComponent(bare.username) || fallback.user || '';
  const password = decodeURIComponent(bare.password) || fallback.password || '';
  bare.username = '';
  bare.password = '';
  const headers: Record<string, string> = {};
  if (user !== '') headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return { url: bare, headers };
}
