/**
 * The one table of the capture service's options. An entry is the whole
 * option: its key in RuntimeConfig, its default (the unit is in the key:
 * …Bytes, …Ms, …Seconds, …Days, …Percent), its flag (the environment variable
 * is derived from it), its parser and a one-line doc. RuntimeConfig's type,
 * the defaults, `serve --help` and the README's option table come from here
 * (test/config/readme-consistency.test.ts compares the README's names and
 * values with it). Entries without a flag are tuning values the code reads
 * from the configuration like any other; their comments say why they are
 * what they are.
 *
 * Adding an option: one entry here, and its use where the configuration is
 * handed to the part that needs it.
 */
import { CAPTURE_POLICY_BESIDE_GATEWAY } from '../policy/policy-source';
import { EXT_PROC_STREAMS_PER_CONNECTION } from '../extproc/stream-limits';
import { CERT_SDS_PORT } from '../certificates/minter-contract';
import { DEFAULT_CAPTURE_CONTENT_TYPES, DEFAULT_CAPTURE_MAX_BYTES } from '../gateway/defaults';
import { TABLE_ENGINES, type TableEngine } from '../sinks/clickhouse/table-layout';
import { formatListen, type ListenAddress, type UnixSocketAddress } from '../listen-address';
import {
  DAY_MS,
  KiB,
  MiB,
  MINUTE_MS,
  bool,
  contentTypes,
  duration,
  formatDuration,
  integer,
  list,
  nonEmptyText,
  oneOf,
  parseGrpcListen,
  parseListen,
  text,
  verbatim,
  type Parsed,
  clusterName,
  clickhouseUrl,
} from './option-parsers';

/** An option a user sets with a flag or its environment variable. */
export interface FlagOption<T> {
  default: T;
  /** `serve --NAME`; the environment variable is EGRESS_CAPTURE_ + NAME in upper snake case. */
  flag: string;
  parse: (raw: string) => Parsed<T>;
  /** Writes a value the way the flag takes it (default: String). */
  format?: (value: T) => string;
  /** One line for --help, without the default. */
  doc: string;
  /** What the empty default means, shown instead of it: "(embedded)"; without it: "—". */
  unset?: string;
  /** A switch: `--flag` alone means true (the environment variable still takes true/false). */
  switch?: boolean;
}

/** A tuning value with no flag. */
export interface FixedOption<T> {
  default: T;
  doc: string;
}

export type OptionSpec<T> = FlagOption<T> | FixedOption<T>;

const option = <T>(spec: FlagOption<T>): FlagOption<T> => spec;
const fixed = <T>(defaultValue: T, doc: string): FixedOption<T> => ({ default: defaultValue, doc });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Headers whose values are always replaced by a redaction marker;
 * --redact-headers adds to them.
 */
export const BUILT_IN_REDACT_HEADERS: readonly string[] = [
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
];

const listen = (value: ListenAddress | UnixSocketAddress): string => formatListen(value);
const joined = (value: readonly string[]): string => value.join(',');

/** In --help order. */
export const OPTIONS = {
  grpcListen: option<ListenAddress | UnixSocketAddress>({
    default: { host: '0.0.0.0', port: 9002 },
    flag: 'grpc-listen',
    parse: parseGrpcListen,
    format: listen,
    doc: 'ext_proc gRPC listener HOST:PORT or unix:/PATH',
  }),
  /** Loopback: the data paths answer only with credentials beyond it (README "Security"). */
  adminListen: option<ListenAddress>({ default: { host: '127.0.0.1', port: 9003 }, flag: 'admin-listen', parse: parseListen, format: listen, doc: 'admin HTTP listener HOST:PORT' }),
  dataDir: option({ default: './data', flag: 'data-dir', parse: nonEmptyText, doc: 'embedded store directory' }),
  clickhouseUrl: option({ default: '', flag: 'clickhouse-url', parse: clickhouseUrl, unset: 'embedded', doc: 'remote ClickHouse http(s)://user:password@host:8123/database' }),
  gatewayFile: option({ default: '', flag: 'gateway', parse: text, doc: 'EgressGateway manifest; spec.otlp.captureBody and spec.otlp configure the capture' }),
  /** The EgressGateway API's own default for captureBody.maxBytes: no manifest and a manifest without it mean the same. */
  maxBytes: option({ default: DEFAULT_CAPTURE_MAX_BYTES, flag: 'max-bytes', parse: integer(0, 64 * MiB), doc: 'body bytes kept per direction' }),
  /** Prefix match, case-insensitive, parameters ignored; the EgressGateway API's default list. */
  includeContentTypes: option<string[]>({
    default: [...DEFAULT_CAPTURE_CONTENT_TYPES],
    flag: 'include-content-types',
    parse: contentTypes,
    format: joined,
    doc: 'comma-separated content types whose bodies are kept',
  }),
  /** Added to BUILT_IN_REDACT_HEADERS (RuntimeConfig.redactHeaders is both). */
  extraRedactHeaders: option<string[]>({ default: [], flag: 'redact-headers', parse: list, format: joined, doc: 'comma-separated extra header names to redact (added to the built-in list)' }),
  /**
   * BUFFERED bodies arrive in one message as large as Envoy's buffer limit
   * (1 MiB by default, often raised to a few MiB); grpc-js's own default of
   * 4 MiB would fail those calls.
   */
  grpcMaxReceiveMessageBytes: option({ default: 16 * MiB, flag: 'grpc-max-receive-bytes', parse: integer(4 * MiB, 1024 * MiB), doc: 'largest ext_proc message accepted' }),
  grpcTlsCertFile: option({ default: '', flag: 'grpc-tls-cert-file', parse: text, unset: 'plaintext', doc: 'PEM certificate chain: serve ext_proc over TLS, with --grpc-tls-key-file' }),
  grpcTlsKeyFile: option({ default: '', flag: 'grpc-tls-key-file', parse: text, unset: 'plaintext', doc: 'PEM private key of --grpc-tls-cert-file' }),
  grpcTlsClientCaFile: option({ default: '', flag: 'grpc-tls-client-ca-file', parse: text, doc: 'PEM CA bundle: require ext_proc clients (Envoy) to present a certificate it signed (mTLS)' }),
  /** The port the translator's output points Envoy at (src/translator/options.ts). */
  sdsListen: option<ListenAddress>({
    default: { host: '0.0.0.0', port: CERT_SDS_PORT },
    flag: 'sds-listen',
    parse: parseListen,
    format: listen,
    doc: 'certificate minter (Envoy SDS) listener HOST:PORT, opened when a CA is configured',
  }),
  caDir: option({ default: '', flag: 'ca-dir', parse: text, doc: 'folder of CAs for TLS interception: <namespace>/<name>/tls.crt+tls.key (or ca.crt+ca.key), picked per gateway listener' }),
  caCertFile: option({ default: '', flag: 'ca-cert', parse: text, doc: 'PEM CA certificate signing leaves for listeners that name no CA (all of them without --ca-dir), with --ca-key' }),
  caKeyFile: option({ default: '', flag: 'ca-key', parse: text, doc: 'PEM private key of --ca-cert' }),
  /** About 2 KiB each. */
  sdsMaxCerts: option({ default: 10_000, flag: 'sds-max-certs', parse: integer(1, 1_000_000), doc: 'minted leaves kept in memory, least recently used out' }),
  /** Short: a leaked key is useful only this long. */
  leafValidityMs: option({ default: 7 * DAY_MS, flag: 'leaf-validity', parse: duration(2000, 397 * DAY_MS), format: formatDuration, doc: 'validity of a minted leaf, renewed at 2/3 of it' }),
  sdsTlsCertFile: option({ default: '', flag: 'sds-tls-cert', parse: text, unset: 'plaintext', doc: 'PEM certificate chain: serve SDS over TLS, with --sds-tls-key' }),
  sdsTlsKeyFile: option({ default: '', flag: 'sds-tls-key', parse: text, unset: 'plaintext', doc: 'PEM private key of --sds-tls-cert' }),
  sdsClientCaFile: option({ default: '', flag: 'sds-client-ca', parse: text, doc: 'PEM CA bundle: require SDS clients (Envoy) to present a certificate it signed (mTLS)' }),
  streamIdleTimeoutMs: option({ default: 15 * MINUTE_MS, flag: 'stream-idle-timeout-ms', parse: integer(1000, DAY_MS), doc: 'close an ext_proc stream silent this long (stored as idle_timeout)' }),
  workerThreads: option({ default: 1, flag: 'worker-threads', parse: integer(1, 64), doc: 'body worker threads' }),
  batchMaxRows: option({ default: 10_000, flag: 'batch-max-rows', parse: integer(1, 1_000_000), doc: 'rows per storage write, at most' }),
  batchMaxDelayMs: option({ default: 1000, flag: 'batch-max-delay-ms', parse: integer(10, 60_000), doc: 'longest a row waits for its batch' }),
  /** When reached, bodies are dropped first (oldest segments first), then whole oldest segments, each counted. */
  spoolMaxBytes: option({
    default: 1024 * MiB,
    flag: 'spool-max-bytes',
    parse: integer(MiB, 2 ** 50),
    doc: 'disk budget of the spool in <data-dir>/spool; bodies are dropped first, then oldest records',
  }),
  spoolSegmentBytes: option({ default: 64 * MiB, flag: 'spool-segment-bytes', parse: integer(64 * KiB, 1024 * MiB), doc: 'spool segment file size' }),
  /**
   * Appends reach the OS at once (they survive kill -9); one fdatasync covers
   * all appends of this window (what power loss can cost).
   */
  spoolFsyncIntervalMs: option({ default: 100, flag: 'spool-fsync-interval-ms', parse: integer(0, 60_000), doc: 'one spool fsync at most per this interval; 0 = every append' }),
  sinkShutdownTimeoutMs: option({
    default: 10_000,
    flag: 'sink-shutdown-timeout-ms',
    parse: integer(0, 600_000),
    doc: 'on SIGTERM, time the sinks get to empty the spool; the rest stays for the next start',
  }),
  ttlDays: option({ default: 30, flag: 'ttl-days', parse: integer(0, 36500), doc: 'days rows are kept, 0 = forever' }),
  /**
   * Kubernetes removes a stopping pod from its Service at the same time as it
   * sends SIGTERM, and Envoy learns of it a moment later: calls that arrive in
   * between would be refused and their exchanges go uncaptured. The manifests
   * set 5000.
   */
  shutdownDelayMs: option({
    default: 0,
    flag: 'shutdown-delay-ms',
    parse: integer(0, 60_000),
    doc: 'on SIGTERM, keep taking new ext_proc calls this long (health says NOT_SERVING) before draining',
  }),
  drainTimeoutMs: option({ default: 15_000, flag: 'drain-timeout-ms', parse: integer(0, 600_000), doc: 'on SIGTERM, wait this long for open streams' }),
  clickhouseCaFile: option({ default: '', flag: 'clickhouse-ca-file', parse: text, unset: 'system roots', doc: 'PEM CA bundle to trust for an https:// --clickhouse-url' }),
  /**
   * Remote store layout (sinks/clickhouse/table-layout.ts): the cluster its DDL runs ON CLUSTER,
   * the table engine, ReplicatedMergeTree's Keeper path and replica name (server macros), and a
   * Distributed table in front of the shards. `egress-capture schema` takes the same options.
   */
  clickhouseCluster: option({ default: '', flag: 'clickhouse-cluster', parse: clusterName, unset: 'one server', doc: 'cluster of the remote store: its DDL runs ON CLUSTER' }),
  clickhouseEngine: option<TableEngine>({ default: 'MergeTree', flag: 'clickhouse-engine', parse: oneOf(TABLE_ENGINES), doc: `table engine of the remote store: ${TABLE_ENGINES.join(', ')}` }),
  clickhouseReplicaPath: option({
    default: '/clickhouse/tables/{shard}/{database}/{table}',
    flag: 'clickhouse-replica-path',
    parse: nonEmptyText,
    doc: 'ReplicatedMergeTree Keeper path, server macros allowed',
  }),
  clickhouseReplicaName: option({ default: '{replica}', flag: 'clickhouse-replica-name', parse: nonEmptyText, doc: 'ReplicatedMergeTree replica name, server macros allowed' }),
  clickhouseDistributed: option({
    default: false,
    flag: 'clickhouse-distributed',
    parse: bool,
    switch: true,
    doc: 'write and read through a Distributed table over --clickhouse-cluster (data in http_exchanges_local on each shard)',
  }),
  /** The remote schema is managed by hand (`egress-capture schema`): no DDL, only a check of the columns at start. */
  noCreateSchema: option({
    default: false,
    flag: 'no-create-schema',
    parse: bool,
    switch: true,
    doc: 'run no DDL on the remote store (a schema applied by hand, see `egress-capture schema`); only check its columns at start',
  }),
  adminUser: option({ default: '', flag: 'admin-user', parse: text, unset: 'no auth', doc: 'user the admin ClickHouse HTTP interface requires, with --admin-password' }),
  adminTlsCertFile: option({
    default: '',
    flag: 'admin-tls-cert-file',
    parse: text,
    unset: 'HTTP',
    doc: 'PEM certificate chain: serve the admin port over HTTPS, with --admin-tls-key-file; re-read when it changes',
  }),
  adminTlsKeyFile: option({ default: '', flag: 'admin-tls-key-file', parse: text, unset: 'HTTP', doc: 'PEM private key of --admin-tls-cert-file' }),
  adminPassword: option({ default: '', flag: 'admin-password', parse: verbatim, unset: 'no auth', doc: 'password for --admin-user, required with it (prefer the env twin: flags show in ps)' }),
  adminAllowWrites: option({ default: false, flag: 'admin-allow-writes', parse: bool, switch: true, doc: 'let the admin ClickHouse HTTP interface run INSERT and DDL (read-only otherwise)' }),
  /**
   * Limits of one admin query, set on its engine session like readonly: a
   * client may ask for less (URL setting, final SETTINGS), never for more or
   * for 0 (= unlimited).
   */
  adminMaxExecutionTimeSeconds: option({ default: 30, flag: 'admin-max-execution-time', parse: integer(1, 86_400), doc: 'seconds one admin query may run, at most' }),
  adminMaxMemoryUsageBytes: option({ default: 512 * MiB, flag: 'admin-max-memory-usage', parse: integer(MiB, 2 ** 40), doc: 'engine memory one admin query may use' }),
  /**
   * The embedded engine's own ceiling (ClickHouse max_server_memory_usage):
   * past it an insert or query fails instead of growing the process; a failed
   * insert stays in the spool and is retried. It must leave room for
   * --admin-max-memory-usage plus the capture's inserts and merges (tens of
   * MiB with the table settings below).
   */
  storeMaxMemoryBytes: option({ default: 2 * 1024 * MiB, flag: 'store-max-memory', parse: integer(256 * MiB, 2 ** 40), doc: 'memory the embedded ClickHouse may hold in all, bytes' }),
  adminMaxResultBytes: option({ default: 64 * MiB, flag: 'admin-max-result-bytes', parse: integer(KiB, 2 ** 40), doc: 'largest admin query result' }),
  /**
   * chdb runs queries on libuv's pool (4 threads): admin queries never hold
   * all of them, so the capture writer's inserts and the spool's file I/O
   * keep a thread.
   */
  adminMaxConcurrentQueries: option({ default: 2, flag: 'admin-max-concurrent-queries', parse: integer(1, 3), doc: 'admin queries running at once; more wait' }),
  /** A bound on waiting queries: each holds a socket and its request until it runs. */
  adminMaxQueuedQueries: option({
    default: 32,
    flag: 'admin-max-queued-queries',
    parse: integer(0, 10_000),
    doc: 'admin queries waiting for a slot; more are refused at once with ClickHouse error 202 (HTTP 503)',
  }),
  logLevel: option<string>({ default: 'info', flag: 'log-level', parse: oneOf(LOG_LEVELS), doc: `log level: ${LOG_LEVELS.join(', ')}` }),
  /**
   * The end of an AI stream carries its usage and finish reason; the rest of
   * maxBytes keeps the body's start, with a marker between saying how many
   * bytes were skipped.
   */
  bodyTailPercent: option({ default: 25, flag: 'body-tail-percent', parse: integer(0, 90), doc: 'share of --max-bytes that keeps the end of a longer body, 0-90' }),
  providerMappingFile: option({
    default: '',
    flag: 'provider-mapping',
    parse: text,
    doc: 'path of a YAML file: a list of {authority, pathPrefix, provider, api} declaring AI endpoints beyond the built-in ones',
  }),
  capturePolicyFile: option({
    default: '',
    flag: 'capture-policy',
    parse: text,
    doc: `path of a YAML capture policy (levels full, headers, usage, none per upstream, route and workload; README "Capture policy"); default: ${CAPTURE_POLICY_BESIDE_GATEWAY} beside the --gateway manifest when there is one, else everything in full`,
  }),
  bodyRedaction: option({ default: true, flag: 'body-redaction', parse: bool, doc: 'redact secrets in stored bodies and folded text: true or false' }),
  bodyRedactionRulesFile: option({
    default: '',
    flag: 'body-redaction-rules',
    parse: text,
    doc: 'path of a YAML file {remove: [rule], add: [{name, pattern, flags}]} adjusting the body redaction rules',
  }),

  // Tuning values without a flag.

  /**
   * Node's HTTP/2 rapid-reset guard (nghttp2 defaults: burst 1000, 33/s). Envoy
   * ends every ext_proc call with RST_STREAM, so one busy Envoy connection
   * legitimately sends thousands of resets per second; at the defaults the
   * guard answers with GOAWAY and kills every in-flight call on it.
   */
  http2StreamResetBurst: fixed(1_000_000, 'HTTP/2 resets a connection may send at once'),
  http2StreamResetRate: fixed(1_000_000, 'HTTP/2 resets a connection may send per second'),
  /** Shared with the translator's Envoy configuration (src/extproc/stream-limits.ts). */
  grpcMaxConcurrentStreams: fixed(EXT_PROC_STREAMS_PER_CONNECTION, 'HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS of the ext_proc listener, per connection'),
  /**
   * Envoy's own default limit is 60 KiB of request headers; entries past the
   * bound are counted and marked (one x-egress-capture-headers-cut entry)
   * instead of stored.
   */
  headerBytesMaxPerExchange: fixed(128 * KiB, 'header and trailer bytes (name + value, after headerValueMaxBytes cuts) kept per exchange, half per direction'),
  headerValueMaxBytes: fixed(16 * KiB, 'longest header value kept, bytes; longer ones are cut with a "...[N bytes cut]" marker'),
  /**
   * V8 sizes a young generation (where per-message objects are born and most
   * die) from the machine's memory: on a 24 GiB machine the body worker's
   * reached ~100 MiB, resident once touched. Since a worker takes its queue
   * in batches of workerBatchFullTasks, little of what it allocates survives
   * a scavenge, and a 24 MiB cap costs no measurable CPU: in four alternating
   * h2load runs the worker thread spent 305 against 318 us per exchange
   * (capped against V8's sizing) and the peak RSS was ~25-40 MiB lower.
   * 0 leaves it to V8.
   *
   * The event loop's young generation can only be set by a Node flag at
   * start: the image's ENTRYPOINT runs `node --max-semi-space-size=8`
   * (deploy/Dockerfile; the bench starts the service the same way), which
   * took ~115 MiB off the h2load peak (718 against 832 MiB over four
   * alternating runs) for an event loop CPU of 280 against 279 us.
   */
  workerYoungGenerationMiB: option({
    default: 24,
    flag: 'worker-young-generation-mib',
    parse: integer(0, 1024),
    doc: 'V8 young generation of each body worker, MiB; 0 leaves it to V8 (~100 MiB on a large host)',
  }),
  /** Why and how: src/service/background-priority.ts. */
  backgroundNice: option({
    default: 10,
    flag: 'background-nice',
    parse: integer(0, 19),
    doc: "nice value of the embedded store's threads and libuv's pool, so their bursts never delay Envoy's replies; 0 leaves them at the process's",
  }),
  backgroundRescanMs: fixed(5_000, 'how often threads started since are looked for and lowered in priority, ms'),
  workerQueueMax: fixed(10_000, 'exchanges waiting for a worker before new ones are dropped (and counted)'),
  /**
   * Each batch costs a thread hand-off on both sides (tens of us of CPU); at a
   * few hundred exchanges per second the loop's own turns gave batches of ~5
   * exchanges, 10 ms gives several times that. Rows land that much later;
   * Envoy's replies never wait on it (they are written before a task is even
   * queued).
   */
  workerBatchWindowMs: fixed(10, 'how long a worker lane lets tasks gather before it sends a batch, ms'),
  workerBatchFullTasks: fixed(64, 'tasks per worker batch, at most; that many queued make a batch go at once, without waiting for the window'),
  /** Worker state whose exchange never finished is dropped after 2 × streamIdleTimeoutMs plus this. */
  workerStateGraceMs: fixed(MINUTE_MS, 'grace beyond two idle timeouts before a worker forgets an unfinished exchange, ms'),
  /**
   * The embedded engine's caches, sized for one process that mostly writes
   * (chdb's defaults assume a whole server: 5 GiB each). They fill only as
   * admin queries read parts, so they cost nothing at start.
   */
  storeMarkCacheBytes: fixed(64 * MiB, "embedded ClickHouse's mark cache, bytes"),
  storePrimaryIndexCacheBytes: fixed(32 * MiB, "embedded ClickHouse's primary index cache, bytes"),
  storeIndexMarkCacheBytes: fixed(16 * MiB, "embedded ClickHouse's skip-index mark cache, bytes"),
  storeQueryConditionCacheBytes: fixed(8 * MiB, "embedded ClickHouse's query condition cache, bytes"),
  /** Bodies compress well and are read rarely: decompressed blocks are not worth keeping. */
  storeUncompressedCacheBytes: fixed(0, "embedded ClickHouse's uncompressed block cache, bytes"),
  /**
   * Parts smaller than this are written "compact" (all columns in one file)
   * instead of "wide" (two or three files per column stream). A wide part's
   * writer holds about 2 MiB of buffers per stream, and the table has ~130
   * streams (LowCardinality and Map columns have several), so every insert
   * of one batch took 300-370 MiB and every merge up to 460 MiB (measured
   * with system.metrics MemoryTracking under the bench's h2load runs). A
   * compact writer holds the batch's columns once: inserts and merges stay
   * under ~100 MiB, and the insert CPU is no higher. Merges into a part past
   * this size write it wide, with the vertical algorithm (one column at a
   * time) below.
   *
   * The size is the parts' uncompressed bytes, and the first merges already
   * pass 256 MiB with large bodies (20 inserts of 1,300 rows of 14 KiB are
   * 360 MiB). Merging such 20 parts into one (text-like bodies, 5 runs each)
   * cost 71-135 us per row as a vertical merge into a wide part and 58-97 as
   * a horizontal merge into a compact one (most of the gap is kernel time), for
   * 2% more bytes on disk and ~6% more merge memory (system.merges: 389
   * against 366 MiB). Memory does not grow with the part here: a merge holds
   * a granule (at most index_granularity_bytes) from each part it reads,
   * whichever the format, so it grows with the number of parts merged.
   */
  storeMinBytesForWidePart: fixed(1024 * MiB, 'embedded table parts smaller than this are written compact, bytes'),
  /**
   * The largest granule (the rows read and merged as one unit) in
   * uncompressed bytes; ClickHouse's default is 10 MiB. A merge holds a
   * granule of every part it reads, and merge_selector_base lets a merge
   * read ~20 parts, so with the bench's 14 KiB rows a granule was ~730 rows
   * and a merge's buffers passed 200 MiB, mapped by the engine's merge and
   * insert threads and part of the "unattributed" memory at the peaks.
   * At 1 MiB (~70 of those rows) the h2load peak fell from 874-890 to
   * 748-769 MiB in alternating runs (three runs of 20,000 acknowledged
   * exchanges each) for the same CPU per exchange (416-431 against
   * 418-433 us); at the bench's 64 KiB scaling point from 959 to 676 MiB.
   * The price is in merges of large rows: +6-8 us per 14 KiB row (inserts
   * alone unchanged, 2.5 KiB rows unchanged), ~+4% of a 64 KiB exchange;
   * and over a million stored rows the capture browser's facets and 24-hour
   * charts read more marks (p95 111 against 64 ms and 200 against 123 ms,
   * within their targets) while its lists got faster. The 8,192 rows of
   * index_granularity stay the cap for rows under 128 bytes. The engine
   * fixes it when it creates the table:
   * a table an earlier version created keeps its own (README, "Memory").
   */
  storeIndexGranularityBytes: fixed(MiB, 'largest granule of the embedded table (index_granularity_bytes), bytes; applies to a table created from then on'),
  /** A merge that writes a wide part does so one column at a time, so its buffers are those of one column, not of all. */
  storeVerticalMergeMinRows: fixed(1, 'rows from which a merge into a wide part uses the vertical algorithm'),
  /**
   * A batch is concatenated and checksummed on the event loop, so its size is
   * also the longest pause it can cause (~3 ms here); ClickHouse still gets
   * hundreds of rows per insert.
   */
  batchMaxBytes: fixed(8 * MiB, 'bytes per storage write, at most'),
  /**
   * A start-up after a crash reads what is left of the in-flight journal
   * (<dataDir>/inflight), so it stays small (a few thousand exchanges).
   */
  inflightJournalRotateBytes: fixed(MiB, 'in-flight journal file size past which a successor is started, bytes'),
  /**
   * The cap is short on purpose: a failed write already spent its own timeout
   * (the OTLP exporter retries inside it), and a retry costs one request —
   * while a long cap delays the recovery after an outage by up to that much.
   * ±20 % jitter; a sink's Retry-After wins, up to sinkRetryAfterMaxMs.
   */
  sinkRetryInitialMs: fixed(250, 'first delay before a failed sink write is retried, ms'),
  sinkRetryMaxMs: fixed(5_000, 'longest delay between sink write retries, ms'),
  sinkRetryAfterMaxMs: fixed(300_000, "longest Retry-After a sink's answer may ask for, ms"),
  shipChunkBytes: fixed(64 * KiB, 'a kept body is handed to its worker in chunks of about this size while it streams, bytes'),
  processingBacklogMaxBytes: fixed(64 * MiB, 'body bytes handed to workers but not yet processed; past it, further body bytes are only counted'),
  maxEventBytes: fixed(MiB, 'largest single SSE event / JSON document folded, bytes'),
  /** Real tool-call arguments are a few hundred bytes; a folded row stays readable. */
  toolArgsMaxBytes: fixed(16 * KiB, 'arguments kept per folded tool call (and never more than maxBytes), bytes'),
  /** Well under the 64 MiB the OTLP spec recommends receivers accept, and small enough to retry cheaply. */
  otlpMaxRequestBytes: fixed(4 * MiB, 'cap on one OTLP export request, encoded and before compression, bytes'),
  /** The OTLP spec's default; OTEL_EXPORTER_OTLP_[LOGS_]TIMEOUT sets it. */
  otlpTimeoutMs: fixed(10_000, "the OTLP exporter's deadline per export call, its own retries included, ms"),
  capturePolicyPollIntervalMs: fixed(2_000, 'how often the capture policy file is checked for a change, ms'),
  tlsFilePollIntervalMs: fixed(10_000, 'how often TLS certificate and key files are checked for a rotation, ms'),
  /** Checked before any parsing; INSERT data after FORMAT is not query text and is not counted. */
  adminQueryMaxBytes: fixed(256 * KiB, 'largest query text the admin ClickHouse interface accepts (URL query plus SQL body, decompressed), bytes'),
  /** `replay --timeout`: each attempt's own deadline is at most this. */
  replayTimeoutMs: fixed(60_000, '`replay`: how long one batch may keep failing (attempts and waits) before replay gives up and exits 1, ms'),
  replayMaxRetries: fixed(5, '`replay --max-retries`: retries of a failing batch after its first attempt, at most'),
  /** ±20 % jitter; Retry-After wins up to replayTimeoutMs. */
  replayRetryInitialMs: fixed(500, '`replay`: first backoff between the attempts of one batch, ms'),
  replayRetryMaxMs: fixed(30_000, '`replay`: longest backoff between the attempts of one batch, ms'),
};

export type OptionKey = keyof typeof OPTIONS;

/** Every option's value: the part of RuntimeConfig the table declares. */
export type OptionValues = { [K in OptionKey]: (typeof OPTIONS)[K]['default'] };

export function isFlagOption<T>(spec: OptionSpec<T>): spec is FlagOption<T> {
  return 'flag' in spec;
}

/** The environment variable of a flag. */
export function envOf(spec: FlagOption<unknown>): string {
  return `EGRESS_CAPTURE_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
}

/** The default as --help and the README show it: the value as the flag takes it, or what empty means. */
export function defaultShown(spec: FlagOption<unknown>): string {
  const value = spec.default;
  const written = spec.format !== undefined ? spec.format(value) : String(value);
  if (written !== '') return written;
  return spec.unset !== undefined ? `(${spec.unset})` : '—';
}

export interface FlagEntry {
  key: OptionKey;
  spec: FlagOption<unknown>;
  env: string;
}

/** The options with a flag, in --help order. */
export const FLAG_OPTIONS: readonly FlagEntry[] = (Object.keys(OPTIONS) as OptionKey[]).flatMap((key) => {
  const spec = OPTIONS[key] as OptionSpec<unknown>;
  return isFlagOption(spec) ? [{ key, spec, env: envOf(spec) }] : [];
});

/** A fresh copy of every default (arrays and addresses not shared with the table). */
export function optionDefaults(): OptionValues {
  return Object.fromEntries((Object.keys(OPTIONS) as OptionKey[]).map((key) => [key, structuredClone(OPTIONS[key].default)])) as OptionValues;
}
