/**
 * Builds the RuntimeConfig with the precedence flags > environment >
 * --gateway manifest > defaults, validating every value on the way. All
 * problems are collected and reported together, each naming the field (flag
 * and env twin) and the offending value, so one restart fixes everything.
 */
import * as fs from 'node:fs';
import { BodyRedactor, type BodyRedactorOptions } from '../processing/genai/body-redactor';
import { ProviderDetector, type ProviderMappingEntry } from '../processing/genai/provider-detection';
import { CaptureError, describeError } from '../errors';
import { parseDurationMs } from '../gateway/duration';
import { DEFAULTS } from './defaults';
import type { ListenAddress, RuntimeConfig, UnixSocketAddress } from './runtime-config';

type Source = 'flag' | 'env' | 'gateway';

interface OptionSpec<K extends keyof RuntimeConfig> {
  key: K;
  flag: string;
  env: string;
  help: string;
  parse: (raw: string) => RuntimeConfig[K] | { error: string };
  /** A switch: `--flag` alone means true (the env twin still takes true/false). */
  boolean?: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseListen(raw: string): ListenAddress | { error: string } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw.trim());
  if (!match) return { error: 'expected HOST:PORT' };
  const port = Number(match[3]);
  if (port > 65535) return { error: 'port must be 0-65535' };
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/** HOST:PORT, or `unix:/absolute/path` (gRPC's own spelling) for a Unix domain socket. */
function parseGrpcListen(raw: string): ListenAddress | UnixSocketAddress | { error: string } {
  const trimmed = raw.trim();
  if (!trimmed.startsWith('unix:')) return parseListen(trimmed);
  const unixPath = trimmed.slice('unix:'.length);
  // Relative paths would depend on the working directory; gRPC's unix:///path form is accepted too.
  const normalized = unixPath.startsWith('//') ? unixPath.slice(2) : unixPath;
  if (!normalized.startsWith('/')) return { error: 'expected HOST:PORT or unix:/ABSOLUTE/PATH' };
  return { unixPath: normalized };
}

function integer(min: number, max: number) {
  return (raw: string): number | { error: string } => {
    const trimmed = raw.trim();
    if (!/^\d+$/.test(trimmed)) return { error: `expected a whole number from ${min} to ${max}` };
    const value = Number(trimmed);
    if (value < min || value > max) return { error: `expected a whole number from ${min} to ${max}` };
    return value;
  };
}

function list(raw: string): string[] | { error: string } {
  const items = raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
  return items;
}

function contentTypes(raw: string): string[] | { error: string } {
  const items = list(raw);
  if (Array.isArray(items)) {
    const bad = items.find((item) => !/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+*-]*$/.test(item));
    if (bad !== undefined) return { error: `"${bad}" is not a media type (type/subtype)` };
  }
  return items;
}

function text(raw: string): string {
  return raw.trim();
}

function bool(raw: string): boolean | { error: string } {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return { error: 'expected true or false' };
}

function clickhouseUrl(raw: string): string | { error: string } {
  const trimmed = raw.trim();
  if (trimmed === '') return '';
  try {
    const url = new URL(trimmed);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: 'expected an http:// or https:// URL' };
  } catch {
    return { error: 'not a valid URL' };
  }
  return trimmed;
}

const MiB = 1024 * 1024;

const DAY_MS = 24 * 3600 * 1000;

/** A Go-style duration ("168h", "90m", "30s") or whole days ("7d"), within [min, max] ms. */
function duration(minMs: number, maxMs: number) {
  const expected = `expected a duration such as 7d, 36h, 90m or 30s, from ${minMs / 1000}s to ${maxMs / DAY_MS}d`;
  return (raw: string): number | { error: string } => {
    const trimmed = raw.trim();
    const days = /^(\d+)d$/.exec(trimmed);
    const ms = days ? Number(days[1]) * DAY_MS : parseDurationMs(trimmed);
    if (ms === undefined || ms < minMs || ms > maxMs) return { error: expected };
    return ms;
  };
}

/** Every option: flag name, env twin, help line, parser. Order is the order of --help. */
export const OPTION_SPECS: ReadonlyArray<OptionSpec<keyof RuntimeConfig>> = [
  { key: 'grpcListen', flag: 'grpc-listen', env: 'EGRESS_CAPTURE_GRPC_LISTEN', help: `ext_proc gRPC listener HOST:PORT or unix:/PATH (${DEFAULTS.grpcListen})`, parse: parseGrpcListen },
  { key: 'adminListen', flag: 'admin-listen', env: 'EGRESS_CAPTURE_ADMIN_LISTEN', help: `admin HTTP listener HOST:PORT (${DEFAULTS.adminListen})`, parse: parseListen },
  { key: 'dataDir', flag: 'data-dir', env: 'EGRESS_CAPTURE_DATA_DIR', help: `embedded store directory (${DEFAULTS.dataDir})`, parse: (raw) => (raw.trim() === '' ? { error: 'must not be empty' } : raw.trim()) },
  { key: 'clickhouseUrl', flag: 'clickhouse-url', env: 'EGRESS_CAPTURE_CLICKHOUSE_URL', help: 'remote ClickHouse http(s)://user:password@host:8123/database (default: embedded store)', parse: clickhouseUrl },
  { key: 'gatewayFile', flag: 'gateway', env: 'EGRESS_CAPTURE_GATEWAY', help: 'EgressGateway manifest; spec.otlp.captureBody and spec.otlp configure the capture', parse: text },
  { key: 'maxBytes', flag: 'max-bytes', env: 'EGRESS_CAPTURE_MAX_BYTES', help: `body bytes kept per direction (${DEFAULTS.maxBytes})`, parse: integer(0, 64 * MiB) },
  { key: 'includeContentTypes', flag: 'include-content-types', env: 'EGRESS_CAPTURE_INCLUDE_CONTENT_TYPES', help: `comma-separated content types whose bodies are kept (${DEFAULTS.includeContentTypes.join(',')})`, parse: contentTypes },
  { key: 'redactHeaders', flag: 'redact-headers', env: 'EGRESS_CAPTURE_REDACT_HEADERS', help: 'comma-separated extra header names to redact (added to the built-in list)', parse: list },
  { key: 'grpcMaxReceiveMessageBytes', flag: 'grpc-max-receive-bytes', env: 'EGRESS_CAPTURE_GRPC_MAX_RECEIVE_BYTES', help: `largest ext_proc message accepted (${DEFAULTS.grpcMaxReceiveMessageBytes})`, parse: integer(4 * MiB, 1024 * MiB) },
  { key: 'grpcTlsCertFile', flag: 'grpc-tls-cert-file', env: 'EGRESS_CAPTURE_GRPC_TLS_CERT_FILE', help: 'PEM certificate chain: serve ext_proc over TLS, with --grpc-tls-key-file (default: plaintext)', parse: text },
  { key: 'grpcTlsKeyFile', flag: 'grpc-tls-key-file', env: 'EGRESS_CAPTURE_GRPC_TLS_KEY_FILE', help: 'PEM private key of --grpc-tls-cert-file', parse: text },
  { key: 'grpcTlsClientCaFile', flag: 'grpc-tls-client-ca-file', env: 'EGRESS_CAPTURE_GRPC_TLS_CLIENT_CA_FILE', help: 'PEM CA bundle: require ext_proc clients (Envoy) to present a certificate it signed (mTLS)', parse: text },
  { key: 'sdsListen', flag: 'sds-listen', env: 'EGRESS_CAPTURE_SDS_LISTEN', help: `certificate minter (Envoy SDS) listener HOST:PORT, opened when a CA is configured (${DEFAULTS.sdsListen})`, parse: parseListen },
  { key: 'caDir', flag: 'ca-dir', env: 'EGRESS_CAPTURE_CA_DIR', help: 'folder of CAs for TLS interception: <namespace>/<name>/tls.crt+tls.key (or ca.crt+ca.key), picked per gateway listener', parse: text },
  { key: 'caCertFile', flag: 'ca-cert', env: 'EGRESS_CAPTURE_CA_CERT', help: 'PEM CA certificate signing leaves for listeners that name no CA (all of them without --ca-dir), with --ca-key', parse: text },
  { key: 'caKeyFile', flag: 'ca-key', env: 'EGRESS_CAPTURE_CA_KEY', help: 'PEM private key of --ca-cert', parse: text },
  { key: 'sdsMaxCerts', flag: 'sds-max-certs', env: 'EGRESS_CAPTURE_SDS_MAX_CERTS', help: `minted leaves kept in memory, least recently used out (${DEFAULTS.sdsMaxCerts})`, parse: integer(1, 1_000_000) },
  { key: 'leafValidityMs', flag: 'leaf-validity', env: 'EGRESS_CAPTURE_LEAF_VALIDITY', help: `validity of a minted leaf, renewed at 2/3 of it (${DEFAULTS.leafValidity})`, parse: duration(2000, 397 * DAY_MS) },
  { key: 'sdsTlsCertFile', flag: 'sds-tls-cert', env: 'EGRESS_CAPTURE_SDS_TLS_CERT', help: 'PEM certificate chain: serve SDS over TLS, with --sds-tls-key (default: plaintext)', parse: text },
  { key: 'sdsTlsKeyFile', flag: 'sds-tls-key', env: 'EGRESS_CAPTURE_SDS_TLS_KEY', help: 'PEM private key of --sds-tls-cert', parse: text },
  { key: 'sdsClientCaFile', flag: 'sds-client-ca', env: 'EGRESS_CAPTURE_SDS_CLIENT_CA', help: 'PEM CA bundle: require SDS clients (Envoy) to present a certificate it signed (mTLS)', parse: text },
  { key: 'streamIdleTimeoutMs', flag: 'stream-idle-timeout-ms', env: 'EGRESS_CAPTURE_STREAM_IDLE_TIMEOUT_MS', help: `close an ext_proc stream silent this long (${DEFAULTS.streamIdleTimeoutMs})`, parse: integer(1000, 24 * 3600 * 1000) },
  { key: 'workerThreads', flag: 'worker-threads', env: 'EGRESS_CAPTURE_WORKER_THREADS', help: `body worker threads (${DEFAULTS.workerThreads})`, parse: integer(1, 64) },
  { key: 'batchMaxRows', flag: 'batch-max-rows', env: 'EGRESS_CAPTURE_BATCH_MAX_ROWS', help: `rows per storage write, at most (${DEFAULTS.batchMaxRows})`, parse: integer(1, 1_000_000) },
  { key: 'batchMaxDelayMs', flag: 'batch-max-delay-ms', env: 'EGRESS_CAPTURE_BATCH_MAX_DELAY_MS', help: `longest a row waits for its batch (${DEFAULTS.batchMaxDelayMs})`, parse: integer(10, 60_000) },
  { key: 'spoolMaxBytes', flag: 'spool-max-bytes', env: 'EGRESS_CAPTURE_SPOOL_MAX_BYTES', help: `disk budget of the spool in <data-dir>/spool; bodies are dropped first, then oldest records (${DEFAULTS.spoolMaxBytes})`, parse: integer(1024 * 1024, 2 ** 50) },
  { key: 'spoolSegmentBytes', flag: 'spool-segment-bytes', env: 'EGRESS_CAPTURE_SPOOL_SEGMENT_BYTES', help: `spool segment file size (${DEFAULTS.spoolSegmentBytes})`, parse: integer(64 * 1024, 1024 * MiB) },
  { key: 'spoolFsyncIntervalMs', flag: 'spool-fsync-interval-ms', env: 'EGRESS_CAPTURE_SPOOL_FSYNC_INTERVAL_MS', help: `one spool fsync per this many ms at most; 0 = every append (${DEFAULTS.spoolFsyncIntervalMs})`, parse: integer(0, 60_000) },
  { key: 'sinkShutdownTimeoutMs', flag: 'sink-shutdown-timeout-ms', env: 'EGRESS_CAPTURE_SINK_SHUTDOWN_TIMEOUT_MS', help: `on SIGTERM, time the sinks get to empty the spool; the rest stays for the next start (${DEFAULTS.sinkShutdownTimeoutMs})`, parse: integer(0, 600_000) },
  { key: 'ttlDays', flag: 'ttl-days', env: 'EGRESS_CAPTURE_TTL_DAYS', help: `days rows are kept, 0 = forever (${DEFAULTS.ttlDays})`, parse: integer(0, 36500) },
  { key: 'drainTimeoutMs', flag: 'drain-timeout-ms', env: 'EGRESS_CAPTURE_DRAIN_TIMEOUT_MS', help: `on SIGTERM, wait this long for open streams (${DEFAULTS.drainTimeoutMs})`, parse: integer(0, 600_000) },
  { key: 'clickhouseCaFile', flag: 'clickhouse-ca-file', env: 'EGRESS_CAPTURE_CLICKHOUSE_CA_FILE', help: 'PEM CA bundle to trust for an https:// --clickhouse-url (default: system roots)', parse: text },
  { key: 'adminUser', flag: 'admin-user', env: 'EGRESS_CAPTURE_ADMIN_USER', help: 'user the admin ClickHouse HTTP interface requires, with --admin-password (default: none, no authentication)', parse: text },
  { key: 'adminTlsCertFile', flag: 'admin-tls-cert-file', env: 'EGRESS_CAPTURE_ADMIN_TLS_CERT_FILE', help: 'PEM certificate chain: serve the admin port over HTTPS, with --admin-tls-key-file; re-read when it changes (default: HTTP)', parse: text },
  { key: 'adminTlsKeyFile', flag: 'admin-tls-key-file', env: 'EGRESS_CAPTURE_ADMIN_TLS_KEY_FILE', help: 'PEM private key of --admin-tls-cert-file', parse: text },
  { key: 'adminPassword', flag: 'admin-password', env: 'EGRESS_CAPTURE_ADMIN_PASSWORD', help: 'password for --admin-user, required with it (prefer the env twin: flags show in ps)', parse: (raw) => raw },
  { key: 'adminAllowWrites', flag: 'admin-allow-writes', env: 'EGRESS_CAPTURE_ADMIN_ALLOW_WRITES', help: 'let the admin ClickHouse HTTP interface run INSERT and DDL (default: read-only)', parse: bool, boolean: true },
  { key: 'adminMaxExecutionTimeSeconds', flag: 'admin-max-execution-time', env: 'EGRESS_CAPTURE_ADMIN_MAX_EXECUTION_TIME', help: `seconds one admin query may run, at most (${DEFAULTS.adminMaxExecutionTimeSeconds})`, parse: integer(1, 86_400) },
  { key: 'adminMaxMemoryUsageBytes', flag: 'admin-max-memory-usage', env: 'EGRESS_CAPTURE_ADMIN_MAX_MEMORY_USAGE', help: `engine memory one admin query may use, bytes (${DEFAULTS.adminMaxMemoryUsageBytes})`, parse: integer(MiB, 2 ** 40) },
  { key: 'adminMaxResultBytes', flag: 'admin-max-result-bytes', env: 'EGRESS_CAPTURE_ADMIN_MAX_RESULT_BYTES', help: `largest admin query result, bytes (${DEFAULTS.adminMaxResultBytes})`, parse: integer(1024, 2 ** 40) },
  { key: 'adminMaxConcurrentQueries', flag: 'admin-max-concurrent-queries', env: 'EGRESS_CAPTURE_ADMIN_MAX_CONCURRENT_QUERIES', help: `admin queries running at once; more wait (${DEFAULTS.adminMaxConcurrentQueries})`, parse: integer(1, 3) },
  { key: 'logLevel', flag: 'log-level', env: 'EGRESS_CAPTURE_LOG_LEVEL', help: `log level: ${LOG_LEVELS.join(', ')} (${DEFAULTS.logLevel})`, parse: (raw) => (LOG_LEVELS.includes(raw.trim()) ? raw.trim() : { error: `not one of ${LOG_LEVELS.join(', ')}` }) },
  { key: 'bodyTailPercent', flag: 'body-tail-percent', env: 'EGRESS_CAPTURE_BODY_TAIL_PERCENT', help: `share of --max-bytes that keeps the end of a longer body, 0-90 (${DEFAULTS.bodyTailPercent})`, parse: integer(0, 90) },
  { key: 'providerMappingFile', flag: 'provider-mapping', env: 'EGRESS_CAPTURE_PROVIDER_MAPPING', help: 'path of a YAML file: a list of {authority, pathPrefix, provider, api} declaring AI endpoints beyond the built-in ones', parse: text },
  { key: 'bodyRedaction', flag: 'body-redaction', env: 'EGRESS_CAPTURE_BODY_REDACTION', help: `redact secrets in stored bodies: true or false (${DEFAULTS.bodyRedaction})`, parse: bool },
  { key: 'bodyRedactionRulesFile', flag: 'body-redaction-rules', env: 'EGRESS_CAPTURE_BODY_REDACTION_RULES', help: 'path of a YAML file {remove: [rule], add: [{name, pattern, flags}]} adjusting the body redaction rules', parse: text },
];

export function defaultConfig(): RuntimeConfig {
  return {
    grpcListen: parseListen(DEFAULTS.grpcListen) as ListenAddress,
    adminListen: parseListen(DEFAULTS.adminListen) as ListenAddress,
    dataDir: DEFAULTS.dataDir,
    clickhouseUrl: DEFAULTS.clickhouseUrl,
    gatewayFile: DEFAULTS.gatewayFile,
    gatewayName: '',
    gatewayNamespace: '',
    maxBytes: DEFAULTS.maxBytes,
    includeContentTypes: [...DEFAULTS.includeContentTypes],
    redactHeaders: [...DEFAULTS.redactHeaders],
    grpcMaxReceiveMessageBytes: DEFAULTS.grpcMaxReceiveMessageBytes,
    http2StreamResetBurst: DEFAULTS.http2StreamResetBurst,
    http2StreamResetRate: DEFAULTS.http2StreamResetRate,
    streamIdleTimeoutMs: DEFAULTS.streamIdleTimeoutMs,
    workerThreads: DEFAULTS.workerThreads,
    workerQueueMax: DEFAULTS.workerQueueMax,
    batchMaxRows: DEFAULTS.batchMaxRows,
    batchMaxBytes: DEFAULTS.batchMaxBytes,
    batchMaxDelayMs: DEFAULTS.batchMaxDelayMs,
    spoolMaxBytes: DEFAULTS.spoolMaxBytes,
    spoolSegmentBytes: DEFAULTS.spoolSegmentBytes,
    spoolFsyncIntervalMs: DEFAULTS.spoolFsyncIntervalMs,
    sinkShutdownTimeoutMs: DEFAULTS.sinkShutdownTimeoutMs,
    ttlDays: DEFAULTS.ttlDays,
    drainTimeoutMs: DEFAULTS.drainTimeoutMs,
    logLevel: DEFAULTS.logLevel,
    bodyTailPercent: DEFAULTS.bodyTailPercent,
    providerMappingFile: DEFAULTS.providerMappingFile,
    providerMapping: [],
    bodyRedaction: DEFAULTS.bodyRedaction,
    bodyRedactionRulesFile: DEFAULTS.bodyRedactionRulesFile,
    bodyRedactionRules: {},
    shipChunkBytes: DEFAULTS.shipChunkBytes,
    processingBacklogMaxBytes: DEFAULTS.processingBacklogMaxBytes,
    maxEventBytes: DEFAULTS.maxEventBytes,
    clickhouseCaFile: DEFAULTS.clickhouseCaFile,
    grpcTlsCertFile: DEFAULTS.grpcTlsCertFile,
    grpcTlsKeyFile: DEFAULTS.grpcTlsKeyFile,
    grpcTlsClientCaFile: DEFAULTS.grpcTlsClientCaFile,
    adminTlsCertFile: DEFAULTS.adminTlsCertFile,
    adminTlsKeyFile: DEFAULTS.adminTlsKeyFile,
    sdsListen: parseListen(DEFAULTS.sdsListen) as ListenAddress,
    caDir: DEFAULTS.caDir,
    caCertFile: DEFAULTS.caCertFile,
    caKeyFile: DEFAULTS.caKeyFile,
    sdsMaxCerts: DEFAULTS.sdsMaxCerts,
    leafValidityMs: (duration(0, Infinity)(DEFAULTS.leafValidity) as number),
    sdsTlsCertFile: DEFAULTS.sdsTlsCertFile,
    sdsTlsKeyFile: DEFAULTS.sdsTlsKeyFile,
    sdsClientCaFile: DEFAULTS.sdsClientCaFile,
    adminUser: DEFAULTS.adminUser,
    adminPassword: DEFAULTS.adminPassword,
    adminAllowWrites: DEFAULTS.adminAllowWrites,
    adminMaxExecutionTimeSeconds: DEFAULTS.adminMaxExecutionTimeSeconds,
    adminMaxMemoryUsageBytes: DEFAULTS.adminMaxMemoryUsageBytes,
    adminMaxResultBytes: DEFAULTS.adminMaxResultBytes,
    adminMaxConcurrentQueries: DEFAULTS.adminMaxConcurrentQueries,
    otlpEndpoint: '',
    otlpHeaders: {},
  };
}

/** Settings a gateway manifest contributes (below env and flags in precedence). */
export interface GatewayContribution {
  gatewayName: string;
  gatewayNamespace: string;
  maxBytes: number;
  includeContentTypes: string[];
  otlpEndpoint: string;
  otlpHeaders: Record<string, string>;
}

export type GatewayLoader = (file: string) => GatewayContribution;

export interface LoadConfigInput {
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Reads and validates the --gateway manifest; throws CaptureError with `problems` when invalid. */
  loadGateway?: GatewayLoader;
}

/**
 * Returns the validated configuration or throws CaptureError
 * CAP_ERR_CONFIG_INVALID whose message lists every problem, one per line.
 */
export function loadConfig(input: LoadConfigInput): RuntimeConfig {
  const problems: string[] = [];
  const flagValues = readFlags(input.argv, problems);

  const config = defaultConfig();
  const explicit = new Map<keyof RuntimeConfig, Source>();

  const apply = (spec: OptionSpec<keyof RuntimeConfig>, raw: string, source: Source): void => {
    const result = spec.parse(raw);
    if (result !== null && typeof result === 'object' && 'error' in result) {
      const where = source === 'flag' ? `--${spec.flag}` : `${spec.env} (env)`;
      problems.push(`${where}: "${raw}" ${result.error}`);
      return;
    }
    (config as unknown as Record<string, unknown>)[spec.key] = result;
    explicit.set(spec.key, source);
  };

  // Env first, flags second: the later write wins, which gives flags > env.
  for (const spec of OPTION_SPECS) {
    const raw = input.env[spec.env];
    if (raw !== undefined && raw !== '') apply(spec, raw, 'env');
  }
  for (const spec of OPTION_SPECS) {
    const raw = flagValues[spec.flag];
    if (raw !== undefined) apply(spec, String(raw), 'flag');
  }

  checkAdminCredentials(config, explicit, problems);
  checkTlsFiles({ cert: ['grpc-tls-cert-file', config.grpcTlsCertFile], key: ['grpc-tls-key-file', config.grpcTlsKeyFile], clientCa: ['grpc-tls-client-ca-file', config.grpcTlsClientCaFile] }, problems);
  checkTlsFiles({ cert: ['admin-tls-cert-file', config.adminTlsCertFile], key: ['admin-tls-key-file', config.adminTlsKeyFile] }, problems);
  checkTlsFiles({ cert: ['sds-tls-cert', config.sdsTlsCertFile], key: ['sds-tls-key', config.sdsTlsKeyFile], clientCa: ['sds-client-ca', config.sdsClientCaFile] }, problems);
  checkCaSources(config, problems);

  // Extra redacted headers add to the built-in list rather than replace it.
  if (explicit.has('redactHeaders')) {
    config.redactHeaders = [...new Set([...DEFAULTS.redactHeaders, ...config.redactHeaders])];
  }

  if (config.gatewayFile !== '') {
    if (!input.loadGateway) {
      problems.push(`--gateway: "${config.gatewayFile}" cannot be read: no gateway loader available`);
    } else {
      try {
        const gateway = input.loadGateway(config.gatewayFile);
        config.gatewayName = gateway.gatewayName;
        config.gatewayNamespace = gateway.gatewayNamespace;
        if (!explicit.has('maxBytes')) config.maxBytes = gateway.maxBytes;
        if (!explicit.has('includeContentTypes')) config.includeContentTypes = gateway.includeContentTypes.map((t) => t.toLowerCase());
        config.otlpEndpoint = gateway.otlpEndpoint;
        config.otlpHeaders = gateway.otlpHeaders;
      } catch (err) {
        if (err instanceof CaptureError && err.problems.length > 0) {
          for (const problem of err.problems) problems.push(`--gateway ${config.gatewayFile}: ${problem}`);
        } else {
          problems.push(`--gateway: "${config.gatewayFile}" ${describeError(err)}`);
        }
      }
    }
  }

  loadGenAiFiles(config, problems);

  if (problems.length > 0) {
    throw new CaptureError('CAP_ERR_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  return config;
}

/**
 * The flags as raw strings, by flag name; a later repeat wins. A string
 * option takes the next argument whatever it starts with (`--max-bytes -5`
 * is a bad number, reported by its parser with the range, not an
 * "ambiguous" argument); a switch stands alone or takes `=VALUE`. Every
 * problem names the flag, the value and the expected form.
 */
function readFlags(argv: string[], problems: string[]): Record<string, string> {
  const specs = new Map(OPTION_SPECS.map((spec) => [spec.flag, spec]));
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (match === null) {
      const previous = i > 0 ? specs.get(argv[i - 1]!.replace(/^--/, '')) : undefined;
      problems.push(
        previous?.boolean === true
          ? `--${previous.flag}: "${arg}" unexpected: a switch, expected --${previous.flag} alone or --${previous.flag}=true|false`
          : `"${arg}": unexpected argument, expected --OPTION VALUE (see egress-capture serve --help)`,
      );
      continue;
    }
    const [, name, inline] = match as unknown as [string, string, string | undefined];
    const spec = specs.get(name);
    if (spec === undefined) {
      problems.push(`--${name}: unknown option (see egress-capture serve --help)`);
      // Its value, if it had one, is not a second problem.
      if (inline === undefined && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) i++;
      continue;
    }
    if (spec.boolean === true) {
      values[name] = inline ?? 'true';
    } else if (inline !== undefined) {
      values[name] = inline;
    } else if (i + 1 < argv.length) {
      values[name] = argv[++i]!;
    } else {
      problems.push(`--${name}: value expected: ${spec.help}`);
    }
  }
  return values;
}

/**
 * The admin port asks for credentials only when a user is set, so a password
 * alone would silently leave it open (and a user alone would accept an empty
 * password): either half without the other is refused. The password's value
 * is never echoed.
 */
function checkAdminCredentials(config: RuntimeConfig, explicit: Map<keyof RuntimeConfig, Source>, problems: string[]): void {
  const spec = (key: 'adminUser' | 'adminPassword'): OptionSpec<keyof RuntimeConfig> => OPTION_SPECS.find((candidate) => candidate.key === key)!;
  const named = (key: 'adminUser' | 'adminPassword'): string => (explicit.get(key) === 'env' ? `${spec(key).env} (env)` : `--${spec(key).flag}`);
  const both = (key: 'adminUser' | 'adminPassword'): string => `--${spec(key).flag} (${spec(key).env})`;
  if (config.adminPassword !== '' && config.adminUser === '') {
    problems.push(`${named('adminPassword')}: "(hidden)" expected together with ${both('adminUser')}: without a user the admin port asks for no credentials at all`);
  }
  if (config.adminUser !== '' && config.adminPassword === '') {
    problems.push(`${named('adminUser')}: "${config.adminUser}" expected together with ${both('adminPassword')}: a user without a password would be accepted with an empty one`);
  }
}

/** A listener's TLS files as [flag, path] ('' = not given). */
interface TlsFiles {
  cert: readonly [string, string];
  key: readonly [string, string];
  clientCa?: readonly [string, string];
}

/**
 * A listener's TLS files (ext_proc, admin, SDS): certificate and key
 * together, a client CA only with them, and each one readable now rather
 * than at bind time.
 */
function checkTlsFiles(files: TlsFiles, problems: string[]): void {
  const { cert, key, clientCa } = files;
  if ((cert[1] === '') !== (key[1] === '')) {
    const [given, missing] = cert[1] === '' ? [key, cert] : [cert, key];
    problems.push(`--${given[0]}: "${given[1]}" expected together with --${missing[0]}`);
  }
  if (clientCa !== undefined && clientCa[1] !== '' && cert[1] === '') {
    problems.push(`--${clientCa[0]}: "${clientCa[1]}" needs --${cert[0]} and --${key[0]}: client certificates are asked for over TLS only`);
  }
  checkReadable(problems, [cert, key, ...(clientCa === undefined ? [] : [clientCa])]);
}

function checkReadable(problems: string[], files: ReadonlyArray<readonly [string, string]>): void {
  for (const [flag, file] of files) {
    if (file === '') continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      problems.push(`--${flag}: "${file}" cannot be read (${(err as NodeJS.ErrnoException).code ?? describeError(err)})`);
    }
  }
}

/**
 * The certificate minter's CA sources: the default pair together, a CA folder
 * that exists. What is inside them is checked when they load (and re-checked
 * on every change), each problem naming its file.
 */
function checkCaSources(config: RuntimeConfig, problems: string[]): void {
  if ((config.caCertFile === '') !== (config.caKeyFile === '')) {
    const [given, missing] = config.caCertFile === '' ? [['ca-key', config.caKeyFile], ['ca-cert']] : [['ca-cert', config.caCertFile], ['ca-key']];
    problems.push(`--${given[0]}: "${given[1]}" expected together with --${missing[0]}`);
  }
  checkReadable(problems, [
    ['ca-cert', config.caCertFile],
    ['ca-key', config.caKeyFile],
  ]);
  if (config.caDir !== '') {
    let isDirectory = false;
    try {
      isDirectory = fs.statSync(config.caDir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDirectory) problems.push(`--ca-dir: "${config.caDir}" is not a readable directory (expected one folder per CA: <namespace>/<name>/tls.crt and tls.key)`);
  }
}

/**
 * Reads the provider mapping and redaction rule files and validates them with
 * the same classes the workers use, so a bad entry stops start-up with its
 * field and value named instead of failing inside a worker.
 */
function loadGenAiFiles(config: RuntimeConfig, problems: string[]): void {
  const readYaml = (flag: string, file: string): unknown => {
    try {
      // yaml is loaded only when one of these files is given.
      return (require('yaml') as typeof import('yaml')).parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`--${flag}: "${file}" ${describeError(err)}`);
      return undefined;
    }
  };
  const reportGenAi = (flag: string, file: string, err: unknown): void => {
    if (err instanceof CaptureError && err.problems.length > 0) for (const problem of err.problems) problems.push(`--${flag} ${file}: ${problem}`);
    else problems.push(`--${flag} ${file}: ${describeError(err)}`);
  };
  if (config.providerMappingFile !== '') {
    const parsed = readYaml('provider-mapping', config.providerMappingFile);
    if (parsed !== undefined) {
      if (!Array.isArray(parsed)) {
        problems.push(`--provider-mapping ${config.providerMappingFile}: expected a YAML list of {authority, pathPrefix, provider, api}`);
      } else {
        try {
          new ProviderDetector(parsed as ProviderMappingEntry[]);
          config.providerMapping = parsed as ProviderMappingEntry[];
        } catch (err) {
          reportGenAi('provider-mapping', config.providerMappingFile, err);
        }
      }
    }
  }
  if (config.bodyRedactionRulesFile !== '') {
    const parsed = readYaml('body-redaction-rules', config.bodyRedactionRulesFile);
    if (parsed !== undefined) {
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push(`--body-redaction-rules ${config.bodyRedactionRulesFile}: expected a YAML mapping {remove: [...], add: [...]}`);
      } else {
        try {
          new BodyRedactor(parsed as BodyRedactorOptions);
          config.bodyRedactionRules = parsed as BodyRedactorOptions;
        } catch (err) {
          reportGenAi('body-redaction-rules', config.bodyRedactionRulesFile, err);
        }
      }
    }
  }
}

export function formatListen(address: ListenAddress | UnixSocketAddress): string {
  if ('unixPath' in address) return `unix:${address.unixPath}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
