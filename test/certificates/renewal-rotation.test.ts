/**
 * Leaves change under an open stream: renewed at 2/3 of their validity, and
 * re-minted when the CA Secret is rotated (the kubelet's `..data` symlink
 * swap), each pushed to the client without it asking again.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { caFiles, chainOf, handshake, newCa, writeSecretVolume } from './test-cas';
import { startMinter, tempDir, type MinterHarness } from './minter-harness';

describe('renewal and CA rotation on open streams', () => {
  const first = newCa('Rotating CA 1');
  const second = newCa('Rotating CA 2', 'rsa');
  let harness: MinterHarness;
  let volume: string;

  beforeAll(async () => {
    const caDir = tempDir('egress-capture-rotation-');
    volume = path.join(caDir, 'gw', 'rotating-ca');
    writeSecretVolume(volume, caFiles(first));
    // 3 s leaves: renewed after 2 s.
    harness = await startMinter({ caDir, leafValidityMs: 3000 });
  });

  afterAll(async () => {
    await harness.stop();
  });

  test('a leaf is renewed at 2/3 of its validity and the new version pushed', async () => {
    const client = harness.client({ caSecret: 'gw/rotating-ca' });
    client.connect(['renew.example.com']);
    await client.until('leaf', () => client.held.has('renew.example.com'));
    const firstLeaf = client.held.get('renew.example.com')!;
    const issued = Date.now();
    const leaf = chainOf(firstLeaf.secret.certificateChain)[0]!;
    // Never valid past what was asked (3 s from minting).
    expect(new Date(leaf.validTo).getTime()).toBeLessThanOrEqual(issued + 3000);
    await client.until('renewed', () => client.held.get('renew.example.com')!.version !== firstLeaf.version, 10_000);
    // Not before 2/3 of the validity (2 s), minus the second a certificate's time is rounded to.
    expect(Date.now() - issued).toBeGreaterThanOrEqual(1000);
    const renewed = client.held.get('renew.example.com')!;
    expect(await handshake(renewed.secret, first.certificatePem, 'renew.example.com')).toBeUndefined();
    expect(await harness.metric('egress_capture_sds_certificates_minted_total')).toBeGreaterThanOrEqual(2);
  });

  test('a rotated CA Secret takes effect without a restart: open streams get leaves from the new CA', async () => {
    const client = harness.client({ caSecret: 'gw/rotating-ca' });
    client.connect(['rotate.example.com', 'rotate-2.example.com']);
    await client.until('leaves', () => client.held.has('rotate.example.com') && client.held.has('rotate-2.example.com'));
    const before = client.held.get('rotate.example.com')!.version;
    writeSecretVolume(volume, caFiles(second));
    const secondCa = new crypto.X509Certificate(second.certificatePem);
    await client.until('leaves from the new CA', () =>
      ['rotate.example.com', 'rotate-2.example.com'].every((name) => chainOf(client.held.get(name)!.secret.certificateChain)[0]!.verify(secondCa.publicKey)),
    );
    expect(client.held.get('rotate.example.com')!.version).not.toBe(before);
    expect(await handshake(client.held.get('rotate.example.com')!.secret, second.certificatePem, 'rotate.example.com')).toBeUndefined();
    expect(await handshake(client.held.get('rotate.example.com')!.secret, first.certificatePem, 'rotate.example.com')).toBeDefined();
    expect(harness.logs.some((l) => l.msg === 'CA rotated' && l.ca === 'gw/rotating-ca')).toBe(true);
  });

  test('broken files in a rotation: the last good CA keeps signing and the problem is reported', async () => {
    const client = harness.client({ caSecret: 'gw/rotating-ca' });
    client.connect(['keeps.example.com']);
    await client.until('leaf', () => client.held.has('keeps.example.com'));
    // The certificate of one CA with the key of another.
    writeSecretVolume(volume, { 'tls.crt': first.certificatePem, 'tls.key': second.keyPem });
    const deadline = Date.now() + 10_000;
    while (harness.minter.problems().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(harness.minter.problems()).toEqual([`${path.join(volume, 'tls.key')}: the key does not match the certificate in ${path.join(volume, 'tls.crt')}`]);
    client.subscribe(['still-served.example.com']);
    await client.until('served by the last good CA', () => client.held.has('still-served.example.com'));
    expect(await handshake(client.held.get('still-served.example.com')!.secret, second.certificatePem, 'still-served.example.com')).toBeUndefined();
    // Fixed files: ready again.
    writeSecretVolume(volume, caFiles(second));
    const fixed = Date.now() + 10_000;
    while (harness.minter.problems().length > 0 && Date.now() < fixed) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(harness.minter.problems()).toEqual([]);
    expect(await harness.metric('egress_capture_sds_ca_load_errors_total', { reason: 'key_mismatch' })).toBe(1);
  });
});
