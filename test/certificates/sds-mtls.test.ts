/**
 * The SDS listener behind mTLS (--sds-tls-cert/--sds-tls-key/--sds-client-ca):
 * whoever reaches it gets private keys that impersonate any host, so with a
 * client CA only a client presenting a certificate it signed gets leaves.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CertificateAuthority } from '../../src/certificates/certificate-authority';
import { mintLeaf } from '../../src/certificates/leaf-minter';
import { caFiles, newCa, opensslClientCertificate, writeSecretVolume } from './test-cas';
import { startMinter, tempDir, type MinterHarness } from './minter-harness';

describe('SDS over mTLS', () => {
  const interception = newCa('Interception CA');
  const transport = newCa('SDS transport CA');
  let harness: MinterHarness;
  let dir: string;
  let clientCert: string;
  let clientKey: string;

  beforeAll(async () => {
    dir = tempDir('egress-capture-sds-mtls-');
    writeSecretVolume(path.join(dir, 'default'), caFiles(interception));
    fs.writeFileSync(path.join(dir, 'transport-ca.crt'), transport.certificatePem);
    fs.writeFileSync(path.join(dir, 'transport-ca.key'), transport.keyPem);
    const transportCa = CertificateAuthority.fromFiles(path.join(dir, 'transport-ca.crt'), path.join(dir, 'transport-ca.key'));
    const serverLeaf = mintLeaf(transportCa, 'localhost', 'dns', 86400e3);
    fs.writeFileSync(path.join(dir, 'sds.crt'), serverLeaf.chainPem);
    fs.writeFileSync(path.join(dir, 'sds.key'), serverLeaf.keyPem);
    // Envoy's client certificate: clientAuth, signed by the transport CA.
    const envoy = opensslClientCertificate(dir, 'envoy', path.join(dir, 'transport-ca.crt'), path.join(dir, 'transport-ca.key'));
    clientCert = fs.readFileSync(envoy.certFile, 'utf8');
    clientKey = fs.readFileSync(envoy.keyFile, 'utf8');
    harness = await startMinter({
      caCertFile: path.join(dir, 'default', 'tls.crt'),
      caKeyFile: path.join(dir, 'default', 'tls.key'),
      sdsTlsCertFile: path.join(dir, 'sds.crt'),
      sdsTlsKeyFile: path.join(dir, 'sds.key'),
      sdsClientCaFile: path.join(dir, 'transport-ca.crt'),
    });
  });

  afterAll(async () => {
    await harness.stop();
  });

  const channelOptions = { 'grpc.ssl_target_name_override': 'localhost' };

  test('a client with a certificate the client CA signed gets leaves', async () => {
    const client = harness.client({ credentials: grpc.credentials.createSsl(Buffer.from(transport.certificatePem), Buffer.from(clientKey), Buffer.from(clientCert)), channelOptions });
    client.connect(['api.openai.com']);
    await client.until('leaf', () => client.held.has('api.openai.com'));
  });

  test('a client without a certificate gets nothing', async () => {
    const client = harness.client({ credentials: grpc.credentials.createSsl(Buffer.from(transport.certificatePem)), channelOptions });
    client.connect(['api.openai.com']);
    await expect(client.until('never', () => client.held.size > 0, 10_000)).rejects.toThrow(/stream failed/);
    expect(client.held.size).toBe(0);
  });

  test('a plaintext client gets nothing', async () => {
    const client = harness.client({});
    client.connect(['api.openai.com']);
    await expect(client.until('never', () => client.held.size > 0, 10_000)).rejects.toThrow(/stream failed/);
  });
});
