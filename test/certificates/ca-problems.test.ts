/**
 * Every way a CA can be unusable, as an operator would meet it: a clear
 * message naming the file and what is wrong, at start-up for configured CAs
 * (and /readyz not ready), per stream for named ones (names removed, the
 * problem logged once).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaProblem, CertificateAuthority } from '../../src/certificates/certificate-authority';
import { createCa } from '../../src/certificates/ca-certificate';
import { mintLeaf } from '../../src/certificates/leaf-minter';
import { caFiles, newCa, writeSecretVolume } from './test-cas';
import { startMinter, tempDir } from './minter-harness';

const good = newCa('Good CA');
const other = newCa('Other CA');
const expired = createCa({ commonName: 'Expired CA', notBefore: new Date(Date.now() - 20 * 86400e3), notAfter: new Date(Date.now() - 86400e3) });
const goodCa = CertificateAuthority.fromPem(Buffer.from(good.certificatePem), Buffer.from(good.keyPem), { certFile: 'good.crt', keyFile: 'good.key' });
const leaf = mintLeaf(goodCa, 'leaf.example.com', 'dns', 86400e3);
const ed25519 = crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

const CASES: Array<{ name: string; files: Record<string, string>; reason: string; message: RegExp }> = [
  {
    name: 'not a CA (a server certificate)',
    files: { 'tls.crt': leaf.chainPem, 'tls.key': leaf.keyPem },
    reason: 'not_a_ca',
    message: /tls\.crt: "CN=leaf\.example\.com" is not a CA certificate \(basicConstraints CA:false or absent\)/,
  },
  { name: 'expired', files: caFiles(expired), reason: 'expired', message: /tls\.crt: the CA certificate expired on \d{4}-/ },
  { name: 'key of another CA', files: { 'tls.crt': good.certificatePem, 'tls.key': other.keyPem }, reason: 'key_mismatch', message: /tls\.key: the key does not match the certificate in .*tls\.crt/ },
  { name: 'certificate not PEM', files: { 'tls.crt': 'hello', 'tls.key': good.keyPem }, reason: 'not_pem', message: /tls\.crt: no PEM "CERTIFICATE" block/ },
  { name: 'key not PEM', files: { 'tls.crt': good.certificatePem, 'tls.key': 'not a key' }, reason: 'not_pem', message: /tls\.key: no usable unencrypted PEM private key/ },
  { name: 'Ed25519 key', files: { 'tls.crt': good.certificatePem, 'tls.key': ed25519 }, reason: 'unsupported_key', message: /tls\.key: the key is ed25519: expected RSA or ECDSA/ },
  { name: 'key missing', files: { 'tls.crt': good.certificatePem }, reason: 'missing', message: /tls\.key: no such file/ },
  { name: 'no certificate', files: { 'other.txt': 'x' }, reason: 'missing', message: /neither tls\.crt \+ tls\.key nor ca\.crt \+ ca\.key in the folder/ },
];

describe('broken CA files', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s: named file, what is wrong, names removed, logged once', async (_name, c) => {
    const caDir = tempDir('egress-capture-broken-ca-');
    writeSecretVolume(path.join(caDir, 'ns', 'broken'), c.files);
    const harness = await startMinter({ caDir });
    try {
      // At start-up: the configured CA's problem is known, so the service is not ready.
      expect(harness.minter.problems()).toEqual([expect.stringMatching(c.message)]);
      const client = harness.client({ caSecret: 'ns/broken' });
      client.connect(['a.example.com', 'b.example.com']);
      await client.until('removed', () => client.removed.length === 2);
      expect(client.held.size).toBe(0);
      const errors = harness.logs.filter((l) => l.level === 50);
      expect(errors).toHaveLength(1);
      expect(String(errors[0]!.msg)).toMatch(c.message);
      expect(await harness.metric('egress_capture_sds_ca_load_errors_total', { reason: c.reason })).toBe(1);
      expect(await harness.metric('egress_capture_sds_names_refused_total', { reason: c.reason })).toBe(2);
    } finally {
      await harness.stop();
    }
  });

  test('CertificateAuthority names the file for an unreadable one', () => {
    const dir = tempDir('egress-capture-unreadable-');
    const file = path.join(dir, 'tls.crt');
    fs.mkdirSync(file); // a directory where a file is expected: EISDIR
    expect(() => CertificateAuthority.fromFiles(file, path.join(dir, 'tls.key'))).toThrow(new CaProblem(file, 'unreadable', 'cannot be read (EISDIR)'));
  });

  test('a CA folder mounted after start is found by the next stream naming it', async () => {
    const caDir = tempDir('egress-capture-late-ca-');
    const harness = await startMinter({ caDir });
    try {
      const early = harness.client({ caSecret: 'ns/late' });
      early.connect(['early.example.com']);
      await early.until('removed', () => early.removed.length === 1);
      writeSecretVolume(path.join(caDir, 'ns', 'late'), caFiles(good));
      const late = harness.client({ caSecret: 'ns/late' });
      late.connect(['late.example.com']);
      await late.until('served', () => late.held.has('late.example.com'));
    } finally {
      await harness.stop();
    }
  });

  test('a CA that expires while serving stops signing, and leaves never outlive it', async () => {
    const caDir = tempDir('egress-capture-expiring-');
    const expiring = createCa({ commonName: 'Expiring CA', notAfter: new Date(Date.now() + 3000) });
    writeSecretVolume(path.join(caDir, 'ns', 'expiring'), caFiles(expiring));
    const harness = await startMinter({ caDir });
    try {
      const client = harness.client({ caSecret: 'ns/expiring' });
      client.connect(['before.example.com']);
      await client.until('leaf', () => client.held.has('before.example.com'));
      const leaf = new crypto.X509Certificate(client.held.get('before.example.com')!.secret.certificateChain);
      expect(new Date(leaf.validTo).getTime()).toBeLessThanOrEqual(new Date(new crypto.X509Certificate(expiring.certificatePem).validTo).getTime());
      await new Promise((resolve) => setTimeout(resolve, 3500));
      client.subscribe(['after.example.com']);
      // The new name is refused, and the held one withdrawn when its renewal finds the CA expired.
      await client.until('both removed', () => client.removed.includes('after.example.com') && client.removed.includes('before.example.com'));
      expect(client.held.size).toBe(0);
      expect(harness.minter.problems()).toEqual([expect.stringMatching(/tls\.crt: the CA certificate expired on /)]);
      expect(await harness.metric('egress_capture_sds_names_refused_total', { reason: 'expired' })).toBe(2);
    } finally {
      await harness.stop();
    }
  });

  test('a stream naming no CA without a default pair: names removed, reason no_default_ca', async () => {
    const harness = await startMinter({ caDir: tempDir('egress-capture-no-default-') });
    try {
      const client = harness.client({});
      client.connect(['x.example.com']);
      await client.until('removed', () => client.removed.length === 1);
      expect(await harness.metric('egress_capture_sds_names_refused_total', { reason: 'no_default_ca' })).toBe(1);
    } finally {
      await harness.stop();
    }
  });
});
