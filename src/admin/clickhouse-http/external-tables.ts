/**
 * A `multipart/form-data` request, as ClickHouse's HTTP interface reads
 * one: a `query` part holds (more of) the query text, `param_<name>` parts
 * hold query parameters (@clickhouse/client sends them so with
 * use_multipart_params), and every file part is an external data table the
 * query can read by the part's name — with `<name>_structure`
 * (`id UInt32, name String`) or `<name>_types` (`UInt32,String`, columns
 * `_1`, `_2`, …) and `<name>_format` (default TabSeparated), given as URL
 * parameters or as parts of their own (clickhouse-connect's `external_data`,
 * `curl -F 'ids=@ids.tsv' 'http://…/?query=…&ids_structure=id+UInt32'`).
 *
 * ClickHouse makes each one a temporary table of the query; so does this
 * interface, on the request's own engine connection, before that
 * connection is made read-only: the table holds the client's own rows and
 * nothing else, lives as long as the request, and the query's read-only
 * rules are unchanged. The structure and the name never become SQL text of
 * ours unchecked: the structure is bound as a parameter of the `format`
 * table function, the name must be a plain identifier.
 */
import { CH, ClickHouseHttpError, fromStoreError } from './clickhouse-errors';
import { sqlStringLiteral } from '../../sinks/clickhouse/sql-literal';
import type { EngineConnection } from '../../sinks/clickhouse/embedded-store';
import { splitTopLevel } from './native-revision';

export interface ExternalTable {
  name: string;
  format: string;
  /** Column list as ClickHouse's `structure` argument takes it. */
  structure: string;
  data: Uint8Array;
}

export interface MultipartForm {
  query: string;
  queryParameters: Map<string, string>;
  tables: ExternalTable[];
}

/** External data in one request, all tables together, when the server gives no other cap (bytes). */
export const DEFAULT_MAX_EXTERNAL_DATA_BYTES = 16 * 1024 * 1024;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE_PARAM = /^(.+)_(structure|types|format)$/;

/**
 * Splits the body (already read under its size cap; the platform's fetch
 * API parses it). `urlTableParams` are the `<name>_structure`/`_types`/
 * `_format` URL parameters; parts of the same names win over them.
 */
export async function readMultipartForm(body: Buffer, contentType: string, urlTableParams: ReadonlyMap<string, string>, maxExternalBytes: number): Promise<MultipartForm> {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    throw ClickHouseHttpError.of(CH.CANNOT_PARSE_INPUT, `Cannot read the multipart/form-data body: ${(err as Error).message}`, 400);
  }
  const queryParameters = new Map<string, string>();
  const tableParams = new Map(urlTableParams);
  const query: string[] = [];
  const files: Array<{ name: string; data: Uint8Array }> = [];
  let externalBytes = 0;
  for (const [name, value] of form) {
    if (typeof value !== 'string') {
      externalBytes += value.size;
      if (externalBytes > maxExternalBytes) {
        throw ClickHouseHttpError.of(CH.QUERY_IS_TOO_LARGE, `External data is larger than ${maxExternalBytes} bytes, the admin interface's cap for the tables of one request`);
      }
      files.push({ name, data: new Uint8Array(await value.arrayBuffer()) });
    } else if (name === 'query') query.push(value);
    else if (name.startsWith('param_')) queryParameters.set(name.slice('param_'.length), value);
    else if (TABLE_PARAM.test(name)) tableParams.set(name, value);
    else
      throw ClickHouseHttpError.of(
        CH.NOT_IMPLEMENTED,
        `The multipart part ${JSON.stringify(name)} is not served by the admin interface (query, param_<name>, external data files and their <name>_structure, _types, _format; settings go in the URL)`,
      );
  }
  const tables = files.map((file) => externalTable(file.name, file.data, tableParams));
  return { query: query.join('\n'), queryParameters, tables };
}

function externalTable(name: string, data: Uint8Array, params: ReadonlyMap<string, string>): ExternalTable {
  if (!IDENTIFIER.test(name)) {
    throw ClickHouseHttpError.of(CH.BAD_ARGUMENTS, `External table name ${JSON.stringify(name)} must be a plain identifier (letters, digits, _), as the query names it`);
  }
  const structure = params.get(`${name}_structure`);
  const types = params.get(`${name}_types`);
  if (structure === undefined && types === undefined) {
    throw ClickHouseHttpError.of(CH.BAD_ARGUMENTS, `External table ${name} has neither ${name}_structure (such as 'id UInt32, name String') nor ${name}_types (such as 'UInt32,String')`);
  }
  if (structure !== undefined && types !== undefined) {
    throw ClickHouseHttpError.of(CH.BAD_ARGUMENTS, `External table ${name} has both ${name}_structure and ${name}_types; give one`);
  }
  const format = params.get(`${name}_format`) ?? 'TabSeparated';
  if (!IDENTIFIER.test(format)) throw ClickHouseHttpError.of(CH.UNKNOWN_FORMAT, `Unknown format ${format} for external table ${name}`);
  return { name, format, structure: structure ?? structureFromTypes(types!), data };
}

/** `UInt32,Map(String, UInt8)` → `_1 UInt32, _2 Map(String, UInt8)`: commas inside brackets or quotes do not split. */
export function structureFromTypes(types: string): string {
  return splitTopLevel(types)
    .map((type, i) => `_${i + 1} ${type}`)
    .join(', ');
}

/**
 * Creates each table on `connection` and loads its rows (staged through the
 * store's own file, so binary formats keep their bytes). Call before the
 * connection is made read-only; `dropExternalTables` after the query when
 * the connection outlives the request (a session).
 */
export async function loadExternalTables(connection: EngineConnection, tables: readonly ExternalTable[]): Promise<void> {
  for (const table of tables) {
    try {
      await connection.execute(`CREATE TEMPORARY TABLE \`${table.name}\` ENGINE = Memory EMPTY AS SELECT * FROM format(${table.format}, {structure:String}, '')`, '', { structure: table.structure });
      if (table.data.byteLength > 0) await connection.insertData(`INSERT INTO \`${table.name}\``, table.format, table.data);
    } catch (err) {
      const error = fromStoreError(err);
      throw new ClickHouseHttpError(
        error.chCode,
        error.chName,
        `External table ${table.name} (format ${table.format}, structure ${sqlStringLiteral(table.structure)}): ${error.message}`,
        error.httpStatus,
      );
    }
  }
}

export async function dropExternalTables(connection: EngineConnection, tables: readonly ExternalTable[]): Promise<void> {
  for (const table of tables) await connection.execute(`DROP TEMPORARY TABLE IF EXISTS \`${table.name}\``, '').catch(() => undefined);
}
