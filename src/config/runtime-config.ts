/**
 * The capture service's runtime configuration: plain values, no Kubernetes
 * or Envoy types. Defaults and units: src/config/defaults.ts.
 */
import type { BodyRedactorOptions } from '../processing/redaction/body-redactor';
import type { ProviderMappingEntry } from '../processing/genai/provider-detection';
import type { TableEngine } from '../sinks/clickhouse/table-layout';

export interface ListenAddress {
  host: string;
  port: number;
}

/** A Unix domain socket, for an ext_proc server running as a sidecar beside Envoy. */
export interface UnixSocketAddress {
  unixPath: string;
}

export interface RuntimeConfig {
  grpcListen: ListenAddress | UnixSocketAddress;
  adminListen: ListenAddress;
  dataDir: string;
  /** '' = embedded store. */
  clickhouseUrl: string;
  /** PEM CA bundle trusted for an https:// clickhouseUrl ('' = the system roots). */
  clickhouseCaFile: string;
  /** Remote store layout: cluster ('' = none), engine, replica path and name, Distributed table. */
  clickhouseCluster: string;
  clickhouseEngine: TableEngine;
  clickhouseReplicaPath: string;
  clickhouseReplicaName: string;
  clickhouseDistributed: boolean;
  /** Run no DDL on the remote store; check at start that the table has every column written. */
  noCreateSchema: boolean;
  /** PEM certificate chain and key of the ext_proc listener ('' = plaintext gRPC). */
  grpcTlsCertFile: string;
  grpcTlsKeyFile: string;
  /** PEM CA bundle client certificates must chain to ('' = no client certificate asked; needs the two above). */
  grpcTlsClientCaFile: string;
  /** PEM certificate chain and key of the admin listener ('' = plain HTTP); re-read when the files change. */
  adminTlsCertFile: string;
  adminTlsKeyFile: string;
  /** Certificate minter (SDS) listener; opened only when caDir or caCertFile is set. */
  sdsListen: ListenAddress;
  /** Folder of CA folders, `<namespace>/<name>/` ('' = none). */
  caDir: string;
  /** Default CA certificate and key PEM files ('' = none). */
  caCertFile: string;
  caKeyFile: string;
  /** Minted leaves kept in the cache, at most. */
  sdsMaxCerts: number;
  /** Validity of a minted leaf, ms. */
  leafValidityMs: number;
  /** PEM certificate chain and key of the SDS listener ('' = plaintext gRPC), and the client CA for mTLS. */
  sdsTlsCertFile: string;
  sdsTlsKeyFile: string;
  sdsClientCaFile: string;
  gatewayFile: string;
  /** Gateway identity from --gateway ('' when none). */
  gatewayName: string;
  gatewayNamespace: string;
  maxBytes: number;
  /** Lower-cased media-type prefixes. */
  includeContentTypes: string[];
  /** Lower-cased header names. */
  redactHeaders: string[];
  grpcMaxReceiveMessageBytes: number;
  http2StreamResetBurst: number;
  http2StreamResetRate: number;
  streamIdleTimeoutMs: number;
  workerThreads: number;
  workerQueueMax: number;
  batchMaxRows: number;
  batchMaxBytes: number;
  batchMaxDelayMs: number;
  spoolMaxBytes: number;
  spoolSegmentBytes: number;
  spoolFsyncIntervalMs: number;
  sinkShutdownTimeoutMs: number;
  ttlDays: number;
  drainTimeoutMs: number;
  logLevel: string;
  bodyTailPercent: number;
  providerMappingFile: string;
  /** Parsed from providerMappingFile (validated at load). */
  providerMapping: ProviderMappingEntry[];
  bodyRedaction: boolean;
  bodyRedactionRulesFile: string;
  /** Parsed from bodyRedactionRulesFile (validated at load). */
  bodyRedactionRules: BodyRedactorOptions;
  shipChunkBytes: number;
  processingBacklogMaxBytes: number;
  maxEventBytes: number;
  /** Credentials the admin port's ClickHouse HTTP interface requires ('' user = no authentication). */
  adminUser: string;
  adminPassword: string;
  /** Let the admin port's ClickHouse HTTP interface run INSERT and DDL (read-only otherwise). */
  adminAllowWrites: boolean;
  /** Limits every admin query runs under (a client may lower them, never lift them). */
  adminMaxExecutionTimeSeconds: number;
  adminMaxMemoryUsageBytes: number;
  adminMaxResultBytes: number;
  /** Admin queries running at once; the rest wait for a slot. */
  adminMaxConcurrentQueries: number;
  /** OTLP settings from the gateway manifest, kept for the export sink. */
  otlpEndpoint: string;
  otlpHeaders: Record<string, string>;
}
