/**
 * URL parameters of a ClickHouse HTTP request, split the way the server
 * splits them: a handful steer the HTTP exchange itself (query, database,
 * default_format, compression, session, credentials); `param_*` are query
 * parameters; everything else is a query setting, accepted only if it is
 * on the allow-list below (164 otherwise) and then SET on the request's own
 * engine connection.
 */
import { CH, ClickHouseHttpError } from './clickhouse-errors';
import { settingRefused, type Setting } from './statement';
import { sqlStringLiteral } from '../../sinks/clickhouse/sql-literal';
import { nativeMethod, type NativeMethod } from './native-blocks';

/**
 * ClickHouse settings that steer the HTTP exchange rather than the query:
 * the interface honours them itself and never passes them to the engine.
 * `system.settings` shows them as changeable (settings-view.ts), so clients
 * that check it before sending one (clickhouse-connect) do send them.
 */
const HTTP_SETTINGS = [
  // ClickHouse's compressed-block framing (native-blocks.ts); the method and level of compress=1.
  'compress',
  'decompress',
  'network_compression_method',
  'network_zstd_compression_level',
  'http_native_compression_disable_checksumming_on_decompress',
  'enable_http_compression',
  'http_zlib_compression_level',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  // The response is always complete before the first byte is sent (= wait_end_of_query=1).
  'wait_end_of_query',
  'http_wait_end_of_query',
  'buffer_size',
  'http_response_buffer_size',
  'add_http_cors_header',
  'cancel_http_readonly_queries_on_client_close',
];

/** Parameters that are not query settings; they are handled here or deliberately ignored. */
const HTTP_PARAMS = new Set([
  'query',
  'database',
  'default_format',
  'query_id',
  'user',
  'password',
  'quota_key',
  // Sessions keep a request's engine connection (temporary tables) with writes allowed; see engine-sessions.ts.
  'session_id',
  'session_timeout',
  'session_check',
  'role',
  'stacktrace',
  'client_protocol_version',
  ...HTTP_SETTINGS,
]);

export interface RequestParams {
  query: string;
  database: string | undefined;
  defaultFormat: string | undefined;
  queryId: string | undefined;
  user: string | undefined;
  password: string | undefined;
  enableHttpCompression: boolean;
  /** compress=1: the answer in ClickHouse's compressed blocks, with `nativeMethod` (network_compression_method). */
  compress: boolean;
  nativeMethod: NativeMethod;
  nativeZstdLevel: number | undefined;
  /** decompress=1: the body (after Content-Encoding) is in compressed blocks; `checksums` false skips their check. */
  decompress: boolean;
  checksums: boolean;
  /** send_progress_in_http_headers=1: X-ClickHouse-Progress headers. */
  sendProgress: boolean;
  /**
   * `<name>_structure` / `_types` / `_format` of a multipart request's
   * external tables (external-tables.ts), by parameter name; ClickHouse
   * takes such names as table parameters, not settings, in a multipart request.
   */
  externalTableParams: Map<string, string>;
  addCorsHeader: boolean;
  httpZlibLevel: number | undefined;
  settings: Setting[];
  /** The client asked for readonly=1 or 2: the request is read-only whatever the server allows. */
  readOnly: boolean;
  /** Names of `param_<name>` values (query parameters). */
  queryParameters: Map<string, string>;
  sessionId: string | undefined;
  sessionTimeout: string | undefined;
  sessionCheck: boolean;
  /** Revision Native output is framed at (client_protocol_version; 0 = none). */
  clientProtocolVersion: number;
}

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The settings a client may change, from the URL or a read's final SETTINGS
 * clause: output formatting, result and resource limits, timeouts, and what
 * the project's own inserts send. Anything else (format_template_resultset,
 * output_format_schema, format_schema… name host files; readonly, profiles
 * and limits of the engine itself are not the client's) is refused with 164.
 */
const ALLOWED_SETTINGS = new Set([
  'max_result_rows',
  'max_result_bytes',
  'result_overflow_mode',
  'max_execution_time',
  'timeout_overflow_mode',
  'timeout_before_checking_execution_speed',
  'max_execution_speed',
  'min_execution_speed',
  'max_rows_to_read',
  'max_bytes_to_read',
  'read_overflow_mode',
  'max_rows_to_group_by',
  'group_by_overflow_mode',
  'max_rows_to_sort',
  'max_bytes_to_sort',
  'sort_overflow_mode',
  'max_memory_usage',
  'max_threads',
  'max_block_size',
  'limit',
  'offset',
  'extremes',
  'join_use_nulls',
  'enable_analyzer',
  'allow_experimental_analyzer',
  'session_timezone',
  'log_comment',
  'priority',
  'date_time_output_format',
  'date_time_input_format',
  'output_format_decimal_trailing_zeros',
  'format_csv_delimiter',
  'format_csv_allow_single_quotes',
  'format_csv_allow_double_quotes',
  'format_tsv_null_representation',
  'format_csv_null_representation',
  // inserts (the remote-store sink, @clickhouse/client)
  'insert_deduplication_token',
  'insert_deduplicate',
  'async_insert',
  'wait_for_async_insert',
  'input_format_skip_unknown_fields',
  'input_format_null_as_default',
  'input_format_defaults_for_omitted_fields',
  'input_format_import_nested_json',
  'input_format_allow_errors_num',
  'input_format_allow_errors_ratio',
]);
/** Families of output-formatting settings; none of them names a file. */
const ALLOWED_SETTING_PREFIXES = ['output_format_json_', 'output_format_pretty_', 'output_format_csv_', 'output_format_tsv_', 'output_format_markdown_', 'date_time_64_output_format_'];

export function isAllowedSetting(name: string): boolean {
  return ALLOWED_SETTINGS.has(name) || ALLOWED_SETTING_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The allow-list and the HTTP settings, as a SQL condition on a setting-name column (for system.settings' readonly flag). */
export function allowedSettingCondition(column: string): string {
  const names = [...ALLOWED_SETTINGS, ...HTTP_SETTINGS].map(sqlStringLiteral).join(', ');
  const prefixes = ALLOWED_SETTING_PREFIXES.map((prefix) => `startsWith(${column}, ${sqlStringLiteral(prefix)})`).join(' OR ');
  return `(${column} IN (${names}) OR ${prefixes})`;
}

/** `multipart` is whether the body is multipart/form-data (external tables). */
export function parseRequestParams(search: URLSearchParams, multipart = false): RequestParams {
  const settings: Setting[] = [];
  let readOnly = false;
  const queryParameters = new Map<string, string>();
  const externalTableParams = new Map<string, string>();
  for (const [name, value] of search) {
    if (HTTP_PARAMS.has(name) || name === '') continue;
    if (multipart && /_(structure|types|format)$/.test(name)) {
      externalTableParams.set(name, value);
      continue;
    }
    if (name.startsWith('param_')) {
      queryParameters.set(name.slice('param_'.length), value);
      continue;
    }
    if (!SETTING_NAME.test(name)) {
      throw ClickHouseHttpError.of(CH.UNKNOWN_SETTING, `Setting ${JSON.stringify(name)} is not a valid setting name`, 400);
    }
    if (name === 'readonly') {
      // A client may ask for read-only (ClickHouse clients do); never for less.
      if (value.trim() === '0') throw settingRefused(name);
      readOnly = true;
      continue;
    }
    if (!isAllowedSetting(name)) throw settingRefused(name);
    settings.push([name, settingLiteral(value)]);
  }
  let method: NativeMethod;
  try {
    method = nativeMethod(search.get('network_compression_method') ?? undefined);
  } catch (err) {
    throw ClickHouseHttpError.of(CH.BAD_ARGUMENTS, (err as Error).message, 400);
  }
  const zstdLevel = search.get('network_zstd_compression_level');
  if (zstdLevel !== null && !/^-?\d{1,2}$/.test(zstdLevel)) {
    throw ClickHouseHttpError.of(CH.BAD_ARGUMENTS, `network_zstd_compression_level must be a ZSTD level such as 1 or 3; got ${JSON.stringify(zstdLevel)}`, 400);
  }
  const level = search.get('http_zlib_compression_level');
  const revision = search.get('client_protocol_version') ?? '0';
  if (!/^\d{1,9}$/.test(revision)) {
    throw ClickHouseHttpError.of(CH.CANNOT_PARSE_INPUT, `client_protocol_version must be a protocol revision number such as 54460; got ${JSON.stringify(revision)}`, 400);
  }
  return {
    query: search.get('query') ?? '',
    database: search.get('database') ?? undefined,
    defaultFormat: search.get('default_format') ?? undefined,
    queryId: search.get('query_id') ?? undefined,
    user: search.get('user') ?? undefined,
    password: search.get('password') ?? undefined,
    enableHttpCompression: truthy(search.get('enable_http_compression')),
    compress: truthy(search.get('compress')),
    nativeMethod: method,
    nativeZstdLevel: zstdLevel !== null ? Number(zstdLevel) : undefined,
    decompress: truthy(search.get('decompress')),
    checksums: !truthy(search.get('http_native_compression_disable_checksumming_on_decompress')),
    sendProgress: truthy(search.get('send_progress_in_http_headers')),
    externalTableParams,
    addCorsHeader: truthy(search.get('add_http_cors_header')),
    httpZlibLevel: level !== null && /^\d$/.test(level) ? Number(level) : undefined,
    settings,
    readOnly,
    queryParameters,
    clientProtocolVersion: Number(revision),
    sessionId: search.get('session_id') ?? undefined,
    sessionTimeout: search.get('session_timeout') ?? undefined,
    sessionCheck: truthy(search.get('session_check')),
  };
}

function truthy(value: string | null): boolean {
  return value !== null && ['1', 'true'].includes(value.toLowerCase());
}

/**
 * A URL value as a SQL literal: plain numbers stay numbers, everything else
 * becomes a quoted string (ClickHouse converts a string to the setting's type,
 * so `date_time_output_format=iso` and `max_threads=4` both work) — and no
 * value can break out of the SETTINGS clause.
 */
export function settingLiteral(value: string): string {
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  return sqlStringLiteral(value);
}

/** Formats whose output is binary: a store that only returns text cannot carry them. */
export const BINARY_FORMATS = new Set(
  [
    'Native',
    'RowBinary',
    'RowBinaryWithNames',
    'RowBinaryWithNamesAndTypes',
    'RowBinaryWithDefaults',
    'Parquet',
    'Arrow',
    'ArrowStream',
    'ORC',
    'Avro',
    'MsgPack',
    'Protobuf',
    'ProtobufSingle',
    'ProtobufList',
    'CapnProto',
    'BSONEachRow',
    'Npy',
    'RawBLOB',
    'LineAsStringWithNames',
  ].map((f) => f.toLowerCase()),
);

/** Content-Type per output format, as ClickHouse labels them. */
export function contentTypeFor(format: string): string {
  const f = format.toLowerCase();
  if (f === '') return 'text/plain; charset=UTF-8';
  if (
    f === 'jsoneachrow' ||
    f === 'jsonlines' ||
    f === 'ndjson' ||
    f === 'jsoncompacteachrow' ||
    f.startsWith('jsoncompacteachrowwith') ||
    f.startsWith('jsoneachrowwith') ||
    f.startsWith('jsoncompactstringseachrow') ||
    f === 'jsonstringseachrow' ||
    f === 'jsonobjecteachrow'
  )
    return 'application/x-ndjson; charset=UTF-8';
  if (f.startsWith('json')) return 'application/json; charset=UTF-8';
  if (f.startsWith('csv')) return 'text/csv; charset=UTF-8; header=' + (f.includes('withnames') ? 'present' : 'absent');
  if (f.startsWith('tsv') || f.startsWith('tabseparated')) return 'text/tab-separated-values; charset=UTF-8';
  if (f === 'xml') return 'application/xml; charset=UTF-8';
  if (f === 'markdown' || f === 'md') return 'text/markdown; charset=UTF-8';
  if (BINARY_FORMATS.has(f)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}
