/**
 * Credentials in a request's query string, redacted before the path is
 * stored (the Path column, and through it url.full / url.query) or written
 * to the in-flight journal.
 *
 * A parameter is redacted when its name (percent-decoded, any case) is one
 * of CREDENTIAL_QUERY_PARAM_NAMES, or when its value holds one of the body
 * rules' key shapes (sk-…, AKIA…, AIza…, JWTs…). Its value then becomes the
 * redaction marker (literal, not percent-encoded, so it reads the same as in
 * headers and bodies); everything else is kept byte for byte. A value that
 * already is a marker is left alone, so redacting twice changes nothing.
 * A path without "?" costs one indexOf.
 *
 * The same applies to headers whose values are URLs (URL_HEADERS): a Referer
 * or a redirect's Location carries the query string of another request, and
 * signed URLs (X-Amz-Signature, sig=) travel in them.
 *
 * Redactions are counted per rule under a `url.` prefix (`url.query_param`
 * for a credential name, `url.<rule>` for a key shape), beside the body rules.
 */
import { BodyRedactor } from './body-redactor';
import { MARKER_PATTERN, redactionMarker } from './redaction-marker';

/** Headers whose values are URLs, redacted like the path. */
export const URL_HEADERS: ReadonlySet<string> = new Set(['referer', 'location', 'content-location']);

/** Query-string parameters whose values are credentials (the README lists them). */
export const CREDENTIAL_QUERY_PARAM_NAMES: readonly string[] = [
  'api_key',
  'api-key',
  'apikey',
  'key',
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'auth_token',
  'client_secret',
  'password',
  'secret',
  'sig',
  'signature',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-credential',
  'x-goog-signature',
  'x-goog-credential',
  'awsaccesskeyid',
  'subscription-key',
];

/** Lower-cased credential parameter names. */
export const CREDENTIAL_QUERY_PARAMS: ReadonlySet<string> = new Set(CREDENTIAL_QUERY_PARAM_NAMES.map((name) => name.toLowerCase()));

export function isCredentialQueryParam(encodedName: string): boolean {
  return CREDENTIAL_QUERY_PARAMS.has(safeDecode(encodedName).toLowerCase());
}

export function safeDecode(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Built-in key shapes, for values when body redaction is switched off or not at hand. */
let builtInShapes: Map<string, BodyRedactor> | undefined;

function shapesFor(key: string | undefined): BodyRedactor {
  builtInShapes ??= new Map();
  const id = key ?? '';
  let redactor = builtInShapes.get(id);
  if (redactor === undefined) {
    redactor = new BodyRedactor({}, key);
    builtInShapes.set(id, redactor);
  }
  return redactor;
}

/**
 * `path` with credential query values replaced by markers made with `key`.
 * `shapes`: the configured body redactor (its rules find key shapes in
 * values); without one the built-in rules are used. `counts` (rule → count)
 * is added to when given.
 */
export function redactPath(path: string, key: string | undefined, shapes?: BodyRedactor, counts?: Record<string, number>): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const parts = path.slice(q + 1).split('&');
  let changed = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq);
    const raw = eq < 0 ? part : part.slice(eq + 1);
    if (raw === '') continue;
    const value = safeDecode(raw);
    if (MARKER_PATTERN.test(value)) continue;
    let redacted: string;
    if (eq >= 0 && CREDENTIAL_QUERY_PARAMS.has(safeDecode(name).toLowerCase())) {
      redacted = redactionMarker(value, key, 'utf8');
      if (counts !== undefined) counts['url.query_param'] = (counts['url.query_param'] ?? 0) + 1;
    } else {
      const result = (shapes ?? shapesFor(key)).redact(value);
      if (result.text === value) continue;
      redacted = result.text;
      if (counts !== undefined) for (const [rule, count] of Object.entries(result.redactions)) counts[`url.${rule}`] = (counts[`url.${rule}`] ?? 0) + count;
    }
    parts[i] = eq < 0 ? redacted : `${name}=${redacted}`;
    changed = true;
  }
  return changed ? `${path.slice(0, q)}?${parts.join('&')}` : path;
}
