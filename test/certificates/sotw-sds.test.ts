/**
 * StreamSecrets (state of the world), as an Envoy with
 * `sds_config.api_config_source.api_type: GRPC` speaks it: the full name list
 * in every request, ACK/NACK by nonce, stale nonces ignored.
 */
import * as grpc from '@grpc/grpc-js';
import * as path from 'node:path';
import { decodeTlsSecret, sdsClientConstructor, SECRET_TYPE_URL, type DiscoveryRequest, type DiscoveryResponse } from '../../src/certificates/sds-protocol';
import { caFiles, handshake, newCa, writeSecretVolume } from './test-cas';
import { startMinter, tempDir, type MinterHarness } from './minter-harness';

const CA = newCa('SotW CA');

describe('StreamSecrets', () => {
  let harness: MinterHarness;
  let client: grpc.Client;

  beforeAll(async () => {
    const dir = tempDir('egress-capture-sotw-');
    writeSecretVolume(dir, caFiles(CA));
    harness = await startMinter({ caCertFile: path.join(dir, 'tls.crt'), caKeyFile: path.join(dir, 'tls.key') });
    client = new (sdsClientConstructor())(harness.address, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await harness.stop();
  });

  function open(): { call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>; responses: DiscoveryResponse[]; next(count: number): Promise<void> } {
    const call = (client as unknown as { StreamSecrets(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> }).StreamSecrets();
    const responses: DiscoveryResponse[] = [];
    call.on('data', (response: DiscoveryResponse) => responses.push(response));
    call.on('error', () => undefined);
    return {
      call,
      responses,
      async next(count) {
        const deadline = Date.now() + 10_000;
        while (responses.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        expect(responses.length).toBeGreaterThanOrEqual(count);
      },
    };
  }

  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 300));

  test('the whole set is answered under one version; an ACK is not answered; a changed list is', async () => {
    const stream = open();
    stream.call.write({ node: { id: 'envoy' }, type_url: SECRET_TYPE_URL, resource_names: ['a.example.com', 'b.example.com', 'bad..name'] });
    await stream.next(1);
    const first = stream.responses[0]!;
    const secrets = first.resources.map((r) => decodeTlsSecret(r));
    // A name that cannot be served is left out (no removal in this variant).
    expect(secrets.map((s) => s.name)).toEqual(['a.example.com', 'b.example.com']);
    expect(await handshake(secrets[0]!, CA.certificatePem, 'a.example.com')).toBeUndefined();
    stream.call.write({ type_url: SECRET_TYPE_URL, version_info: first.version_info, resource_names: ['a.example.com', 'b.example.com', 'bad..name'], response_nonce: first.nonce });
    await settle();
    expect(stream.responses).toHaveLength(1);
    stream.call.write({ type_url: SECRET_TYPE_URL, version_info: first.version_info, resource_names: ['a.example.com', 'c.example.com'], response_nonce: first.nonce });
    await stream.next(2);
    expect(stream.responses[1]!.resources.map((r) => decodeTlsSecret(r).name)).toEqual(['a.example.com', 'c.example.com']);
    expect(stream.responses[1]!.version_info).not.toBe(first.version_info);
    stream.call.end();
  });

  test('a stale nonce is ignored; a NACK is not answered with the same set', async () => {
    const stream = open();
    stream.call.write({ type_url: SECRET_TYPE_URL, resource_names: ['x.example.com'] });
    await stream.next(1);
    stream.call.write({ type_url: SECRET_TYPE_URL, resource_names: ['x.example.com', 'y.example.com'], response_nonce: 'not-the-latest' });
    await settle();
    expect(stream.responses).toHaveLength(1);
    const nacksBefore = await harness.metric('egress_capture_sds_nacks_total', { api: 'sotw' });
    stream.call.write({ type_url: SECRET_TYPE_URL, version_info: '', resource_names: ['x.example.com'], response_nonce: stream.responses[0]!.nonce, error_detail: { code: 3, message: 'rejected' } });
    await settle();
    expect(stream.responses).toHaveLength(1);
    expect(await harness.metric('egress_capture_sds_nacks_total', { api: 'sotw' })).toBe(nacksBefore + 1);
    stream.call.end();
  });

  test('a reconnect announcing the current version is not sent the set again', async () => {
    const firstStream = open();
    firstStream.call.write({ type_url: SECRET_TYPE_URL, resource_names: ['again.example.com'] });
    await firstStream.next(1);
    firstStream.call.cancel();
    const second = open();
    second.call.write({ type_url: SECRET_TYPE_URL, version_info: firstStream.responses[0]!.version_info, resource_names: ['again.example.com'] });
    await settle();
    expect(second.responses).toHaveLength(0);
    second.call.end();
  });
});
