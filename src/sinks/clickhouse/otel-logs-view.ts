/**
 * `otel_logs`: the captured exchanges as a view in the schema of the
 * OpenTelemetry Collector's ClickHouse exporter (its logs table, exporter
 * v0.165), so tools built for collector-fed ClickHouse — ClickStack/HyperDX,
 * Grafana's ClickHouse data source with "OTel" log views — read the store as
 * they read a collector's.
 *
 * One row per exchange, shaped like the OTLP record the export sends for it
 * (src/sinks/otlp/log-record-mapper.ts): event egress.http.exchange, service
 * and scope names, the severity rule (WARN for a 5xx or an unfinished
 * exchange, else INFO), the summary line as Body, and the HTTP, URL and
 * GenAI attributes as LogAttributes (strings, as the exporter stores them;
 * empty ones left out). Bodies and headers stay in http_exchanges: a log
 * list reading every body would be slow, and they are one join away by
 * CaptureId (LogAttributes['egress_capture.capture_id']).
 *
 * Besides the exporter's current columns it has `TimestampTime` (DateTime),
 * which older exporter schemas and ClickStack's default source use as
 * their time column, and the exporter's __otel_materialized_* shortcuts.
 * A view costs nothing until read; CREATE OR REPLACE keeps it current.
 */
import { EVENT_NAME, SCOPE_NAME, SERVICE_NAME } from '../otlp/log-record-mapper';
import { TABLE } from './schema';
import { sqlStringLiteral } from './sql-literal';

export const OTEL_LOGS_VIEW = 'otel_logs';

/** The host of `host:port`, `[v6]:port` or a bare host, as the OTLP export splits it. */
function hostOf(column: string): string {
  return `multiIf(startsWith(${column}, '['), extract(${column}, '^\\[([^\\]]*)\\]'), countSubstrings(${column}, ':') = 1, splitByChar(':', ${column})[1], ${column})`;
}

/** LogAttributes: OTLP attribute name → String expression over http_exchanges ('' = absent). */
const LOG_ATTRIBUTES: ReadonlyArray<readonly [name: string, expression: string]> = [
  ['http.request.method', 'Method'],
  ['url.full', "if(Scheme != '' AND Authority != '', concat(lower(Scheme), '://', Authority, Path), '')"],
  ['url.scheme', 'lower(Scheme)'],
  ['url.path', "splitByChar('?', Path)[1]"],
  ['server.address', hostOf('Authority')],
  ['http.response.status_code', "if(StatusCode > 0, toString(StatusCode), '')"],
  ['error.type', "multiIf(StatusCode >= 400, toString(StatusCode), Outcome != 'complete', Outcome, '')"],
  ['client.address', hostOf('SourceAddress')],
  ['user_agent.original', "RequestHeaders['user-agent']"],
  ['http.request.body.size', 'toString(RequestBodySize)'],
  ['http.response.body.size', 'toString(ResponseBodySize)'],
  ['gen_ai.provider.name', 'GenAiProvider'],
  ['gen_ai.operation.name', 'GenAiOperation'],
  ['gen_ai.request.model', 'GenAiRequestModel'],
  ['gen_ai.response.model', 'GenAiResponseModel'],
  ['gen_ai.response.id', 'GenAiResponseId'],
  ['gen_ai.usage.input_tokens', "ifNull(toString(GenAiInputTokens), '')"],
  ['gen_ai.usage.output_tokens', "ifNull(toString(GenAiOutputTokens), '')"],
  ['egress_capture.capture_id', 'CaptureId'],
  ['egress_capture.outcome', 'Outcome'],
  ['egress_capture.duration_ms', 'toString(DurationMs)'],
];

const MATERIALIZED_RESOURCE_ATTRIBUTES = [
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.deployment.name',
  'k8s.namespace.name',
  'k8s.node.name',
  'k8s.pod.name',
  'k8s.pod.uid',
  'deployment.environment.name',
];

function stringMap(pairs: ReadonlyArray<readonly [string, string]>): string {
  return `map(${pairs.map(([name, expression]) => `${sqlStringLiteral(name)}, ${expression}`).join(', ')})`;
}

export function otelLogsViewStatement(): string {
  const resource = `CAST(mapFilter((k, v) -> v != '', ${stringMap([
    ['service.name', sqlStringLiteral(SERVICE_NAME)],
    ['egress_capture.captured_by', 'CapturedBy'],
  ])}), 'Map(LowCardinality(String), String)')`;
  const warn = "Outcome != 'complete' OR StatusCode >= 500";
  const columns = [
    'Timestamp',
    'toDateTime(Timestamp) AS TimestampTime',
    'TraceId',
    'SpanId',
    "toUInt8(TraceId != '') AS TraceFlags",
    `CAST(if(${warn}, 'WARN', 'INFO'), 'LowCardinality(String)') AS SeverityText`,
    // OTLP SeverityNumber WARN = 13, INFO = 9.
    `toUInt8(if(${warn}, 13, 9)) AS SeverityNumber`,
    `CAST(${sqlStringLiteral(SERVICE_NAME)}, 'LowCardinality(String)') AS ServiceName`,
    "concat(if(Method != '', Method, '-'), ' ', if(Scheme != '' AND Authority != '', concat(lower(Scheme), '://', Authority, Path), concat(Authority, Path)), ' ', if(StatusCode > 0, toString(StatusCode), '-'), ' ', Outcome) AS Body",
    "CAST('', 'LowCardinality(String)') AS ResourceSchemaUrl",
    `${resource} AS ResourceAttributes`,
    "CAST('', 'LowCardinality(String)') AS ScopeSchemaUrl",
    `${sqlStringLiteral(SCOPE_NAME)} AS ScopeName`,
    "CAST('', 'LowCardinality(String)') AS ScopeVersion",
    "CAST(map(), 'Map(LowCardinality(String), String)') AS ScopeAttributes",
    `CAST(mapFilter((k, v) -> v != '', ${stringMap(LOG_ATTRIBUTES)}), 'Map(LowCardinality(String), String)') AS LogAttributes`,
    `${sqlStringLiteral(EVENT_NAME)} AS EventName`,
    ...MATERIALIZED_RESOURCE_ATTRIBUTES.map((name) => `CAST(ResourceAttributes[${sqlStringLiteral(name)}], 'LowCardinality(String)') AS \`__otel_materialized_${name}\``),
  ];
  return `CREATE OR REPLACE VIEW ${OTEL_LOGS_VIEW} AS SELECT\n  ${columns.join(',\n  ')}\nFROM ${TABLE}`;
}
