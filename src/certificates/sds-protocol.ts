/**
 * Loads the secret discovery protocol (protos/envoy/service/secret/v3) once
 * and encodes the one resource the minter serves, a TLS certificate Secret.
 * Same proto-loader options as ext_proc (src/extproc/wire/protocol.ts): keepCase,
 * absent fields stay undefined. A Secret travels inside google.protobuf.Any,
 * whose bytes grpc-js does not build for us, so it is encoded with protobufjs
 * (the library proto-loader itself parses the files with) from the same
 * .proto files.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import * as path from 'node:path';
import { PROTO_LOADER_OPTIONS, PROTO_ROOT } from '../extproc/wire/protocol';

export const SDS_PROTO = 'envoy/service/secret/v3/sds.proto';
export const SDS_SERVICE = 'envoy.service.secret.v3.SecretDiscoveryService';
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export interface RpcStatus {
  code?: number;
  message?: string;
}
export interface XdsNode {
  id?: string;
  cluster?: string;
}
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: RpcStatus;
}
export interface DiscoveryResponse {
  version_info: string;
  resources: AnyMessage[];
  type_url: string;
  nonce: string;
}
export interface DeltaDiscoveryRequest {
  node?: XdsNode;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus;
}
export interface XdsResource {
  name: string;
  version: string;
  resource: AnyMessage;
}
export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: XdsResource[];
  type_url: string;
  nonce: string;
  removed_resources: string[];
}

export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
export type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

let cachedPackage: protoLoader.PackageDefinition | undefined;
let secretType: protobuf.Type | undefined;

export function sdsServiceDefinition(): grpc.ServiceDefinition {
  cachedPackage ??= protoLoader.loadSync(SDS_PROTO, PROTO_LOADER_OPTIONS);
  return cachedPackage[SDS_SERVICE] as grpc.ServiceDefinition;
}

/** A generic client constructor (the test client and the bench speak through it). */
export function sdsClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(sdsServiceDefinition(), 'SecretDiscoveryService');
}

function loadSecretType(): protobuf.Type {
  if (secretType === undefined) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(PROTO_ROOT, target);
    root.loadSync('envoy/extensions/transport_sockets/tls/v3/secret.proto', { keepCase: true });
    secretType = root.lookupType('envoy.extensions.transport_sockets.tls.v3.Secret');
  }
  return secretType;
}

/** A Secret named `name` holding a PEM chain and key inline, as the bytes of an Any. */
export function encodeTlsSecret(name: string, certificateChainPem: string, privateKeyPem: string): AnyMessage {
  const type = loadSecretType();
  const value = type
    .encode(
      type.fromObject({
        name,
        tls_certificate: {
          certificate_chain: { inline_bytes: Buffer.from(certificateChainPem) },
          private_key: { inline_bytes: Buffer.from(privateKeyPem) },
        },
      }),
    )
    .finish();
  // Copied into a buffer of its own: protobufjs encodes into a shared pool slab, and a cached
  // Secret viewing it would keep the whole 8 KiB slab alive (10,000 leaves: +110 MiB, measured).
  const own = Buffer.allocUnsafeSlow(value.byteLength);
  own.set(value);
  return { type_url: SECRET_TYPE_URL, value: own };
}

/** The decoded Secret (tests and the bench read what the minter served). */
export interface DecodedTlsSecret {
  name: string;
  certificateChain: string;
  privateKey: string;
}

export function decodeTlsSecret(any: AnyMessage): DecodedTlsSecret {
  if (any.type_url !== SECRET_TYPE_URL) throw new Error(`unexpected resource type ${any.type_url}`);
  const message = loadSecretType().toObject(loadSecretType().decode(any.value), { bytes: Buffer }) as {
    name: string;
    tls_certificate: { certificate_chain: { inline_bytes: Buffer }; private_key: { inline_bytes: Buffer } };
  };
  return {
    name: message.name,
    certificateChain: message.tls_certificate.certificate_chain.inline_bytes.toString(),
    privateKey: message.tls_certificate.private_key.inline_bytes.toString(),
  };
}
