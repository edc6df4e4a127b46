/**
 * Every default of the capture service, in one literal. Units are in the
 * names (…Bytes, …Ms). The README's configuration table lists the same values;
 * test/config/defaults.test.ts keeps the two in step.
 */
import { CERT_SDS_PORT } from '../certificates/minter-contract';
import { DEFAULT_CAPTURE_CONTENT_TYPES } from '../gateway/defaults';

export const DEFAULTS = {
  /** gRPC (ext_proc + grpc.health.v1) listener. */
  grpcListen: '0.0.0.0:9002',
  /**
   * Admin HTTP listener: /healthz, /readyz, /metrics, and the data paths (/, /query, /status).
   * Loopback: the data paths answer only with credentials beyond it (README "Security").
   */
  adminListen: '127.0.0.1:9003',
  /** Embedded ClickHouse data directory. */
  dataDir: './data',
  /** Remote ClickHouse URL; empty = use the embedded store. */
  clickhouseUrl: '',
  /** EgressGateway manifest whose spec.otlp.captureBody configures the capture; empty = none. */
  gatewayFile: '',
  /** Body bytes kept per direction (EgressGateway captureBody.maxBytes default: 64 KiB). */
  maxBytes: 65536,
  /** Content types whose bodies are kept (prefix match, case-insensitive, parameters ignored). */
  includeContentTypes: DEFAULT_CAPTURE_CONTENT_TYPES,
  /** Headers whose values are replaced by a redaction marker, added to by --redact-headers. */
  redactHeaders: [
    'authorization',
    'proxy-authorization',
    'cookie',
    'set-cookie',
    'x-api-key',
    'api-key',
    'x-goog-api-key',
    // AWS temporary credentials (Bedrock with an assumed role), and the other common credential headers.
    'x-amz-security-token',
    'x-auth-token',
    'x-access-token',
    'x-api-token',
    'x-vault-token',
    'private-token',
    'ocp-apim-subscription-key',
    'x-functions-key',
  ] as readonly string[],
  /**
   * Query-string parameters whose values are credentials (names compared
   * case-insensitively, percent-decoded): their values become redaction
   * markers in Path and url.full. Values under other names are scanned for
   * the body rules' key shapes.
   */
  credentialQueryParams: [
    'api_key',
    'api-key',
    'apikey',
    'key',
    'token',
    'access_token',
    'id_token',
    'refresh_token',
    'auth_token',
    'client_secret',
    'password',
    'secret',
    'sig',
    'signature',
    'x-amz-security-token',
    'x-amz-signature',
    'x-amz-credential',
    'x-goog-signature',
    'x-goog-credential',
    'awsaccesskeyid',
    'subscription-key',
  ] as readonly string[],
  /**
   * Largest ext_proc message accepted. BUFFERED bodies arrive in one message
   * as large as Envoy's buffer limit (1 MiB by default, often raised to a few
   * MiB); grpc-js's own default of 4 MiB would fail those calls.
   */
  grpcMaxReceiveMessageBytes: 16 * 1024 * 1024,
  /**
   * Node's HTTP/2 rapid-reset guard (nghttp2 defaults: burst 1000, 33/s). Envoy
   * ends every ext_proc call with RST_STREAM, so one busy Envoy connection
   * legitimately sends thousands of resets per second; at the defaults the
   * guard answers with GOAWAY and kills every in-flight call on it.
   */
  http2StreamResetBurst: 1_000_000,
  http2StreamResetRate: 1_000_000,
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of the ext_proc listener, per
   * connection. Envoy's default circuit breaker allows 1,024 concurrent
   * requests to the ext_proc cluster, so one Envoy connection never waits on
   * this; a client that opens more has them queued (or refused) by HTTP/2
   * instead of growing the server's per-stream state without end.
   */
  grpcMaxConcurrentStreams: 1024,
  /**
   * Header and trailer bytes (name + value, after headerValueMaxBytes cuts)
   * kept per exchange, half for each direction. Envoy's own default limit is
   * 60 KiB of request headers; entries past the bound are counted and marked
   * (one x-egress-capture-headers-cut entry) instead of stored.
   */
  headerBytesMaxPerExchange: 128 * 1024,
  /** An ext_proc stream with no message for this long is closed and its exchange stored as idle_timeout. */
  streamIdleTimeoutMs: 15 * 60 * 1000,
  /** Body worker threads (piscina). */
  workerThreads: 1,
  /** Exchanges waiting for a worker before new ones are dropped (and counted). */
  workerQueueMax: 10_000,
  /**
   * How long a worker lane lets tasks gather before it sends a batch, unless
   * workerBatchFullTasks are already waiting. Each batch costs a thread
   * hand-off on both sides (tens of us of CPU); at a few hundred exchanges
   * per second the loop's own turns gave batches of ~5 exchanges, 10 ms gives
   * several times that. Rows land that much later; Envoy's replies never wait
   * on it (they are written before a task is even queued).
   */
  workerBatchWindowMs: 10,
  workerBatchFullTasks: 64,
  /** Batch limits for storage writes: whichever comes first. */
  batchMaxRows: 10_000,
  /**
   * 8 MiB: a batch is concatenated and checksummed on the event loop, so its
   * size is also the longest pause it can cause (~3 ms here); ClickHouse still
   * gets hundreds of rows per insert.
   */
  batchMaxBytes: 8 * 1024 * 1024,
  batchMaxDelayMs: 1000,
  /**
   * Durable spool (<dataDir>/spool) between capture and the sinks. Disk
   * budget for its segment files, bytes: when reached, bodies are dropped
   * first (oldest segments first), then whole oldest segments, each counted.
   */
  spoolMaxBytes: 1024 * 1024 * 1024,
  /** A spool segment is sealed and a new one started past this size, bytes. */
  spoolSegmentBytes: 64 * 1024 * 1024,
  /**
   * In-flight journal (<dataDir>/inflight): a file past this size gets a
   * successor and is deleted once every exchange in it is spooled, bytes. A
   * start-up after a crash reads what is left, so it stays small (a few
   * thousand exchanges).
   */
  inflightJournalRotateBytes: 1024 * 1024,
  /**
   * Spool fsync: appends reach the OS at once (they survive kill -9); one
   * fdatasync covers all appends of this window, ms (what power loss can
   * cost). 0 = fdatasync every append: nothing lost, a disk flush per exchange.
   */
  spoolFsyncIntervalMs: 100,
  /**
   * Sink retry backoff: first delay and cap, ms (±20 % jitter; a sink's
   * Retry-After wins, up to the cap below). The cap is short on purpose: a
   * failed write already spent its own timeout (the OTLP exporter retries
   * inside it), and a retry costs one request — while a long cap delays the
   * recovery after an outage by up to that much.
   */
  sinkRetryInitialMs: 250,
  sinkRetryMaxMs: 5_000,
  sinkRetryAfterMaxMs: 300_000,
  /** On SIGTERM, after the drain: how long the sinks may take to deliver the spool; the rest waits in the spool for the next start, ms. */
  sinkShutdownTimeoutMs: 10_000,
  /** Rows older than this are removed by ClickHouse's TTL; 0 keeps them forever. */
  ttlDays: 30,
  /** On SIGTERM: how long open streams may take to finish before they are stored as 'shutdown'. */
  drainTimeoutMs: 15_000,
  /** Log level (pino): fatal, error, warn, info, debug, trace. */
  logLevel: 'info',
  /**
   * Share of maxBytes (percent) that keeps the END of a body larger than
   * maxBytes; the rest keeps its start, with a marker between saying how many
   * bytes were skipped. The end of an AI stream carries its usage and finish
   * reason; 0 keeps only the start.
   */
  bodyTailPercent: 25,
  /** YAML file of extra provider mappings (authority, pathPrefix, provider, api); empty = built-in rules only. */
  providerMappingFile: '',
  /** Redact secrets (API keys, tokens, passwords) in stored bodies and folded text. */
  bodyRedaction: true,
  /** YAML file {remove: [rule names], add: [{name, pattern, flags}]} adjusting the body redaction rules. */
  bodyRedactionRulesFile: '',
  /** Longest header value kept, bytes; longer ones are cut with a "...[N bytes cut]" marker. */
  headerValueMaxBytes: 16 * 1024,
  /** A kept body is handed to its worker in chunks of about this size while it streams, bytes. */
  shipChunkBytes: 64 * 1024,
  /** Body bytes handed to workers but not yet processed; past it, further body bytes are only counted. */
  processingBacklogMaxBytes: 64 * 1024 * 1024,
  /** Largest single SSE event / JSON document folded, bytes. */
  maxEventBytes: 1024 * 1024,
  /** CA bundle for an https:// ClickHouse URL; empty = the system roots. */
  clickhouseCaFile: '',
  /**
   * Remote store layout (src/sinks/clickhouse/table-layout.ts): the cluster its DDL runs
   * ON CLUSTER ('' = one server), the table engine, ReplicatedMergeTree's Keeper path and
   * replica name (server macros), and a Distributed table in front of the shards.
   */
  clickhouseCluster: '',
  clickhouseEngine: 'MergeTree',
  clickhouseReplicaPath: '/clickhouse/tables/{shard}/{database}/{table}',
  clickhouseReplicaName: '{replica}',
  clickhouseDistributed: false,
  /** The remote schema is managed by hand (`egress-capture schema`): no DDL, only a check of the columns at start. */
  noCreateSchema: false,
  /** ext_proc listener TLS: certificate chain, key and client CA (mTLS) PEM files; empty = plaintext. */
  grpcTlsCertFile: '',
  grpcTlsKeyFile: '',
  grpcTlsClientCaFile: '',
  /** Admin listener TLS: certificate chain and key PEM files; empty = plain HTTP. Re-read when they change. */
  adminTlsCertFile: '',
  adminTlsKeyFile: '',
  /** How often TLS certificate and key files are checked for a rotation, ms. */
  tlsFilePollIntervalMs: 10_000,
  /**
   * Certificate minter (Envoy SDS, for TLS-terminating listeners). Its
   * listener opens only when a CA is configured (caDir or caCertFile): the
   * port the translator's output points Envoy at (src/translator/options.ts).
   */
  sdsListen: `0.0.0.0:${CERT_SDS_PORT}`,
  /** One folder per CA, <namespace>/<name>/ holding tls.crt + tls.key (or ca.crt + ca.key); empty = none. */
  caDir: '',
  /** The CA of streams that name none (and of every stream without caDir); empty = none. */
  caCertFile: '',
  caKeyFile: '',
  /** Leaves kept, least recently used out past it (about 2 KiB each). */
  sdsMaxCerts: 10_000,
  /** Validity of a minted leaf; it is renewed at 2/3 of it. Short: a leaked key is useful only this long. */
  leafValidity: '7d',
  /** SDS listener TLS: certificate chain, key and client CA (mTLS) PEM files; empty = plaintext. */
  sdsTlsCertFile: '',
  sdsTlsKeyFile: '',
  sdsClientCaFile: '',
  /** Admin ClickHouse HTTP interface credentials; an empty user means no authentication (bind to loopback then). */
  adminUser: '',
  adminPassword: '',
  /** The admin ClickHouse HTTP interface is read-only unless this is true. */
  adminAllowWrites: false,
  /**
   * Largest query text the admin ClickHouse interface accepts (URL query plus
   * a POST body that is SQL, after decompression), bytes; checked before any
   * parsing. INSERT data after FORMAT is not query text and is not counted.
   */
  adminQueryMaxBytes: 256 * 1024,
  /**
   * Limits of one admin query, set on its engine session like readonly: a
   * client may ask for less (URL setting, final SETTINGS), never for more or
   * for 0 (= unlimited). Seconds, bytes of engine memory, bytes of result.
   */
  adminMaxExecutionTimeSeconds: 30,
  adminMaxMemoryUsageBytes: 512 * 1024 * 1024,
  adminMaxResultBytes: 64 * 1024 * 1024,
  /**
   * Admin queries running at once; more wait for a slot. chdb runs queries on
   * libuv's pool (4 threads): admin queries never hold all of them, so the
   * capture writer's inserts and the spool's file I/O keep a thread.
   */
  adminMaxConcurrentQueries: 2,
  /**
   * `replay`: how long one batch may keep failing (its attempts and the waits
   * between them) before replay gives up and exits 1, ms; each attempt's own
   * deadline is at most this. `--timeout`.
   */
  replayTimeoutMs: 60_000,
  /** `replay`: retries of a failing batch after its first attempt, at most. `--max-retries`. */
  replayMaxRetries: 5,
  /** `replay`: backoff between the attempts of one batch, ms (±20 % jitter; Retry-After wins up to replayTimeoutMs). */
  replayRetryInitialMs: 500,
  replayRetryMaxMs: 30_000,
} as const;
