/**
 * Loads the project's ext_proc protocol definitions (protos/) once and exposes
 * the gRPC service definition plus the TypeScript shapes the rest of the code
 * uses. proto-loader options are chosen for the hot path:
 * - `bytes` stay Buffers (no base64 round trip);
 * - enums stay numbers (cheap compares; names live in `BodySendMode` below);
 * - `oneofs: true` adds a virtual field naming the set member, so a message is
 *   dispatched with one switch instead of probing six fields;
 * - `defaults: false` keeps absent fields undefined, which is how we tell
 *   "Envoy did not send protocol_config" from "sent with NONE".
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', '..', 'protos');
export const EXT_PROC_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';
export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
/** The key Envoy uses in ProcessingRequest.attributes, whatever the filter instance is called. */
export const EXT_PROC_ATTRIBUTES_KEY = 'envoy.filters.http.ext_proc';

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** Envoy's ProcessingMode.BodySendMode values. */
export const BodySendMode = {
  NONE: 0,
  STREAMED: 1,
  BUFFERED: 2,
  BUFFERED_PARTIAL: 3,
  FULL_DUPLEX_STREAMED: 4,
  GRPC: 5,
} as const;
export type BodySendModeValue = (typeof BodySendMode)[keyof typeof BodySendMode];

export interface HeaderValue {
  key?: string;
  value?: string;
  raw_value?: Buffer;
}
export interface HeaderMap {
  headers?: HeaderValue[];
}
export interface HttpHeaders {
  headers?: HeaderMap;
  end_of_stream?: boolean;
}
export interface HttpBody {
  body?: Buffer;
  end_of_stream?: boolean;
}
export interface HttpTrailers {
  trailers?: HeaderMap;
}
/**
 * google.protobuf.Struct as proto-loader decodes it. protobufjs ships the
 * well-known types with camelCase field names, so `keepCase` does not apply
 * to them: a Value is `{ stringValue: "x", kind: "stringValue" }`, not
 * `string_value`. Senders must use the same names.
 */
/** google.protobuf.Any as proto-loader renders it. */
export interface ProtoAny {
  type_url?: string;
  value?: Buffer;
}

/** envoy.config.core.v3.Metadata: forwarded dynamic metadata, untyped and typed. */
export interface ProtoMetadata {
  filter_metadata?: Record<string, ProtoStruct>;
  typed_filter_metadata?: Record<string, ProtoAny>;
}

export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}
export interface ProtoValue {
  kind?: 'nullValue' | 'numberValue' | 'stringValue' | 'boolValue' | 'structValue' | 'listValue';
  nullValue?: number | string;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
}
export interface ProtocolConfiguration {
  request_body_mode?: number;
  response_body_mode?: number;
  send_body_without_waiting_for_header_response?: boolean;
}

export type ProcessingRequestPart = 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers';

export interface ProcessingRequest {
  request?: ProcessingRequestPart;
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  request_trailers?: HttpTrailers;
  response_trailers?: HttpTrailers;
  metadata_context?: ProtoMetadata;
  attributes?: Record<string, ProtoStruct>;
  observability_mode?: boolean;
  protocol_config?: ProtocolConfiguration;
}

export type ProcessingResponsePart = 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers' | 'immediate_response';

export interface StreamedBodyResponse {
  body?: Buffer;
  end_of_stream?: boolean;
}
export interface CommonResponse {
  status?: number;
  body_mutation?: { streamed_response?: StreamedBodyResponse; body?: Buffer; clear_body?: boolean };
}
export interface ProcessingResponse {
  response?: ProcessingResponsePart;
  request_headers?: { response?: CommonResponse };
  response_headers?: { response?: CommonResponse };
  request_body?: { response?: CommonResponse };
  response_body?: { response?: CommonResponse };
  request_trailers?: Record<string, never>;
  response_trailers?: Record<string, never>;
  immediate_response?: { details?: string };
  /** Body modes from here on (only in a request headers reply, only honoured with allow_mode_override). */
  mode_override?: { request_body_mode?: number; response_body_mode?: number; response_header_mode?: number };
}

let cachedPackage: protoLoader.PackageDefinition | undefined;

/** The parsed ext_proc package definition (parsed once per process). */
export function loadExtProcPackageDefinition(): protoLoader.PackageDefinition {
  cachedPackage ??= protoLoader.loadSync(EXT_PROC_PROTO, PROTO_LOADER_OPTIONS);
  return cachedPackage;
}

/** The grpc-js service definition for ExternalProcessor (server and client side). */
export function extProcServiceDefinition(): grpc.ServiceDefinition {
  return loadExtProcPackageDefinition()[EXT_PROC_SERVICE] as grpc.ServiceDefinition;
}

/** A generic grpc-js client constructor for ExternalProcessor (used by the emulator and the bench). */
export function extProcClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(extProcServiceDefinition(), 'ExternalProcessor');
}
