/**
 * The minter over DeltaSecrets, driven by a client that behaves as Envoy's
 * on-demand selector: what it serves is checked as a workload would check it
 * (node:crypto verification against the CA, and a real node:tls handshake).
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { caFiles, chainOf, handshake, newCa, writeSecretVolume } from './test-cas';
import { startMinter, tempDir, type MinterHarness } from './minter-harness';

const EC_CA = newCa('Team A Interception CA');
const RSA_CA = newCa('Team B RSA CA', 'rsa');
const DEFAULT_CA = newCa('Default CA');
const DAY_MS = 24 * 3600 * 1000;

describe('DeltaSecrets', () => {
  let harness: MinterHarness;

  beforeAll(async () => {
    const caDir = tempDir('egress-capture-ca-dir-');
    writeSecretVolume(path.join(caDir, 'team-a', 'egress-ca'), caFiles(EC_CA));
    writeSecretVolume(path.join(caDir, 'team-b', 'rsa-ca'), caFiles(RSA_CA, 'ca'));
    const defaults = tempDir('egress-capture-default-ca-');
    writeSecretVolume(defaults, caFiles(DEFAULT_CA));
    harness = await startMinter({ caDir, caCertFile: path.join(defaults, 'tls.crt'), caKeyFile: path.join(defaults, 'tls.key') });
  });

  afterAll(async () => {
    await harness.stop();
  });

  test('a subscribed name gets a leaf that verifies against the CA and matches the name', async () => {
    const client = harness.client({ caSecret: 'team-a/egress-ca', gateway: 'egress/gw' });
    client.connect(['api.openai.com']);
    await client.until('api.openai.com', () => client.held.has('api.openai.com'));
    const { secret } = client.held.get('api.openai.com')!;
    const [leaf, ca, ...rest] = chainOf(secret.certificateChain);
    expect(rest).toHaveLength(0);
    const caCert = new crypto.X509Certificate(EC_CA.certificatePem);
    expect(ca!.fingerprint256).toBe(caCert.fingerprint256);
    expect(leaf!.verify(caCert.publicKey)).toBe(true);
    expect(leaf!.checkIssued(caCert)).toBe(true);
    expect(leaf!.checkHost('api.openai.com')).toBe('api.openai.com');
    expect(leaf!.checkHost('api.anthropic.com')).toBeUndefined();
    expect(leaf!.subjectAltName).toBe('DNS:api.openai.com');
    expect(leaf!.subject).toBe('CN=api.openai.com');
    expect(leaf!.ca).toBe(false);
    expect(leaf!.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // extendedKeyUsage serverAuth
    expect(leaf!.serialNumber).toHaveLength(32); // 128 bits
    const key = crypto.createPrivateKey(secret.privateKey);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(leaf!.checkPrivateKey(key)).toBe(true);
    // Backdated for clock skew, short-lived: 7 days by default.
    const notBefore = new Date(leaf!.validFrom).getTime();
    const notAfter = new Date(leaf!.validTo).getTime();
    expect(notBefore).toBeLessThan(Date.now() - 30 * 60 * 1000);
    expect(Math.abs(notAfter - (Date.now() + 7 * DAY_MS))).toBeLessThan(10 * 60 * 1000);
  });

  test('a client trusting only the CA completes a TLS handshake for the name, and fails for another', async () => {
    const client = harness.client({ caSecret: 'team-a/egress-ca' });
    client.connect(['api.anthropic.com']);
    await client.until('api.anthropic.com', () => client.held.has('api.anthropic.com'));
    const { secret } = client.held.get('api.anthropic.com')!;
    expect(await handshake(secret, EC_CA.certificatePem, 'api.anthropic.com')).toBeUndefined();
    expect(await handshake(secret, EC_CA.certificatePem, 'api.openai.com')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    // Another CA's clients do not trust it.
    expect(await handshake(secret, RSA_CA.certificatePem, 'api.anthropic.com')).toBe('SELF_SIGNED_CERT_IN_CHAIN');
  });

  test('many names on one stream, each ACKed once and not resent', async () => {
    const client = harness.client({ caSecret: 'team-a/egress-ca' });
    const names = Array.from({ length: 50 }, (_, i) => `host-${i}.example.com`);
    client.connect(names.slice(0, 10));
    await client.until('first ten', () => names.slice(0, 10).every((n) => client.held.has(n)));
    client.subscribe(names.slice(10));
    await client.until('all fifty', () => names.every((n) => client.held.has(n)));
    const sentResources = client.responses.flatMap((r) => r.resources.map((x) => x.name));
    expect(sentResources.sort()).toEqual([...names].sort());
    // Every response was ACKed with its nonce; nonces are unique.
    const nonces = client.responses.map((r) => r.nonce);
    expect(new Set(nonces).size).toBe(nonces.length);
    expect(client.sent.filter((r) => r.response_nonce !== undefined).map((r) => r.response_nonce)).toEqual(nonces);
    expect(client.responses.every((r) => r.system_version_info === 'ca:team-a/egress-ca')).toBe(true);
  });

  test('two clients asking for the same name get the same cached leaf', async () => {
    const hitsBefore = await harness.metric('egress_capture_sds_cache_hits_total');
    const first = harness.client({ caSecret: 'team-a/egress-ca', gateway: 'a' });
    const second = harness.client({ caSecret: 'team-a/egress-ca', gateway: 'b' });
    first.connect(['shared.example.com']);
    second.connect(['shared.example.com']);
    await first.until('first', () => first.held.has('shared.example.com'));
    await second.until('second', () => second.held.has('shared.example.com'));
    expect(second.held.get('shared.example.com')!.version).toBe(first.held.get('shared.example.com')!.version);
    expect(await harness.metric('egress_capture_sds_cache_hits_total')).toBeGreaterThan(hitsBefore);
    expect(await harness.metric('egress_capture_sds_streams', { api: 'delta' })).toBeGreaterThanOrEqual(2);
  });

  test('a reconnecting client announcing what it holds is not sent it again; new names are', async () => {
    const client = harness.client({ caSecret: 'team-a/egress-ca' });
    client.connect(['reconnect.example.com']);
    await client.until('leaf', () => client.held.has('reconnect.example.com'));
    const version = client.held.get('reconnect.example.com')!.version;
    client.disconnect();
    const before = client.responses.length;
    client.connect(['after-reconnect.example.com']);
    expect(client.sent.at(-1)!.initial_resource_versions).toEqual({ 'reconnect.example.com': version });
    await client.until('new name', () => client.held.has('after-reconnect.example.com'));
    const afterReconnect = client.responses.slice(before).flatMap((r) => r.resources.map((x) => x.name));
    expect(afterReconnect).toEqual(['after-reconnect.example.com']);
    expect(client.held.get('reconnect.example.com')!.version).toBe(version);
  });

  test('names that are not valid hosts are answered as removed, counted by reason', async () => {
    const bad: Record<string, string> = {
      '': 'empty',
      ['a'.repeat(63) + '.' + 'b'.repeat(63) + '.' + 'c'.repeat(63) + '.' + 'd'.repeat(63) + '.com']: 'too_long',
      'bad_label-.example.com': 'bad_label',
      'double..dot.com': 'bad_label',
      'foo.*.example.com': 'misplaced_wildcard',
      'no-sni.egress-capture.invalid': 'no_sni',
    };
    const before: Record<string, number> = {};
    for (const reason of new Set(Object.values(bad))) before[reason] = await harness.metric('egress_capture_sds_names_refused_total', { reason });
    const client = harness.client({ caSecret: 'team-a/egress-ca' });
    client.connect([...Object.keys(bad), 'good.example.com', '*.wild.example.com', '10.20.30.40', '2001:db8::1']);
    await client.until('answers', () => client.held.size === 4 && client.removed.length === Object.keys(bad).length);
    expect(client.removed.sort()).toEqual(Object.keys(bad).sort());
    for (const reason of new Set(Object.values(bad))) {
      const expected = Object.values(bad).filter((r) => r === reason).length;
      expect({ reason, count: (await harness.metric('egress_capture_sds_names_refused_total', { reason })) - before[reason]! }).toEqual({ reason, count: expected });
    }
    const ip = chainOf(client.held.get('10.20.30.40')!.secret.certificateChain)[0]!;
    expect(ip.checkIP('10.20.30.40')).toBe('10.20.30.40');
    expect(chainOf(client.held.get('2001:db8::1')!.secret.certificateChain)[0]!.checkIP('2001:db8::1')).toBe('2001:db8::1');
    expect(chainOf(client.held.get('*.wild.example.com')!.secret.certificateChain)[0]!.checkHost('x.wild.example.com')).toBe('*.wild.example.com');
    // A handshake for a client sending an IP address (no SNI mapper name) still verifies.
    expect(await handshake(client.held.get('good.example.com')!.secret, EC_CA.certificatePem, 'good.example.com')).toBeUndefined();
  });

  test('the default pair signs for streams naming no CA; an RSA CA from ca.crt/ca.key signs too', async () => {
    const plain = harness.client({});
    plain.connect(['default.example.com']);
    const rsa = harness.client({ caSecret: 'team-b/rsa-ca' });
    rsa.connect(['rsa.example.com']);
    await plain.until('default', () => plain.held.has('default.example.com'));
    await rsa.until('rsa', () => rsa.held.has('rsa.example.com'));
    expect(await handshake(plain.held.get('default.example.com')!.secret, DEFAULT_CA.certificatePem, 'default.example.com')).toBeUndefined();
    expect(await handshake(rsa.held.get('rsa.example.com')!.secret, RSA_CA.certificatePem, 'rsa.example.com')).toBeUndefined();
    expect(chainOf(rsa.held.get('rsa.example.com')!.secret.certificateChain)[0]!.verify(new crypto.X509Certificate(RSA_CA.certificatePem).publicKey)).toBe(true);
  });

  test('an unknown CA or a malformed reference: every name removed, the problem logged once', async () => {
    const client = harness.client({ caSecret: 'team-c/missing' });
    client.connect(['a.example.com', 'b.example.com']);
    client.subscribe(['c.example.com']);
    await client.until('removed', () => client.removed.length === 3);
    const lines = harness.logs.filter((l) => String(l.msg).includes('team-c/missing'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toContain(path.join(harness.dir, 'team-c', 'missing'));
    const traversal = harness.client({ caSecret: '../../etc' });
    traversal.connect(['d.example.com']);
    await traversal.until('removed', () => traversal.removed.length === 1);
    expect(await harness.metric('egress_capture_sds_names_refused_total', { reason: 'bad_reference' })).toBe(1);
  });

  test('a NACKed leaf is not recorded as held nor pushed again', async () => {
    const nacksBefore = await harness.metric('egress_capture_sds_nacks_total', { api: 'delta' });
    const client = harness.client({ caSecret: 'team-a/egress-ca', validate: (secret) => (secret.name === 'rejected.example.com' ? 'certificate rejected by test' : undefined) });
    client.connect(['rejected.example.com']);
    await client.until('nack', () => client.sent.some((r) => r.error_detail !== undefined));
    client.subscribe(['accepted.example.com']);
    await client.until('accepted', () => client.held.has('accepted.example.com'));
    expect(client.held.has('rejected.example.com')).toBe(false);
    expect(client.responses.flatMap((r) => r.resources.map((x) => x.name))).toEqual(['rejected.example.com', 'accepted.example.com']);
    expect(await harness.metric('egress_capture_sds_nacks_total', { api: 'delta' })).toBe(nacksBefore + 1);
    // Another CA rotating makes every stream re-resolve its names: the rejected leaf is not pushed again.
    const responsesBefore = client.responses.length;
    writeSecretVolume(path.join(harness.dir, 'team-c', 'rotating'), caFiles(newCa('Another CA')));
    writeSecretVolume(path.join(harness.dir, 'team-b', 'rsa-ca'), caFiles(newCa('Team B rotated')));
    const other = harness.client({ caSecret: 'team-b/rsa-ca' });
    other.connect(['after-rotation.example.com']);
    await other.until(
      'a leaf from the rotated CA',
      () => other.held.has('after-rotation.example.com') && chainOf(other.held.get('after-rotation.example.com')!.secret.certificateChain)[1]!.subject.includes('Team B rotated'),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(client.responses.slice(responsesBefore).flatMap((r) => r.resources.map((x) => x.name))).toEqual([]);
    // Subscribing again is a new request for it: answered again.
    client.subscribe(['rejected.example.com']);
    await client.until('answered again', () => client.responses.flatMap((r) => r.resources.map((x) => x.name)).filter((n) => n === 'rejected.example.com').length === 2);
  });

  test('an unsubscribed name is dropped; subscribing again answers it again', async () => {
    const client = harness.client({ caSecret: 'team-a/egress-ca' });
    client.connect(['gone.example.com']);
    await client.until('leaf', () => client.held.has('gone.example.com'));
    client.unsubscribe(['gone.example.com']);
    client.subscribe(['back.example.com']);
    await client.until('back', () => client.held.has('back.example.com'));
    client.subscribe(['gone.example.com']);
    await client.until('gone again', () => client.held.has('gone.example.com'));
  });

  test('a stream asking for another resource type is refused', async () => {
    const client = harness.client({ typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster' });
    client.connect(['x.example.com']);
    await expect(client.until('never', () => false, 10_000)).rejects.toThrow(/serves type.googleapis.com\/envoy.extensions.transport_sockets.tls.v3.Secret only/);
  });
});
