/**
 * The marker that replaces every redacted secret (header values, body and
 * folded text, query-string values): `[REDACTED len=N hmac=<12 hex>]`.
 *
 * N is the secret's length in bytes; the hash is HMAC-SHA256 keyed with the
 * installation's redaction key (`<data-dir>/redaction.key`, 32 random bytes
 * made at the first start, mode 0600). Equal secrets give equal markers
 * within one installation, so they still correlate across rows; without the
 * key a marker cannot be used to confirm a guessed secret offline, however
 * short the secret. The marker holds no quote or backslash, so redacted JSON
 * stays valid JSON.
 *
 * Plain functions over a hex string key: the key crosses into the body
 * workers once, in their workerData.
 */
import { createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Hex digits of the keyed HMAC-SHA256 shown in a marker: 48 bits tell secrets apart without being a usable digest. */
const REDACTION_HASH_HEX_CHARS = 12;

/** The key's file name inside the data directory. */
export const REDACTION_KEY_FILE = 'redaction.key';
const KEY_BYTES = 32;

/**
 * Used when no key is given (tools and tests that build rows on their own):
 * random per process, so such markers correlate only within the process and
 * still confirm nothing.
 */
const PROCESS_KEY = randomBytes(KEY_BYTES).toString('hex');

let cachedHex = '';
let cachedKey: Buffer = Buffer.alloc(0);

function keyBytes(hex: string): Buffer {
  if (hex !== cachedHex) {
    cachedKey = Buffer.from(hex, 'hex');
    cachedHex = hex;
  }
  return cachedKey;
}

/**
 * The markers of the latest secrets, per encoding, for the key in markersKey.
 * The same API key, token or cookie comes with every request of a workload,
 * and its HMAC cost more than the rest of the row's headers. Bounded in
 * entries and in secret length (cleared when full), and it holds only secrets
 * this process is handling anyway, in its own memory; nothing of it is written.
 */
const MARKER_CACHE_ENTRIES = 256;
const MARKER_CACHE_SECRET_MAX_CHARS = 512;
let markersKey = '';
const utf8Markers = new Map<string, string>();
const latin1Markers = new Map<string, string>();

/** Matches a whole marker: already-redacted text is never redacted again. */
export const MARKER_PATTERN = /^\[REDACTED len=\d+ hmac=[0-9a-f]+\]$/;

/**
 * The marker of `secret`. `encoding` is how the secret's characters map to
 * bytes: utf8 for body text, latin1 for header values as received.
 */
export function redactionMarker(secret: string, key: string | undefined, encoding: 'utf8' | 'latin1' = 'utf8'): string {
  const hex = key ?? PROCESS_KEY;
  const cache = encoding === 'utf8' ? utf8Markers : latin1Markers;
  if (hex !== markersKey) {
    utf8Markers.clear();
    latin1Markers.clear();
    markersKey = hex;
  }
  const cached = cache.get(secret);
  if (cached !== undefined) return cached;
  const bytes = Buffer.from(secret, encoding);
  const hash = createHmac('sha256', keyBytes(hex)).update(bytes).digest('hex').slice(0, REDACTION_HASH_HEX_CHARS);
  const marker = `[REDACTED len=${bytes.length} hmac=${hash}]`;
  if (secret.length <= MARKER_CACHE_SECRET_MAX_CHARS) {
    if (cache.size >= MARKER_CACHE_ENTRIES) cache.clear();
    cache.set(secret, marker);
  }
  return marker;
}

/**
 * The installation's redaction key, as hex: read from
 * `<dataDir>/redaction.key`, or made there (0600, never replaced) when it is
 * not there yet. The key lives beside the spool also when rows go to a
 * remote ClickHouse: it never leaves this machine, and whoever can read the
 * data directory can read the spooled rows anyway. Losing it only means that
 * markers made afterwards no longer match older ones.
 */
export function loadRedactionKey(dataDir: string): string {
  const file = path.join(dataDir, REDACTION_KEY_FILE);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    const fd = fs.openSync(file, 'wx', 0o600);
    try {
      fs.writeSync(fd, randomBytes(KEY_BYTES).toString('hex') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Made by an earlier version or by hand: narrow it.
    fs.chmodSync(file, 0o600);
  }
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!/^(?:[0-9a-f]{2}){16,}$/i.test(hex)) throw new Error(`${file} is not a redaction key (at least 32 hex digits); move it away to make a new one`);
  return hex.toLowerCase();
}
