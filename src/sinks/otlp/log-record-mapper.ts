/**
 * ExchangeRow → one OTLP log record (an event named egress.http.exchange).
 *
 * Attribute names follow the OpenTelemetry semantic conventions: HTTP client
 * spans (the gateway sees traffic leaving the cluster, i.e. the client side),
 * the url.* registry, http.*.body.content, and gen_ai.* for folded LLM calls.
 * Everything that has no convention lives under `egress_capture.*`.
 *
 * The records are built as ReadableLogRecord objects and handed to the OTLP
 * exporter directly (no LoggerProvider): the exporter's transformer only reads
 * the fields declared by that interface.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { SeverityNumber, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ExchangeRow } from '../../row/exchange-row';
import { PRODUCT_VERSION } from '../../product-version';
import { isCredentialQueryParam } from '../../processing/redaction/path-redactor';

export const EVENT_NAME = 'egress.http.exchange';
export const SERVICE_NAME = 'egress-capture';
export const SCOPE_NAME = 'egress-capture.otlp-sink';

/**
 * The versions of the conventions the records follow, named on every resource
 * and scope: the general ones (HTTP, url, server, client, user_agent, error)
 * by their schema URL, the GenAI ones (published on their own since they left
 * the main repository) by release. README "OTLP records" has the mapping.
 */
export const SEMCONV_SCHEMA_URL = 'https://opentelemetry.io/schemas/1.45.0';
export const GEN_AI_SEMCONV_VERSION = 'gen-ai/1.42.0';

export type OtlpResource = ReadableLogRecord['resource'];
export type OtlpScope = ReadableLogRecord['instrumentationScope'];

/** A row replayed from an older spool segment may lack columns added since (src/row/exchange-row.ts): read those loosely. */
type LooseRow = ExchangeRow & Record<string, unknown>;

// ---------------------------------------------------------------------------
// Resource
// ---------------------------------------------------------------------------

export interface ResourceIdentity {
  gatewayName: string;
  gatewayNamespace: string;
}

/**
 * One id per process: the semconv asks for a value unique per instance of
 * the service; a pod UID is the best such value in Kubernetes, a random UUID
 * otherwise (a restarted process is a new instance).
 */
const PROCESS_INSTANCE_ID = randomUUID();

/** Where Kubernetes mounts the pod's namespace (with the service account token, when it is mounted). */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * Resource attributes for every record this process exports: only what is
 * known. k8s.* only inside Kubernetes (the kubelet sets KUBERNETES_SERVICE_HOST
 * in every pod, or the downward API gave POD_NAME): the pod is POD_NAME, else
 * HOSTNAME (a pod's host name is its name); the namespace POD_NAMESPACE, else
 * the service account's namespace file. Outside Kubernetes there is no pod,
 * and the gateway's namespace is not this process's (it has its own attribute).
 */
export function buildResourceAttributes(identity: ResourceIdentity, env: NodeJS.ProcessEnv = process.env, namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE): Attributes {
  const attributes: Attributes = { 'service.name': SERVICE_NAME, 'service.version': PRODUCT_VERSION };
  const nonEmpty = (value: string | undefined): string | undefined => (value !== undefined && value.trim() !== '' ? value.trim() : undefined);
  attributes['service.instance.id'] = nonEmpty(env['POD_UID']) ?? PROCESS_INSTANCE_ID;
  attributes['host.name'] = hostname();
  if (nonEmpty(env['KUBERNETES_SERVICE_HOST']) !== undefined || nonEmpty(env['POD_NAME']) !== undefined) {
    attributes['k8s.pod.name'] = nonEmpty(env['POD_NAME']) ?? nonEmpty(env['HOSTNAME']) ?? hostname();
    const uid = nonEmpty(env['POD_UID']);
    if (uid !== undefined) attributes['k8s.pod.uid'] = uid;
    const namespace = nonEmpty(env['POD_NAMESPACE']) ?? readTrimmed(namespaceFile);
    if (namespace !== undefined) attributes['k8s.namespace.name'] = namespace;
  }
  if (nonEmpty(identity.gatewayName) !== undefined) attributes['egress_capture.gateway.name'] = identity.gatewayName;
  if (nonEmpty(identity.gatewayNamespace) !== undefined) attributes['egress_capture.gateway.namespace'] = identity.gatewayNamespace;
  return attributes;
}

function readTrimmed(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * A fixed Resource. The exporter groups records by the identity of their
 * resource and scope objects, so one instance is built per sink and shared
 * by every record (otherwise each record gets its own ResourceLogs).
 * Built by hand rather than with @opentelemetry/resources (not a direct
 * dependency): the OTLP transformer reads only `attributes` and `schemaUrl`.
 */
export function createStaticResource(attributes: Attributes): OtlpResource {
  const frozen = Object.freeze({ ...attributes });
  const resource: OtlpResource = {
    attributes: frozen,
    schemaUrl: SEMCONV_SCHEMA_URL,
    asyncAttributesPending: false,
    merge(other) {
      return other === null ? resource : createStaticResource({ ...frozen, ...other.attributes });
    },
    getRawAttributes() {
      return Object.entries(frozen);
    },
  };
  return resource;
}

export function createScope(): OtlpScope {
  return { name: SCOPE_NAME, version: PRODUCT_VERSION, schemaUrl: SEMCONV_SCHEMA_URL };
}

/**
 * A number for an attribute the conventions type as double. The OTLP
 * encoders pick int_value for any whole JS number and double_value for the
 * rest, so 12.5 ms and 13 ms would reach the backend as two types under one
 * name (which backends that fix a type per attribute reject). A whole value
 * moves by one unit in the last place: a change of ~1e-15 of itself, far
 * below any precision a duration here has, and always a double on the wire.
 */
export function asDouble(value: number): number {
  if (!Number.isInteger(value)) return value;
  const bits = new Float64Array([value]);
  const view = new BigInt64Array(bits.buffer);
  view[0] = view[0]! + (value < 0 ? -1n : 1n);
  return bits[0]!;
}

// ---------------------------------------------------------------------------
// Small parsers
// ---------------------------------------------------------------------------

/** 'YYYY-MM-DD hh:mm:ss.nnnnnnnnn' (UTC, the DateTime64(9) text form) → HrTime; undefined when unreadable. */
export function parseRowTimestamp(text: string): HrTime | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z?$/.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}T${match[2]}Z`);
  if (!Number.isFinite(ms)) return undefined;
  return [ms / 1000, Number((match[3] ?? '0').padEnd(9, '0'))];
}

export interface HostPort {
  host: string;
  port?: number;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** 'host', 'host:port', '[v6]', '[v6]:port', with any 'user@' removed; IPv6 comes back without brackets (semconv form). */
export function splitHostPort(authority: string): HostPort {
  const at = authority.lastIndexOf('@');
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return { host: hostPort };
    const host = hostPort.slice(1, close);
    const rest = hostPort.slice(close + 1);
    const port = rest.startsWith(':') ? parsePort(rest.slice(1)) : undefined;
    return port === undefined ? { host } : { host, port };
  }
  const colon = hostPort.lastIndexOf(':');
  // More than one colon without brackets: a bare IPv6 address (source.address can look like that), no port.
  if (colon < 0 || hostPort.indexOf(':') !== colon) return { host: hostPort };
  const port = parsePort(hostPort.slice(colon + 1));
  return port === undefined ? { host: hostPort } : { host: hostPort.slice(0, colon), port };
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443, grpc: 80, grpcs: 443 };

export function defaultPortForScheme(scheme: string): number | undefined {
  return DEFAULT_PORTS[scheme.toLowerCase()];
}

/**
 * Replaces with REDACTED (the url.* conventions' word) the values of the
 * credential query parameters (CREDENTIAL_QUERY_PARAM_NAMES in processing/path-redactor.ts, the list the
 * Path column is redacted by) and values the row already holds a redaction
 * marker in, keeping everything else byte for byte. The row's Path is
 * redacted when it is built; doing it again here also covers rows spooled by
 * an older version.
 */
export function redactQuery(query: string): string {
  if (query === '') return query;
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part.includes('[REDACTED ') ? 'REDACTED' : part;
      return isCredentialQueryParam(part.slice(0, eq)) || part.includes('[REDACTED ', eq) ? `${part.slice(0, eq)}=REDACTED` : part;
    })
    .join('&');
}

/** Credentials in an authority are replaced per url.full's rules (HTTP/2 :authority never has them, HTTP/1 Host could). */
function redactAuthority(authority: string): string {
  const at = authority.lastIndexOf('@');
  return at >= 0 ? `REDACTED:REDACTED@${authority.slice(at + 1)}` : authority;
}

/** Methods the HTTP conventions know; anything else is reported as _OTHER with the original kept. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);

/** The row joins repeated header values with "\n" (reversible: header values cannot contain it); semconv wants string[]. */
export function headerValues(joined: string): string[] {
  return joined.split('\n');
}

function parseTraceFlags(traceparent: string | undefined, traceId: string): number {
  // The row keeps trace and span ids but not the flags; take them from the header when it is the same trace.
  if (traceparent === undefined) return TraceFlags.NONE;
  const match = /^\s*[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})/.exec(traceparent);
  if (!match || match[1] !== traceId) return TraceFlags.NONE;
  return Number.parseInt(match[2]!, 16) & 0xff;
}

// ---------------------------------------------------------------------------
// GenAI columns
// ---------------------------------------------------------------------------

type GenAiKind = 'string' | 'int' | 'bool' | 'strings';

interface GenAiField {
  attribute: string;
  /** Row column names accepted for it (the GenAI columns are still being named; the first present wins). */
  columns: readonly string[];
  kind: GenAiKind;
}

/**
 * Known GenAI columns → gen_ai.* attributes. The first name in each list is
 * the ExchangeRow column; the others are the spelled-out semconv form and
 * the nested-object form, accepted so a renamed column still maps.
 * The other GenAi columns (Api, UsageSource, OutputText,
 * OutputTextTruncated, ToolCalls, EventCount, ErrorMessage, Complete) have
 * no convention and go out as egress_capture.gen_ai.<snake_case>.
 */
const GEN_AI_FIELDS: readonly GenAiField[] = [
  { attribute: 'gen_ai.provider.name', columns: ['GenAiProvider', 'GenAiProviderName'], kind: 'string' },
  { attribute: 'gen_ai.operation.name', columns: ['GenAiOperation', 'GenAiOperationName'], kind: 'string' },
  { attribute: 'gen_ai.request.model', columns: ['GenAiRequestModel', 'GenAiModel'], kind: 'string' },
  // The row records whether the answer was a stream: the request was then made in streaming mode.
  { attribute: 'gen_ai.request.stream', columns: ['GenAiRequestStream', 'GenAiStreaming'], kind: 'bool' },
  { attribute: 'gen_ai.response.model', columns: ['GenAiResponseModel'], kind: 'string' },
  { attribute: 'gen_ai.response.id', columns: ['GenAiResponseId'], kind: 'string' },
  { attribute: 'gen_ai.response.finish_reasons', columns: ['GenAiFinishReasons', 'GenAiResponseFinishReasons'], kind: 'strings' },
  { attribute: 'gen_ai.usage.input_tokens', columns: ['GenAiInputTokens', 'GenAiUsageInputTokens'], kind: 'int' },
  { attribute: 'gen_ai.usage.output_tokens', columns: ['GenAiOutputTokens', 'GenAiUsageOutputTokens'], kind: 'int' },
  {
    attribute: 'gen_ai.usage.cache_read.input_tokens',
    columns: ['GenAiCachedInputTokens', 'GenAiCacheReadInputTokens', 'GenAiUsageCacheReadInputTokens'],
    kind: 'int',
  },
  {
    attribute: 'gen_ai.usage.cache_creation.input_tokens',
    columns: ['GenAiCacheCreationInputTokens', 'GenAiUsageCacheCreationInputTokens'],
    kind: 'int',
  },
  {
    attribute: 'gen_ai.usage.reasoning.output_tokens',
    columns: ['GenAiReasoningTokens', 'GenAiReasoningOutputTokens', 'GenAiUsageReasoningOutputTokens'],
    kind: 'int',
  },
  { attribute: 'error.type', columns: ['GenAiErrorType'], kind: 'string' },
];

function genAiValue(value: unknown, kind: GenAiKind): string | number | boolean | string[] | undefined {
  // ClickHouse Nullable columns arrive as null; '' and negative counts are "unknown" sentinels: leave them out.
  if (value === null || value === undefined || value === '') return undefined;
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? value : String(value);
    case 'int': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
      return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 1 || value === 'true' || value === '1') return true;
      if (value === 0 || value === 'false' || value === '0') return false;
      return undefined;
    case 'strings': {
      let list: unknown = value;
      if (typeof value === 'string') {
        try {
          list = value.startsWith('[') ? JSON.parse(value) : value.split(',');
        } catch {
          list = value.split(',');
        }
      }
      if (!Array.isArray(list)) return undefined;
      const strings = list.filter((item): item is string => typeof item === 'string' && item !== '');
      return strings.length > 0 ? strings : undefined;
    }
  }
}

function snakeCase(pascal: string): string {
  return pascal.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Flattens a nested `GenAi` object column (if the row carries one) into GenAi<Field> columns. */
function genAiColumns(row: LooseRow): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  const nested = row['GenAi'];
  if (nested !== null && typeof nested === 'object' && !Array.isArray(nested)) {
    for (const [key, value] of Object.entries(nested as Record<string, unknown>)) {
      columns[`GenAi${key.charAt(0).toUpperCase()}${key.slice(1)}`] = value;
    }
  }
  for (const [key, value] of Object.entries(row)) {
    if (key.startsWith('GenAi') && key !== 'GenAi') columns[key] = value;
  }
  return columns;
}

/**
 * gen_ai.* attributes from whatever GenAI columns the row has. Columns with
 * no convention are kept as egress_capture.gen_ai.<snake_case> so a new
 * column is exported (under our namespace) before this table learns it.
 */
export function mapGenAiAttributes(row: ExchangeRow): Attributes {
  const columns = genAiColumns(row as LooseRow);
  const attributes: Attributes = {};
  // Every row has the GenAI columns (empty, false, 0 for plain HTTP); only a recognised model call gets gen_ai.* attributes.
  const isModelCall = [columns['GenAiProvider'], columns['GenAiProviderName'], columns['GenAiApi']].some((value) => typeof value === 'string' && value !== '');
  if (!isModelCall) return attributes;
  const used = new Set<string>();
  for (const field of GEN_AI_FIELDS) {
    for (const column of field.columns) {
      if (!(column in columns)) continue;
      used.add(column);
      const value = genAiValue(columns[column], field.kind);
      if (value !== undefined && !(field.attribute in attributes)) attributes[field.attribute] = value;
    }
  }
  for (const [column, value] of Object.entries(columns)) {
    if (used.has(column) || value === null || value === undefined || value === '') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    const key = `egress_capture.gen_ai.${snakeCase(column.slice('GenAi'.length))}`;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[key] = value;
    else if (Array.isArray(value) || typeof value === 'object') attributes[key] = JSON.stringify(value);
  }
  return attributes;
}

// ---------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------

export const REQUEST_BODY_CONTENT = 'http.request.body.content';
export const RESPONSE_BODY_CONTENT = 'http.response.body.content';

/**
 * Body text as the row holds it → the semconv value: the decoded text as a
 * string, or a byte array when the row had to store the body as base64
 * (binary, undecodable or unsupported encoding) — the convention says
 * body.content MUST NOT be base64'd.
 */
function bodyContent(text: string, captured: boolean, note: string): string | Uint8Array | undefined {
  if (!captured || text === '') return undefined;
  if (note.endsWith('_stored_base64')) {
    const bytes = Buffer.from(text, 'base64');
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return text;
}

/**
 * Severity: INFO for an exchange that completed with a status below 500;
 * WARN for a 5xx or any outcome other than "complete" (reset, no response,
 * idle timeout...). Never ERROR: the record reports traffic the capture saw,
 * not a failure of the capture service, and ERROR-based alerting on the
 * customer side should not fire for someone else's upstream errors.
 * 4xx stays INFO: from the gateway's point of view it is an answered request.
 */
export function severityFor(row: ExchangeRow): { number: SeverityNumber; text: string } {
  if (row.Outcome !== 'complete' || row.StatusCode >= 500) return { number: SeverityNumber.WARN, text: 'WARN' };
  return { number: SeverityNumber.INFO, text: 'INFO' };
}

interface UrlParts {
  full?: string;
  scheme?: string;
  path?: string;
  query?: string;
}

function urlParts(row: ExchangeRow): UrlParts {
  const parts: UrlParts = {};
  const scheme = row.Scheme.toLowerCase();
  if (scheme !== '') parts.scheme = scheme;
  const q = row.Path.indexOf('?');
  const path = q >= 0 ? row.Path.slice(0, q) : row.Path;
  const query = q >= 0 ? redactQuery(row.Path.slice(q + 1)) : undefined;
  if (path !== '') parts.path = path;
  if (query !== undefined) parts.query = query;
  // url.full needs an absolute URL: scheme and authority are both required.
  if (scheme !== '' && row.Authority !== '') {
    parts.full = `${scheme}://${redactAuthority(row.Authority)}${path}${query !== undefined ? `?${query}` : ''}`;
  }
  return parts;
}

/** The log record's attributes (everything but resource, trace context and timestamps). */
export function mapRowAttributes(row: ExchangeRow): Attributes {
  const a: Attributes = {};
  if (row.Method !== '') {
    if (KNOWN_METHODS.has(row.Method)) a['http.request.method'] = row.Method;
    else {
      a['http.request.method'] = '_OTHER';
      a['http.request.method_original'] = row.Method;
    }
  }
  const url = urlParts(row);
  if (url.full !== undefined) a['url.full'] = url.full;
  if (url.scheme !== undefined) a['url.scheme'] = url.scheme;
  if (url.path !== undefined) a['url.path'] = url.path;
  if (url.query !== undefined) a['url.query'] = url.query;
  if (row.Authority !== '') {
    const server = splitHostPort(row.Authority);
    if (server.host !== '') a['server.address'] = server.host;
    const port = server.port ?? defaultPortForScheme(row.Scheme);
    if (port !== undefined) a['server.port'] = port;
  }
  if (row.StatusCode > 0) a['http.response.status_code'] = row.StatusCode;
  // Client-span rule: a status >= 400 is an error, named by the status code; an unfinished exchange by its outcome.
  if (row.StatusCode >= 400) a['error.type'] = String(row.StatusCode);
  else if (row.Outcome !== 'complete' && row.Outcome !== '') a['error.type'] = row.Outcome;
  const userAgent = row.RequestHeaders['user-agent'];
  if (userAgent !== undefined) a['user_agent.original'] = headerValues(userAgent)[0]!;
  if (row.SourceAddress !== '') {
    const client = splitHostPort(row.SourceAddress);
    a['client.address'] = client.host;
    if (client.port !== undefined) a['client.port'] = client.port;
  }

  // Every captured header (already redacted at capture: a redacted value stays the redaction marker).
  for (const [name, value] of Object.entries(row.RequestHeaders)) a[`http.request.header.${name}`] = headerValues(value);
  for (const [name, value] of Object.entries(row.ResponseHeaders)) a[`http.response.header.${name}`] = headerValues(value);
  // Trailers have no convention; gRPC status lives there, so keep them under our namespace.
  for (const [name, value] of Object.entries(row.RequestTrailers)) a[`egress_capture.request.trailer.${name}`] = headerValues(value);
  for (const [name, value] of Object.entries(row.ResponseTrailers)) a[`egress_capture.response.trailer.${name}`] = headerValues(value);

  a['http.request.body.size'] = row.RequestBodySize;
  if (row.StatusCode > 0 || row.ResponseBodySize > 0) a['http.response.body.size'] = row.ResponseBodySize;
  const requestBody = bodyContent(row.RequestBody, row.RequestBodyCaptured, row.RequestBodyNote);
  const responseBody = bodyContent(row.ResponseBody, row.ResponseBodyCaptured, row.ResponseBodyNote);
  if (requestBody !== undefined) a[REQUEST_BODY_CONTENT] = requestBody;
  if (responseBody !== undefined) a[RESPONSE_BODY_CONTENT] = responseBody;
  a['egress_capture.request.body.captured'] = row.RequestBodyCaptured;
  a['egress_capture.response.body.captured'] = row.ResponseBodyCaptured;
  a['egress_capture.request.body.truncated'] = row.RequestBodyTruncated;
  a['egress_capture.response.body.truncated'] = row.ResponseBodyTruncated;
  // Columns added after the first row version: a row replayed from an older spool segment may lack them.
  const loose = row as LooseRow;
  const numberColumn = (name: string): number | undefined => (typeof loose[name] === 'number' ? (loose[name] as number) : undefined);
  const stringColumn = (name: string): string | undefined => (typeof loose[name] === 'string' && loose[name] !== '' ? (loose[name] as string) : undefined);
  const requestDecoded = numberColumn('RequestBodyDecodedSize');
  const responseDecoded = numberColumn('ResponseBodyDecodedSize');
  if (requestDecoded !== undefined && requestDecoded > 0) a['egress_capture.request.body.decoded_size'] = requestDecoded;
  if (responseDecoded !== undefined && responseDecoded > 0) a['egress_capture.response.body.decoded_size'] = responseDecoded;
  const requestSha = stringColumn('RequestBodySha256');
  const responseSha = stringColumn('ResponseBodySha256');
  if (requestSha !== undefined) a['egress_capture.request.body.sha256'] = requestSha;
  if (responseSha !== undefined) a['egress_capture.response.body.sha256'] = responseSha;
  const firstChunk = numberColumn('ResponseFirstChunkMs');
  const maxGap = numberColumn('ResponseMaxChunkGapMs');
  if (firstChunk !== undefined && firstChunk >= 0) a['egress_capture.response.first_chunk_ms'] = asDouble(firstChunk);
  if (maxGap !== undefined && maxGap >= 0 && firstChunk !== undefined && firstChunk >= 0) a['egress_capture.response.max_chunk_gap_ms'] = asDouble(maxGap);
  const redactions = loose['BodyRedactions'];
  if (redactions !== null && typeof redactions === 'object' && Object.keys(redactions).length > 0) {
    a['egress_capture.body_redactions'] = { ...(redactions as Record<string, number>) };
  }
  if (row.RequestBodyNote !== '') a['egress_capture.request.body.note'] = row.RequestBodyNote;
  if (row.ResponseBodyNote !== '') a['egress_capture.response.body.note'] = row.ResponseBodyNote;

  // The capture id is the record's identity: a batch re-sent after a crash produces duplicates the receiver can drop by it.
  a['egress_capture.capture_id'] = row.CaptureId;
  if (row.RequestId !== '') a['egress_capture.request_id'] = row.RequestId;
  a['egress_capture.outcome'] = row.Outcome;
  a['egress_capture.duration_ms'] = asDouble(row.DurationMs);
  if (row.ResponseHeadersMs >= 0) a['egress_capture.response_headers_ms'] = asDouble(row.ResponseHeadersMs);
  if (row.ObservabilityMode) a['egress_capture.observability_mode'] = true;
  if (Object.keys(row.Metadata).length > 0) a['egress_capture.metadata'] = { ...row.Metadata };
  if (row.CapturedBy !== '') a['egress_capture.captured_by'] = row.CapturedBy;
  if (row.CaptureLevel !== '') a['egress_capture.capture.level'] = row.CaptureLevel;
  if (row.CaptureRule !== '') a['egress_capture.capture.rule'] = row.CaptureRule;
  if (row.CaptureOptOut !== '') a['egress_capture.capture.opt_out'] = row.CaptureOptOut;

  const genAi = mapGenAiAttributes(row);
  // Time to first chunk of a streamed model answer, from the exchange's start at the gateway, in seconds.
  if (genAi['gen_ai.request.stream'] === true && firstChunk !== undefined && firstChunk >= 0) genAi['gen_ai.response.time_to_first_chunk'] = asDouble(firstChunk / 1000);
  // A provider's own error type says more than the HTTP status it came with.
  Object.assign(a, genAi);
  return a;
}

/** A short human line for log UIs that show the body column first. */
export function summaryLine(row: ExchangeRow, attributes: Attributes): string {
  const target = (attributes['url.full'] as string | undefined) ?? `${row.Authority}${row.Path}`;
  const status = row.StatusCode > 0 ? String(row.StatusCode) : '-';
  return `${row.Method || '-'} ${target} ${status} ${row.Outcome}`;
}

export interface MapContext {
  resource: OtlpResource;
  scope: OtlpScope;
  /** When the sink read the row (observed timestamp); one value per batch is fine. */
  observed: HrTime;
}

export function mapExchangeRow(row: ExchangeRow, context: MapContext): ReadableLogRecord {
  const attributes = mapRowAttributes(row);
  const severity = severityFor(row);
  let spanContext: SpanContext | undefined;
  if (/^[0-9a-f]{32}$/.test(row.TraceId) && /^[0-9a-f]{16}$/.test(row.SpanId)) {
    const traceparent = row.RequestHeaders['traceparent'];
    spanContext = {
      traceId: row.TraceId,
      spanId: row.SpanId,
      traceFlags: parseTraceFlags(traceparent === undefined ? undefined : headerValues(traceparent)[0], row.TraceId),
      isRemote: true,
    };
  }
  const record: ReadableLogRecord = {
    // 0 means "unknown" in OTLP; better than inventing a time for an unreadable Timestamp.
    hrTime: parseRowTimestamp(row.Timestamp) ?? [0, 0],
    hrTimeObserved: context.observed,
    severityNumber: severity.number,
    severityText: severity.text,
    eventName: EVENT_NAME,
    body: summaryLine(row, attributes),
    attributes,
    droppedAttributesCount: 0,
    resource: context.resource,
    instrumentationScope: context.scope,
    ...(spanContext !== undefined ? { spanContext } : {}),
  };
  return record;
}

/** Date.now() as HrTime (the observed timestamp). */
export function hrNow(): HrTime {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
}
