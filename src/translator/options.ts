// Translator settings that are not part of the input resources, with their defaults.
import type { CertMinterTls } from './cert-minter-tls';
import type { LockdownOptions } from './lockdown';

export type TranslateTarget = 'envoy-gateway' | 'envoy';

export interface CaptureServiceRef {
  namespace: string;
  name: string;
  /** gRPC ext_proc port of the capture service. */
  port: number;
}

/**
 * TLS from Envoy to the capture service's ext_proc port (serve's
 * --grpc-tls-cert-file/--grpc-tls-key-file, and --grpc-tls-client-ca-file for
 * mTLS). Each target names the material the way it is deployed: Kubernetes
 * objects in the gateway's namespace for Envoy Gateway, mounted files for the
 * standalone bootstrap. Absent = plaintext gRPC.
 */
export interface CaptureTls {
  /** envoy-gateway: ConfigMap (key ca.crt) with the CA that signed the capture service's certificate. */
  caConfigMap?: string;
  /** envoy-gateway: kubernetes.io/tls Secret with Envoy's client certificate (mTLS). */
  clientSecret?: string;
  /** envoy: PEM file with that CA. */
  caFile?: string;
  /** envoy: directory holding Envoy's client tls.crt and tls.key (a mounted kubernetes.io/tls Secret). */
  clientCertDir?: string;
  /** Name the capture service's certificate carries: sent as SNI and checked. Default: see captureServerName(). */
  serverName?: string;
}

import type { CapturePolicy } from '../policy/capture-policy';

export interface TranslateOptions {
  target: TranslateTarget;
  captureService: CaptureServiceRef;
  captureTls?: CaptureTls;
  /** mTLS from Envoy to the certificate minter; absent = plaintext. */
  certMinterTls?: CertMinterTls;
  /** --lockdown: emit NetworkPolicies that deny direct egress (Envoy Gateway target only). */
  lockdown?: LockdownOptions;
  /**
   * --capture-policy: the capture service's policy (its text, validated), for the rules Envoy can
   * apply itself (policy-routes.ts) and, for Envoy Gateway, the capture service's ConfigMap.
   */
  capturePolicy?: { text: string; policy: CapturePolicy };
}

/** The name Envoy expects in the capture service's certificate: the one given, else the name it dials. */
export function captureServerName(options: TranslateOptions): string {
  const { captureService, captureTls, target } = options;
  if (captureTls?.serverName !== undefined) return captureTls.serverName;
  return target === 'envoy' ? captureService.name : `${captureService.name}.${captureService.namespace}.svc`;
}

/** Where deploy/ installs the capture service. */
export const DEFAULT_CAPTURE_SERVICE: CaptureServiceRef = { namespace: 'egress-capture', name: 'egress-capture', port: 9002 };

/**
 * Port of the certificate-minting SDS server that TLS-terminating listeners fetch per-SNI
 * leaves from. It is expected next to the capture service (same host, this port).
 */
export { CERT_SDS_PORT } from '../certificates/minter-contract';

/**
 * ext_proc streams Envoy may hold open to the capture service at once (its circuit breaker's
 * parallel and pending requests). Every HTTP exchange through a captured listener is one stream,
 * held until the exchange ends (plus the 5 s deferred close in observability mode), so Envoy's
 * default of 1,024 is reached at a few hundred requests per second and every exchange past it
 * goes uncaptured. Envoy opens more HTTP/2 connections when the service's 1,024 streams per
 * connection are taken; an open stream costs the service ~20 KiB (docs/scaling.md).
 */
export const CAPTURE_MAX_PARALLEL_STREAMS = 65_536;

/**
 * Requests the standalone bootstrap's dynamic forward proxy clusters may hold in flight (their
 * circuit breaker's connections, parallel and pending requests). Every destination of the
 * gateway goes through one of these two clusters, so Envoy's per-cluster default of 1,024 would
 * cap the whole gateway's egress at 1,024 requests in flight (long AI answers reach that at a
 * few hundred requests per second), below what the capture cluster is allowed. One exchange is
 * one upstream request and one capture stream: both get the same bound. (Envoy Gateway gives
 * each Backend a cluster of its own, with its own breaker, which BackendTrafficPolicy sets.)
 */
export const EGRESS_MAX_PARALLEL_REQUESTS = CAPTURE_MAX_PARALLEL_STREAMS;

/** Upstream connect timeout for every generated route, in seconds (Envoy Gateway's default). */
export const CONNECT_TIMEOUT_SECONDS = 10;

/** Shortest proxy drain we ask Envoy Gateway for, in milliseconds (its own default). */
export const MIN_DRAIN_TIMEOUT_MS = 60_000;

/** Envoy Gateway's minDrainDuration default, in seconds. */
export const MIN_DRAIN_DURATION_SECONDS = 10;

/** TLS handshake bound on terminating listeners while a leaf is fetched, in seconds. */
export const TLS_HANDSHAKE_TIMEOUT_SECONDS = 10;

export function defaultTranslateOptions(): TranslateOptions {
  return { target: 'envoy-gateway', captureService: { ...DEFAULT_CAPTURE_SERVICE } };
}

/** Parse "NS/NAME:PORT"; undefined when malformed. */
export function parseCaptureServiceRef(text: string): CaptureServiceRef | undefined {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?):([0-9]{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[5]);
  if (port < 1 || port > 65535) return undefined;
  return { namespace: match[1], name: match[3], port };
}
