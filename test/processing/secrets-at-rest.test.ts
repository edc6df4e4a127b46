/**
 * No secret at rest: credentials in query strings, in the default credential
 * headers and in bodies stored as base64 never reach the spool files, the
 * in-flight journal, the stored row or the OTLP record in clear; the files
 * under the data directory are the service user's only; and markers are
 * keyed per installation (same secret, same marker within one data
 * directory; another data directory, another marker).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS } from '../../src/config/defaults';
import type { DirectionSnapshot, ExchangeSnapshot, HeaderList } from '../../src/capture/exchange-snapshot';
import type { BodyContext } from '../../src/processing/worker-contract';
import { inflightEntryJson, rebuildRowLine, type InflightEntry } from '../../src/processing/inflight-entry';
import { FULL_DEFAULT_DECISION } from '../../src/policy/capture-decision';
import { CREDENTIAL_QUERY_PARAM_NAMES, redactPath } from '../../src/processing/redaction/path-redactor';
import { REDACTION_KEY_FILE, loadRedactionKey, redactionMarker } from '../../src/processing/redaction/redaction-marker';
import { mapExchangeRow, mapRowAttributes } from '../../src/sinks/otlp/log-record-mapper';
import { expectCleanExchange, newRequestId, requestHeaders, startScenarios, type Scenarios } from '../scenarios/scenario-support';

// Synthetic key shapes built at run time so no key-like literal sits in the repository.
const rnd = (n: number, seed: number, alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789'): string =>
  Array.from({ length: n }, (_, i) => alphabet[(i * 7 + seed) % alphabet.length]).join('');
const OPENAI = `sk-proj-${rnd(48, 3)}`;
const GOOGLE = `AIza${rnd(35, 5)}`;
const AWS_SESSION = `IQoJb3JpZ2luX2Vj${rnd(60, 11)}`;
const AWS_SIGNATURE = rnd(64, 13, '0123456789abcdef');
const AWS_CREDENTIAL = `ASIA${rnd(16, 17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}/20261206/us-east-1/bedrock/aws4_request`;
const AUTH_TOKEN = `tok-${rnd(40, 19)}`;
const BODY_KEY = `sk-${rnd(40, 23)}`;
const KEY = '5a'.repeat(32);

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-secrets-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('README', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const section = (start: string, end: string) => readme.slice(readme.indexOf(start), readme.indexOf(end, readme.indexOf(start)));

  it.each(DEFAULTS.redactHeaders)('lists the default redacted header %s', (name) => {
    expect(section('Headers redacted by default', 'Query-string parameters redacted')).toContain(`\`${name}\``);
  });

  it.each(CREDENTIAL_QUERY_PARAM_NAMES)('lists the credential query parameter %s', (name) => {
    expect(section('Query-string parameters redacted', 'A redacted value becomes')).toContain(`\`${name}\``);
  });

  it('documents the keyed marker and nothing of the old one', () => {
    expect(readme).toContain('`[REDACTED len=N hmac=xxxxxxxxxxxx]`');
    expect(readme).not.toMatch(/sha256=x|sha256=<8/);
  });
});

describe('redactPath', () => {
  const names = [...CREDENTIAL_QUERY_PARAM_NAMES, 'X-Amz-Security-Token', 'X-Amz-Signature', 'X-Amz-Credential', 'Signature', 'AWSAccessKeyId', 'API_KEY'];

  it.each(names)('replaces the value of %s with the keyed marker and keeps the rest byte for byte', (name) => {
    const secret = 'plain-looking-credential-value';
    expect(redactPath(`/v1/x?a=1&${name}=${secret}&b=%2F`, KEY)).toBe(`/v1/x?a=1&${name}=${redactionMarker(secret, KEY)}&b=%2F`);
  });

  it('matches percent-encoded names and marks the decoded value', () => {
    expect(redactPath(`/p?api%5Fkey=a%2Bb%3D`, KEY)).toBe(`/p?api%5Fkey=${redactionMarker('a+b=', KEY)}`);
  });

  it.each([
    ['openai', OPENAI],
    ['google', GOOGLE],
    ['aws key id', 'AKIA' + rnd(16, 29, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')],
  ])('finds a %s key shape under an innocent name, and a bare one', (_, secret) => {
    expect(redactPath(`/search?q=${secret}&page=2`, KEY)).toBe(`/search?q=${redactionMarker(secret, KEY)}&page=2`);
    expect(redactPath(`/search?${secret}`, KEY)).toBe(`/search?${redactionMarker(secret, KEY)}`);
  });

  it('leaves paths without credentials alone, and redacting twice changes nothing', () => {
    for (const p of ['/v1/chat/completions', '/v1/models?api-version=2024-10-21&limit=5', '/x?key=', '/x?&&=']) expect(redactPath(p, KEY)).toBe(p);
    const once = redactPath(`/p?key=${GOOGLE}&q=${OPENAI}`, KEY);
    expect(redactPath(once, KEY)).toBe(once);
    expect(once).not.toContain(GOOGLE);
    expect(once).not.toContain(OPENAI);
  });
});

describe('the in-flight journal', () => {
  const direction = (headers: HeaderList): DirectionSnapshot => ({
    headers,
    trailers: [],
    headersSeen: true,
    bodyStreamed: false,
    streamAbandoned: false,
    bodySize: 0,
    bodyChunks: 0,
    bodyAbsentReason: '',
    ended: true,
    firstBodyChunkMs: -1,
    maxBodyGapMs: 0,
  });

  it('writes :path with its credentials redacted, and the row rebuilt from it keeps the same markers', () => {
    const snapshot: ExchangeSnapshot = {
      captureId: 'cap-journal',
      startedAtNs: '1800000000000000000',
      durationMs: 3,
      responseHeadersMs: 1,
      outcome: 'complete',
      observabilityMode: false,
      bodyModes: '',
      extProcMessages: 2,
      capture: FULL_DEFAULT_DECISION,
      attributes: {},
      metadata: {},
      request: direction([
        [':method', 'GET'],
        [':path', `/v1/x?key=${GOOGLE}&q=${OPENAI}&n=1`],
        [':authority', 'h.example'],
        ['x-auth-token', AUTH_TOKEN],
      ]),
      response: direction([[':status', '200']]),
    };
    const json = inflightEntryJson(snapshot, { statusCode: 200 } as BodyContext, new Set(DEFAULTS.redactHeaders), KEY);
    const redacted = `/v1/x?key=${redactionMarker(GOOGLE, KEY)}&q=${redactionMarker(OPENAI, KEY)}&n=1`;
    for (const secret of [GOOGLE, OPENAI, AUTH_TOKEN]) expect(json).not.toContain(secret);
    const entry = JSON.parse(json) as InflightEntry;
    expect(entry.headers).toContainEqual([':path', redacted]);
    const row = JSON.parse(rebuildRowLine(entry, { maxBytes: 1024, redactHeaders: DEFAULTS.redactHeaders, redactionKey: KEY })) as { Path: string };
    expect(row.Path).toBe(redacted);
  });
});

describe('the redaction key', () => {
  it('is made once per data directory, 0600, and keys the markers: same directory same marker, another directory another', () => {
    const a = tempDir();
    const b = tempDir();
    const keyA = loadRedactionKey(a);
    expect(fs.statSync(path.join(a, REDACTION_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(loadRedactionKey(a)).toBe(keyA);
    const keyB = loadRedactionKey(b);
    expect(keyB).not.toBe(keyA);
    expect(redactionMarker(OPENAI, loadRedactionKey(a))).toBe(redactionMarker(OPENAI, keyA));
    expect(redactionMarker(OPENAI, keyB)).not.toBe(redactionMarker(OPENAI, keyA));
    expect(redactionMarker(OPENAI, keyA)).toMatch(/^\[REDACTED len=\d+ hmac=[0-9a-f]{12}\]$/);
  });

  it('narrows a key file left readable by others, and refuses one that is not a key', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, REDACTION_KEY_FILE), 'ab'.repeat(32) + '\n', { mode: 0o644 });
    expect(loadRedactionKey(dir)).toBe('ab'.repeat(32));
    expect(fs.statSync(path.join(dir, REDACTION_KEY_FILE)).mode & 0o777).toBe(0o600);
    fs.writeFileSync(path.join(dir, REDACTION_KEY_FILE), 'short\n');
    expect(() => loadRedactionKey(dir)).toThrow(/not a redaction key/);
  });
});

describe('through the running service', () => {
  let s: Scenarios;
  beforeAll(async () => {
    s = await startScenarios();
  });
  afterAll(async () => {
    await s.stop();
  });

  const SECRETS = [OPENAI, GOOGLE, AWS_SESSION, AWS_SIGNATURE, AWS_CREDENTIAL, AUTH_TOKEN, BODY_KEY, 'x-access-secret-value'];

  function filesUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : [path.join(dir, entry.name)]));
  }

  test('query, header and base64-body secrets reach neither the spool, the journal, the row nor the OTLP record', async () => {
    const id = newRequestId('secrets');
    const query = `key=${GOOGLE}&X-Amz-Security-Token=${encodeURIComponent(AWS_SESSION)}&X-Amz-Signature=${AWS_SIGNATURE}&X-Amz-Credential=${encodeURIComponent(AWS_CREDENTIAL)}&q=${OPENAI}&api-version=1`;
    // Bytes that are not UTF-8 (stored base64) with a key inside; a body in a coding the service cannot undo.
    const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x81]), Buffer.from(` key ${BODY_KEY} end `), Buffer.from([0xc3])]);
    const compressed = Buffer.from(`{"client_secret":"${AUTH_TOKEN}","note":"${OPENAI}"}`);
    const result = await s.envoy({ processingMode: { requestBodyMode: 'BUFFERED', responseBodyMode: 'BUFFERED' } }).runExchange({
      request: {
        headers: requestHeaders('POST', `/model/invoke?${query}`, id, [
          ['content-type', 'application/json'],
          ['x-amz-security-token', AWS_SESSION],
          ['x-auth-token', AUTH_TOKEN],
          ['x-access-token', 'x-access-secret-value'],
          ['referer', `https://app.example/callback?state=7&access_token=${AUTH_TOKEN}`],
          ['content-length', String(binary.length)],
        ]),
        body: [binary],
      },
      response: {
        headers: [
          [':status', '200'],
          ['content-type', 'application/json'],
          ['content-encoding', 'compress'],
          ['content-length', String(compressed.length)],
          ['location', `https://bucket.example/o?X-Amz-Signature=${AWS_SIGNATURE}&v=2`],
        ],
        body: [compressed],
      },
    });
    expectCleanExchange(result);
    const row = await s.row(id);
    const key = fs.readFileSync(path.join(s.harness.dataDir, REDACTION_KEY_FILE), 'utf8').trim();

    // The row: markers made with this installation's key.
    expect(row.Path).toBe(
      `/model/invoke?key=${redactionMarker(GOOGLE, key)}&X-Amz-Security-Token=${redactionMarker(AWS_SESSION, key)}&X-Amz-Signature=${redactionMarker(AWS_SIGNATURE, key)}` +
        `&X-Amz-Credential=${redactionMarker(AWS_CREDENTIAL, key)}&q=${redactionMarker(OPENAI, key)}&api-version=1`,
    );
    expect(row.RequestHeaders['x-amz-security-token']).toBe(redactionMarker(AWS_SESSION, key, 'latin1'));
    expect(row.RequestHeaders['x-auth-token']).toBe(redactionMarker(AUTH_TOKEN, key, 'latin1'));
    expect(row.RequestHeaders['x-access-token']).toMatch(/^\[REDACTED len=21 hmac=[0-9a-f]{12}\]$/);
    expect(row.RequestBodyNote).toBe('binary_stored_base64');
    expect(row.ResponseBodyNote).toBe('unsupported_encoding_stored_base64');
    const requestBytes = Buffer.from(row.RequestBody, 'base64');
    const responseBytes = Buffer.from(row.ResponseBody, 'base64');
    expect(requestBytes.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xfe, 0x00, 0x81]));
    expect(requestBytes.toString('latin1')).toContain(` key ${redactionMarker(BODY_KEY, key)} end `);
    expect(responseBytes.toString('latin1')).toBe(`{"client_secret":"${redactionMarker(AUTH_TOKEN, key)}","note":"${redactionMarker(OPENAI, key)}"}`);
    // URLs in headers are redacted like the path.
    expect(row.RequestHeaders['referer']).toBe(`https://app.example/callback?state=7&access_token=${redactionMarker(AUTH_TOKEN, key)}`);
    expect(row.ResponseHeaders['location']).toBe(`https://bucket.example/o?X-Amz-Signature=${redactionMarker(AWS_SIGNATURE, key)}&v=2`);
    // Counted per rule: the bodies' rules, and the URLs' under url. (4 credential names in the path, 1 each in Referer and Location; a key shape in q=).
    expect(row.BodyRedactions).toEqual({ openai_key: 2, json_secret_member: 1, 'url.query_param': 6, 'url.openai_key': 1 });
    const clear = (text: string) => SECRETS.filter((secret) => text.includes(secret) || text.includes(encodeURIComponent(secret)));
    expect(clear(JSON.stringify(row))).toEqual([]);
    expect(clear(requestBytes.toString('latin1') + responseBytes.toString('latin1'))).toEqual([]);

    // The OTLP record.
    const attributes = mapRowAttributes(row);
    expect(attributes['url.full']).toBe('https://api.example.com/model/invoke?key=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&q=REDACTED&api-version=1');
    const record = mapExchangeRow(row, { resource: { attributes: {} } as never, scope: { name: 'test' } as never, observed: [0, 0] });
    expect(clear(JSON.stringify({ body: record.body, attributes: record.attributes }))).toEqual([]);

    // The files on disk: the row is in the spool, no secret is, nor in the journal.
    const files = [...filesUnder(path.join(s.harness.dataDir, 'spool')), ...filesUnder(path.join(s.harness.dataDir, 'inflight'))];
    const bytes = Buffer.concat(files.map((file) => fs.readFileSync(file)));
    expect(bytes.includes(id)).toBe(true);
    expect(clear(bytes.toString('latin1'))).toEqual([]);
  });

  test('spool, journal and key files are 0600, their folders 0700', async () => {
    await s.harness.rows('SELECT 1');
    const dataDir = s.harness.dataDir;
    expect(fs.statSync(path.join(dataDir, REDACTION_KEY_FILE)).mode & 0o777).toBe(0o600);
    for (const dir of ['spool', 'inflight']) {
      const full = path.join(dataDir, dir);
      expect({ dir, mode: fs.statSync(full).mode & 0o777 }).toEqual({ dir, mode: 0o700 });
      const files = filesUnder(full);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect({ file, mode: fs.statSync(file).mode & 0o777 }).toEqual({ file, mode: 0o600 });
    }
  });
});
