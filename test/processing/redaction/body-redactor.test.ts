import { createHmac } from 'node:crypto';
import { BodyRedactor, nestsUnboundedQuantifiers } from '../../../src/processing/redaction/body-redactor';
import { redactionMarker } from '../../../src/processing/redaction/redaction-marker';
import { CaptureError } from '../../../src/errors';
import { GenAiConfigError } from '../../../src/processing/genai/errors';

// Synthetic key shapes built at run time so no key-like literal sits in the repository.
const rnd = (n: number, alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789'): string => Array.from({ length: n }, (_, i) => alphabet[(i * 7 + 3) % alphabet.length]).join('');
const OPENAI = `sk-proj-${rnd(48)}`;
const ANTHROPIC = `sk-ant-api03-${rnd(60)}-${rnd(8)}`;
const AWS = `AKIA${rnd(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
const GOOGLE = `AIza${rnd(35)}`;
const GITHUB = `ghp_${rnd(36)}`;
const SLACK = `xoxb-${rnd(12, '0123456789')}-${rnd(24)}`;
const b64url = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const JWT = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: '1234567890', name: 'Jane', iat: 1516239022 })}.${rnd(43)}`;

const KEY = '0f'.repeat(32);
function marker(secret: string): string {
  const h = createHmac('sha256', Buffer.from(KEY, 'hex')).update(secret).digest('hex').slice(0, 12);
  return `[REDACTED len=${Buffer.byteLength(secret)} hmac=${h}]`;
}

describe('BodyRedactor', () => {
  const r = new BodyRedactor({}, KEY);

  it.each([
    ['openai_key', OPENAI],
    ['anthropic_key', ANTHROPIC],
    ['aws_access_key_id', AWS],
    ['google_api_key', GOOGLE],
    ['github_token', GITHUB],
    ['slack_token', SLACK],
    ['jwt', JWT],
  ])('redacts %s shapes in free text', (rule, secret) => {
    const out = r.redact(`curl -H "x: ${secret}" and then (${secret}).`);
    expect(out.text).toBe(`curl -H "x: ${marker(secret)}" and then (${marker(secret)}).`);
    expect(out.redactions).toEqual({ [rule]: 2 });
  });

  it('redacts string values of secret-named JSON members and keeps the JSON valid', () => {
    const body = JSON.stringify({
      model: 'gpt-4o',
      api_key: 'hunter2-not-a-key-shape',
      config: { 'Client-Secret': 'c\\"s', password: 'p@ss word', openai_api_key: OPENAI, token: '', max_tokens: 5 },
      access_token: 'at-123',
      tokens: 'not secret',
      input_tokens: 'also not',
      stop_token: '</s>',
      secret: 42,
    });
    const out = r.redact(body);
    const parsed = JSON.parse(out.text) as Record<string, any>;
    expect(parsed.api_key).toBe(marker('hunter2-not-a-key-shape'));
    expect(parsed.config['Client-Secret']).toBe(marker('c\\\\\\"s'));
    expect(parsed.config.password).toBe(marker('p@ss word'));
    expect(parsed.config.openai_api_key).toBe(marker(OPENAI));
    expect(parsed.config.token).toBe('');
    expect(parsed.config.max_tokens).toBe(5);
    expect(parsed.access_token).toBe(marker('at-123'));
    expect(parsed.tokens).toBe('not secret');
    expect(parsed.input_tokens).toBe('also not');
    expect(parsed.stop_token).toBe('</s>');
    expect(parsed.secret).toBe(42);
    // The member rule claims the key first, so it is not counted twice.
    expect(out.redactions).toEqual({ json_secret_member: 5 });
  });

  it('finds secret-named members in any letter case, with nothing else in the body to hint at a secret', () => {
    const body = '{"API_KEY":"v1","Authorization" :\t"v2","PassWD":"v3","x-Secret-":"v4","Session_TOKEN" : "v5","KEYS":"kept"}';
    const out = r.redact(body);
    expect(JSON.parse(out.text)).toEqual({ API_KEY: marker('v1'), Authorization: marker('v2'), PassWD: marker('v3'), 'x-Secret-': marker('v4'), Session_TOKEN: marker('v5'), KEYS: 'kept' });
    expect(out.redactions).toEqual({ json_secret_member: 5 });
  });

  it('leaves ordinary text alone', () => {
    const prose = [
      'Use sk-learn-compatible-estimators-everywhere for task-force planning; ask-me-anything-about-models.',
      'The AKIA prefix is documented; AKIAISNOTLONGENOUGH and XAKIA1234567890ABCDEF1 are not keys.',
      'GitHub tokens start with ghp_ and Slack ones with xoxb- (see the docs).',
      'A JWT looks like header.payload.signature, e.g. eyJhbGciOi is only a prefix.',
      '{"model":"claude-sonnet-4-5","max_tokens":1024,"tokenizer":"cl100k","token_count":17,"usage":{"input_tokens":3}}',
      'Emoji 🔑 and accents: clé secrète, пароль, 密码.',
    ].join('\n');
    expect(r.redact(prose)).toEqual({ text: prose, redactions: {} });
  });

  // A hang guard, not a speed check: linear work on these takes milliseconds, a quadratic
  // pattern takes minutes at this size, so the bound sits far from both.
  it('is linear on adversarial 256 KiB inputs', () => {
    const n = 256 * 1024;
    const inputs = [
      'sk-'.repeat(n / 3),
      'eyJ'.repeat(n / 3),
      'eyJaaaaaaaaa.'.repeat(n / 13),
      'eyJaaaaaaaaa.eyJbbbbbbbbb.'.repeat(n / 26),
      '"'.repeat(n),
      '"a":"'.repeat(n / 5),
      '"password": "\\'.repeat(n / 15),
      '\\'.repeat(n),
      'a'.repeat(n),
      'AKIA'.repeat(n / 4),
      'xoxb-'.repeat(n / 5),
      `"api_key": "${'x'.repeat(n - 20)}`,
    ];
    for (const input of inputs) {
      const t0 = process.hrtime.bigint();
      r.redact(input);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      expect({ input: input.slice(0, 20), fast: ms < 3000 }).toEqual({ input: input.slice(0, 20), fast: true });
    }
  });

  it('adds, replaces and removes rules by name, with a secret group', () => {
    const custom = new BodyRedactor(
      {
        remove: ['jwt'],
        add: [
          { name: 'internal_ticket', pattern: 'TKT-(?<secret>[0-9]{6})', flags: 'i' },
          { name: 'aws_access_key_id', pattern: 'AKIA[A-Z0-9]{4}' },
        ],
      },
      KEY,
    );
    expect(custom.ruleNames).toEqual(['json_secret_member', 'anthropic_key', 'openai_key', 'aws_access_key_id', 'google_api_key', 'github_token', 'slack_token', 'internal_ticket']);
    const out = custom.redact(`tkt-123456 ${JWT} AKIAABCD`);
    expect(out.text).toBe(`tkt-${marker('123456')} ${JWT} ${marker('AKIAABCD')}`);
    expect(out.redactions).toEqual({ internal_ticket: 1, aws_access_key_id: 1 });
  });

  it('reports invalid rules naming the rule and the pattern', () => {
    let err: unknown;
    try {
      new BodyRedactor({
        remove: ['no_such_rule'],
        add: [
          { name: 'broken', pattern: '([a-z' },
          { name: 'slow', pattern: '(a+)+$' },
          { name: 'bad name!', pattern: 'x' },
          { name: 'flags', pattern: 'x', flags: 'y' },
        ],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GenAiConfigError);
    const e = err as GenAiConfigError;
    expect(e.code).toBe('CAP_ERR_GENAI_REDACTION_RULE_INVALID');
    expect(e).toBeInstanceOf(CaptureError); // one error base: config loading reads its problems
    expect(e.problems).toEqual([
      expect.stringContaining('remove[0] "no_such_rule"'),
      expect.stringMatching(/rule "broken": pattern "\(\[a-z" is not a valid regular expression/),
      expect.stringMatching(/rule "slow": pattern "\(a\+\)\+\$" repeats a group/),
      expect.stringContaining('add[2].name'),
      expect.stringContaining('rule "flags": flags'),
    ]);
  });

  it('flags nested unbounded quantifiers only', () => {
    for (const p of ['(a+)+', '(?:\\w+\\s?)*', '((ab)*c)+', '(x*){2,}']) expect(nestsUnboundedQuantifiers(p)).toBe(true);
    for (const p of ['(a|b)+', '(\\d+)', '[(a+)+]', '\\(a+\\)+', '(a+)?', '(a+){1}', 'TKT-(?<secret>[0-9]{6})']) expect(nestsUnboundedQuantifiers(p)).toBe(false);
  });

  it('exports the marker format: a keyed HMAC, so another key gives another marker', () => {
    expect(redactionMarker('abc', KEY)).toBe(marker('abc'));
    expect(redactionMarker('abc', 'a0'.repeat(32))).not.toBe(marker('abc'));
    expect(redactionMarker('abc', 'a0'.repeat(32))).toMatch(/^\[REDACTED len=3 hmac=[0-9a-f]{12}\]$/);
  });

  it('gives each secret, key and encoding its own marker however often and in whatever order they come', () => {
    const other = 'a0'.repeat(32);
    const latin1Marker = (secret: string, key: string): string =>
      `[REDACTED len=${Buffer.byteLength(secret, 'latin1')} hmac=${createHmac('sha256', Buffer.from(key, 'hex')).update(Buffer.from(secret, 'latin1')).digest('hex').slice(0, 12)}]`;
    for (let round = 0; round < 3; round++) {
      expect(redactionMarker('abc', KEY)).toBe(marker('abc'));
      expect(redactionMarker('abd', KEY)).toBe(marker('abd'));
      expect(redactionMarker('abc', other)).not.toBe(marker('abc'));
      // The same characters are other bytes in each encoding: another length, another hash.
      expect(redactionMarker('clé', KEY)).toBe(marker('clé'));
      expect(redactionMarker('clé', KEY, 'latin1')).toBe(latin1Marker('clé', KEY));
      expect(redactionMarker('clé', other, 'latin1')).toBe(latin1Marker('clé', other));
    }
    // More distinct secrets than any cache holds, then the first ones again.
    for (let i = 0; i < 1000; i++) expect(redactionMarker(`secret-${i}`, KEY)).toBe(marker(`secret-${i}`));
    expect(redactionMarker('secret-0', KEY)).toBe(marker('secret-0'));
    const long = 'x'.repeat(5000);
    expect(redactionMarker(long, KEY)).toBe(marker(long));
    expect(redactionMarker(long, KEY)).toBe(marker(long));
  });
});
