/**
 * Where and how the OTLP sink exports: resolved once from RuntimeConfig,
 * caller options and the standard OTEL_EXPORTER_OTLP_* variables, so the
 * effective values can be logged and tested without a network.
 *
 * Precedence per setting, the same as every option's (flags > environment >
 * --gateway manifest > defaults): explicit option > signal-specific env
 * (…_LOGS_…) > general env > RuntimeConfig (the gateway's spec.otlp) >
 * the option table's default.
 * The endpoint is never taken from the environment: only the gateway's
 * spec.otlp.endpoint (or an explicit option) turns the export on, so a
 * stray OTEL_EXPORTER_OTLP_ENDPOINT in a developer shell does not start
 * shipping captured traffic somewhere.
 */
import { readFileSync } from 'node:fs';
import { CaptureError } from '../../errors';
/** The configuration the OTLP sink reads: the gateway's spec.otlp and its identity, and the request bounds. */
export interface OtlpConfig {
  otlpEndpoint: string;
  otlpHeaders: Record<string, string>;
  otlpTimeoutMs: number;
  otlpMaxRequestBytes: number;
  gatewayName: string;
  gatewayNamespace: string;
}
import type { OtlpEncoding } from './encoded-size';

export type OtlpCompression = 'gzip' | 'none';

/** Below this a record's fixed attributes alone would not fit. */
export const MIN_MAX_REQUEST_BYTES = 16 * 1024;

export interface OtlpSinkOptions {
  /** Overrides config.otlpEndpoint (a base URL; /v1/logs is appended). */
  endpoint?: string;
  /** Merged over config.otlpHeaders. */
  headers?: Record<string, string>;
  /** Default: OTEL_EXPORTER_OTLP[_LOGS]_PROTOCOL (http/protobuf | http/json), else protobuf. */
  encoding?: OtlpEncoding;
  /** Default: OTEL_EXPORTER_OTLP[_LOGS]_COMPRESSION, else gzip. */
  compression?: OtlpCompression;
  /** Cap on one export request's encoded size before compression. Default config.otlpMaxRequestBytes. */
  maxRequestBytes?: number;
  /** Exporter deadline per export call, its internal retries included. Default OTEL_EXPORTER_OTLP[_LOGS]_TIMEOUT, else config.otlpTimeoutMs. */
  timeoutMs?: number;
  /** Environment to read OTEL_* and POD_* from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

export interface OtlpTlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface OtlpSinkSettings {
  /** The full logs URL (…/v1/logs). */
  url: string;
  headers: Record<string, string>;
  encoding: OtlpEncoding;
  compression: OtlpCompression;
  maxRequestBytes: number;
  timeoutMs: number;
  tls: OtlpTlsFiles;
  gatewayName: string;
  gatewayNamespace: string;
  env: NodeJS.ProcessEnv;
}

/** The export is on when the gateway (or the caller) names an endpoint; storage runs either way. */
export function otlpEnabled(config: Pick<OtlpConfig, 'otlpEndpoint'>): boolean {
  return config.otlpEndpoint.trim() !== '';
}

/**
 * EgressGateway spec.otlp.endpoint is a base URL ("http://collector:4318")
 * and the logs path is appended, the way OTEL_EXPORTER_OTLP_ENDPOINT works;
 * a URL that already ends in /v1/logs is used as it is, so nobody gets
 * /v1/logs/v1/logs.
 */
export function resolveLogsUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTLP endpoint is not a valid URL: '${endpoint}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTLP endpoint must be http:// or https:// (OTLP/HTTP), got '${url.protocol}'`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith('/v1/logs') ? path : `${path}/v1/logs`;
  return url.toString();
}

/**
 * OTEL_EXPORTER_OTLP_HEADERS format: "k1=v1,k2=v2", keys and values
 * URL-encoded (W3C baggage style). Entries without "=" or with an empty key
 * are skipped, as the OpenTelemetry SDKs do.
 */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (text === undefined) return headers;
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = decodeLenient(entry.slice(0, eq).trim());
    const value = decodeLenient(entry.slice(eq + 1).trim());
    if (key !== '') headers[key] = value;
  }
  return headers;
}

function decodeLenient(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const specific = env[`OTEL_EXPORTER_OTLP_LOGS_${name}`]?.trim();
  if (specific !== undefined && specific !== '') return specific;
  const general = env[`OTEL_EXPORTER_OTLP_${name}`]?.trim();
  return general !== undefined && general !== '' ? general : undefined;
}

function encodingFromEnv(env: NodeJS.ProcessEnv): OtlpEncoding | undefined {
  const protocol = envValue(env, 'PROTOCOL');
  if (protocol === undefined) return undefined;
  if (protocol === 'http/protobuf') return 'protobuf';
  if (protocol === 'http/json') return 'json';
  throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTEL_EXPORTER_OTLP_PROTOCOL '${protocol}' is not supported for log export (use http/protobuf or http/json)`);
}

function compressionFromEnv(env: NodeJS.ProcessEnv): OtlpCompression | undefined {
  const value = envValue(env, 'COMPRESSION');
  if (value === undefined) return undefined;
  if (value === 'gzip' || value === 'none') return value;
  throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTEL_EXPORTER_OTLP_COMPRESSION '${value}' is not supported (use gzip or none)`);
}

function timeoutFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const value = envValue(env, 'TIMEOUT');
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms <= 0) throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTEL_EXPORTER_OTLP_TIMEOUT '${value}' is not a positive number of milliseconds`);
  return ms;
}

function readTlsFile(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const file = envValue(env, name);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTEL_EXPORTER_OTLP_${name} '${file}' cannot be read`, { cause: err });
  }
}

export function resolveOtlpSettings(config: OtlpConfig, options: OtlpSinkOptions = {}): OtlpSinkSettings {
  const env = options.env ?? process.env;
  const endpoint = options.endpoint ?? config.otlpEndpoint;
  if (endpoint.trim() === '') throw new CaptureError('CAP_ERR_OTLP_CONFIG', 'OTLP export has no endpoint (check otlpEnabled() before creating the sink)');
  const maxRequestBytes = options.maxRequestBytes ?? config.otlpMaxRequestBytes;
  if (!Number.isInteger(maxRequestBytes) || maxRequestBytes < MIN_MAX_REQUEST_BYTES) {
    throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTLP maxRequestBytes must be an integer >= ${MIN_MAX_REQUEST_BYTES}, got ${maxRequestBytes}`);
  }
  const timeoutMs = options.timeoutMs ?? timeoutFromEnv(env) ?? config.otlpTimeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CaptureError('CAP_ERR_OTLP_CONFIG', `OTLP timeoutMs must be positive, got ${timeoutMs}`);
  // The exporter merges the env headers under ours anyway; resolving them here keeps one visible answer.
  const headers = {
    ...config.otlpHeaders,
    ...parseOtlpHeaders(env['OTEL_EXPORTER_OTLP_HEADERS']),
    ...parseOtlpHeaders(env['OTEL_EXPORTER_OTLP_LOGS_HEADERS']),
    ...options.headers,
  };
  const tls: OtlpTlsFiles = {};
  const ca = readTlsFile(env, 'CERTIFICATE');
  const cert = readTlsFile(env, 'CLIENT_CERTIFICATE');
  const key = readTlsFile(env, 'CLIENT_KEY');
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  return {
    url: resolveLogsUrl(endpoint),
    headers,
    encoding: options.encoding ?? encodingFromEnv(env) ?? 'protobuf',
    // gzip by default: captured bodies are text and compress several-fold, and the endpoint is often across a network boundary.
    compression: options.compression ?? compressionFromEnv(env) ?? 'gzip',
    maxRequestBytes,
    timeoutMs,
    tls,
    gatewayName: config.gatewayName,
    gatewayNamespace: config.gatewayNamespace,
    env,
  };
}

/** Retry-After (delta-seconds or HTTP-date) → milliseconds from `nowMs`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, receivedAtMs: number, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.max(0, receivedAtMs + Number(text) * 1000 - nowMs);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
