/**
 * The project's own secret discovery protos (protos/envoy/service/secret,
 * discovery, transport_sockets/tls, google/rpc) are wire-compatible with
 * Envoy's upstream definitions: every message, field and number we declare
 * has the same number, type and label upstream, and what we encode decodes
 * the same on their side and back.
 */
import * as protobuf from 'protobufjs';
import { encodeTlsSecret, SDS_PROTO, SECRET_TYPE_URL } from '../../src/certificates/sds-protocol';
import { declaredTypes, fieldShape, loadRoot, OUR_PROTOS, UPSTREAM_INCLUDES } from '../support/proto-roots';

const SECRET_PROTO = 'envoy/extensions/transport_sockets/tls/v3/secret.proto';

describe('wire compatibility of the SDS protos with Envoy upstream', () => {
  const ours = loadRoot(SDS_PROTO, [OUR_PROTOS]);
  ours.loadSync(SECRET_PROTO, { keepCase: true });
  ours.resolveAll();
  const upstream = loadRoot(SDS_PROTO, UPSTREAM_INCLUDES);
  upstream.loadSync(SECRET_PROTO, { keepCase: true });
  upstream.resolveAll();
  const types = declaredTypes(ours).filter((t) => !t.fullName.startsWith('.envoy.service.ext_proc') && !t.fullName.startsWith('.envoy.extensions.filters'));

  test('our protos declare the discovery, secret and status messages', () => {
    const names = types.map((t) => t.fullName);
    for (const expected of ['DeltaDiscoveryRequest', 'DeltaDiscoveryResponse', 'DiscoveryRequest', 'DiscoveryResponse', 'Resource']) {
      expect(names).toContain(`.envoy.service.discovery.v3.${expected}`);
    }
    expect(names).toContain('.envoy.extensions.transport_sockets.tls.v3.Secret');
  });

  test.each(types.map((t) => [t.fullName, t] as const))('%s matches upstream', (_fullName, ourType) => {
    const theirs = upstream.lookup(ourType.fullName);
    if (ourType instanceof protobuf.Enum) {
      expect(theirs).toBeInstanceOf(protobuf.Enum);
      for (const [name, number] of Object.entries(ourType.values)) expect({ name, number }).toEqual({ name, number: (theirs as protobuf.Enum).values[name] });
      return;
    }
    expect(theirs).toBeInstanceOf(protobuf.Type);
    for (const field of ourType.fieldsArray) {
      const upstreamField = (theirs as protobuf.Type).fieldsById[field.id];
      expect({ number: field.id, ...fieldShape(field) }).toEqual({ number: field.id, ...(upstreamField ? fieldShape(upstreamField) : {}) });
    }
  });

  test('the service and its two streaming methods match', () => {
    const methods = (root: protobuf.Root) => {
      const service = root.lookupService('.envoy.service.secret.v3.SecretDiscoveryService');
      return ['DeltaSecrets', 'StreamSecrets'].map((name) => {
        const m = service.methods[name]!;
        m.resolve();
        return { name, request: m.resolvedRequestType!.fullName, response: m.resolvedResponseType!.fullName, rs: m.requestStream, ss: m.responseStream };
      });
    };
    expect(methods(ours)).toEqual(methods(upstream));
  });

  test('a served Secret decodes upstream as a TlsCertificate with inline bytes', () => {
    const any = encodeTlsSecret('api.openai.com', 'CHAIN', 'KEY');
    expect(any.type_url).toBe(SECRET_TYPE_URL);
    const secret = upstream.lookupType('.envoy.extensions.transport_sockets.tls.v3.Secret');
    expect(secret.toObject(secret.decode(any.value), { bytes: String, defaults: false })).toEqual({
      name: 'api.openai.com',
      tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('CHAIN').toString('base64') }, private_key: { inline_bytes: Buffer.from('KEY').toString('base64') } },
    });
  });

  test('a delta response encodes to the same bytes on both sides', () => {
    const sample = {
      system_version_info: 'ca:team-a/egress-ca',
      resources: [{ name: 'a.example.com', version: 'v1', resource: { type_url: SECRET_TYPE_URL, value: Buffer.from([1, 2, 3]) } }],
      type_url: SECRET_TYPE_URL,
      nonce: '1-1',
      removed_resources: ['bad..name'],
    };
    const encode = (root: protobuf.Root) => {
      const type = root.lookupType('.envoy.service.discovery.v3.DeltaDiscoveryResponse');
      return Buffer.from(type.encode(type.fromObject(sample)).finish()).toString('hex');
    };
    expect(encode(ours)).toBe(encode(upstream));
  });
});
