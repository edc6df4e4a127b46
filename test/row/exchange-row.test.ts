/**
 * The row has one definition (src/row/exchange-row.ts). These checks fail when
 * a copy drifts from it: the table the engine creates, the row the builder
 * writes, the OTLP record the mapper makes, and the README's column tables.
 * A field the table does not have is refused by the insert, not dropped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS } from '../../src/config/defaults';
import { buildRow } from '../../src/processing/build-row';
import { COLUMN_NAMES, ROW_COLUMNS, type ColumnName, type ExchangeRow } from '../../src/row/exchange-row';
import { EmbeddedStore } from '../../src/sinks/clickhouse/embedded-store';
import { TABLE } from '../../src/sinks/clickhouse/schema';
import { createScope, createStaticResource, mapExchangeRow } from '../../src/sinks/otlp/log-record-mapper';
import type { RowBatch } from '../../src/sinks/sink';
import { makeRow } from '../sinks/otlp/otlp-test-support';
import { assembledExchange } from '../support/assembled-exchange';

const README = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');

/** The ClickHouse type without its codec, as a reader sees it in DESCRIBE and the README. */
const bareType = (type: string): string => type.replace(/\s+CODEC\(.*\)$/, '');

/** Which ClickHouse types can hold each JavaScript shape of value. */
function shapeAccepts(empty: unknown, type: string): boolean {
  if (typeof empty === 'string') return /^(LowCardinality\()?String\)?$|^DateTime64\(/.test(type);
  if (typeof empty === 'number') return /^(U?Int(8|16|32|64)|Float(32|64))$/.test(type);
  if (typeof empty === 'boolean') return type === 'Bool';
  if (empty === null) return /^Nullable\((U?Int\d+|Float\d+)\)$/.test(type);
  if (Array.isArray(empty)) return /^Array\((LowCardinality\()?String\)?\)$/.test(type);
  return /^Map\(LowCardinality\(String\), (String|UInt32)\)$/.test(type);
}

function finishedSnapshot() {
  return assembledExchange({
    requestHeaders: [
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'row.test'],
      [':path', '/v1/x'],
      ['content-type', 'application/json'],
    ],
    requestBody: '{"q":1}',
    responseHeaders: [
      [':status', '200'],
      ['content-type', 'application/json'],
    ],
    responseBody: '{"a":2}',
  }).finish('ended');
}

describe('the row definition', () => {
  it('gives every column a ClickHouse type that holds its values', () => {
    const mismatched = COLUMN_NAMES.filter((name) => !shapeAccepts(ROW_COLUMNS[name].empty, bareType(ROW_COLUMNS[name].type)));
    expect(mismatched).toEqual([]);
  });

  it('is what the row builder writes, column for column and in order', () => {
    const { row } = buildRow(finishedSnapshot(), { maxBytes: 65536, redactHeaders: DEFAULTS.redactHeaders });
    expect(Object.keys(row)).toEqual(COLUMN_NAMES);
  });
});

describe('the table the embedded engine creates', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-row-'));
  const store = new EmbeddedStore({ dataDir, ttlDays: 0, memory: DEFAULTS });
  beforeAll(() => store.open());
  afterAll(async () => {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const batchOf = (rows: object[], batchId: string): RowBatch => {
    const jsonEachRow = rows.map((row) => `${JSON.stringify(row)}\n`).join('');
    return { jsonEachRow, rowCount: rows.length, byteLength: Buffer.byteLength(jsonEachRow), batchId };
  };

  it('has exactly the defined columns, with their types', async () => {
    const described = (await store.query(`DESCRIBE TABLE ${TABLE}`))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; type: string });
    expect(described.map(({ name, type }) => [name, type])).toEqual(COLUMN_NAMES.map((name) => [name, bareType(ROW_COLUMNS[name].type)]));
  });

  it('stores a built row with every value as written', async () => {
    const { row } = buildRow(finishedSnapshot(), { maxBytes: 65536, redactHeaders: DEFAULTS.redactHeaders });
    expect(await store.write(batchOf([row], 'row-roundtrip'))).toEqual({ ok: true });
    const stored = JSON.parse(await store.query(`SELECT * FROM ${TABLE} WHERE CaptureId = '${row.CaptureId}' SETTINGS output_format_json_quote_64bit_integers = 0`)) as ExchangeRow;
    expect(stored).toEqual(row);
  });

  it('refuses a row with a field the table does not have, naming it', async () => {
    const result = await store.write(batchOf([{ ...makeRow({ CaptureId: 'row-extra' }), NotAColumn: 'x' }], 'row-extra'));
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.error.message).toContain('NotAColumn');
  });
});

describe('the OTLP record', () => {
  /** A row with a value in every column (a streamed model call that failed mid-way), so each column has a chance to show. */
  const full = makeRow({
    RequestTrailers: { 'x-req-trailer': '1' },
    ResponseTrailers: { 'grpc-status': '0' },
    RequestBodyNote: 'binary_stored_base64',
    RequestBody: Buffer.from('raw').toString('base64'),
    ResponseBodyNote: 'processing_backlog',
    Outcome: 'response_incomplete',
    GenAiProvider: 'openai',
    GenAiOperation: 'chat',
    GenAiApi: 'openai_chat_completions',
    GenAiRequestModel: 'gpt-4o',
    GenAiResponseModel: 'gpt-4o-2024-08-06',
    GenAiResponseId: 'chatcmpl-1',
    GenAiStreaming: true,
    GenAiInputTokens: 10,
    GenAiOutputTokens: 20,
    GenAiCachedInputTokens: 3,
    GenAiCacheCreationInputTokens: 4,
    GenAiReasoningTokens: 5,
    GenAiUsageSource: 'provider',
    GenAiFinishReasons: ['stop'],
    GenAiOutputText: 'hello',
    GenAiOutputTextTruncated: true,
    GenAiToolCalls: '[{"id":"t1","name":"f","arguments":"{}","argumentsTruncated":false}]',
    GenAiEventCount: 7,
    GenAiErrorType: 'server_error',
    GenAiErrorMessage: 'boom',
    GenAiComplete: true,
    BodyRedactions: { openai_key: 1 },
    Metadata: { 'envoy.filters.http.ext_proc.k': 'v' },
    ObservabilityMode: true,
  });
  const record = mapExchangeRow(full, { resource: createStaticResource({}), scope: createScope(), observed: [0, 0] });
  const emitted = Object.keys(record.attributes);
  const matches = (declared: string, key: string): boolean => (declared.endsWith('.*') ? key.startsWith(declared.slice(0, -1)) : key === declared);

  it('carries every column the definition says it exports', () => {
    const missing = COLUMN_NAMES.filter((name) => {
      const otlp = ROW_COLUMNS[name].otlp;
      if ('record' in otlp) return otlp.record === 'timestamp' ? record.hrTime[0] === 0 : record.spanContext === undefined;
      if ('attributes' in otlp) return !otlp.attributes.some((declared) => emitted.some((key) => matches(declared, key)));
      return false;
    });
    expect(missing).toEqual([]);
  });

  it('has no attribute that no column declares', () => {
    const declared = COLUMN_NAMES.flatMap((name: ColumnName) => {
      const otlp = ROW_COLUMNS[name].otlp;
      return 'attributes' in otlp ? otlp.attributes : [];
    });
    expect(emitted.filter((key) => !declared.some((entry) => matches(entry, key)))).toEqual([]);
  });
});

describe('the README', () => {
  /** Column names in the first cell of the Storage table and the GenAI column table. */
  function documented(): Map<string, string> {
    const types = new Map<string, string>();
    const tableUnder = (heading: RegExp): string[] => {
      const start = README.search(heading);
      expect(start).toBeGreaterThanOrEqual(0);
      const lines = README.slice(start).split('\n');
      const first = lines.findIndex((line) => line.startsWith('| column |'));
      const rows: string[] = [];
      for (const line of lines.slice(first + 2)) {
        if (!line.startsWith('|')) break;
        rows.push(line);
      }
      return rows;
    };
    for (const line of [...tableUnder(/^## Storage$/m), ...tableUnder(/^The GenAI columns follow/m)]) {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
      const typeCell = /^`([^`]+)`$/.exec(cells[2] ?? '')?.[1] ?? '';
      for (const name of cells[1]!.matchAll(/`([A-Z][A-Za-z0-9]+)`/g)) types.set(name[1]!, typeCell);
    }
    return types;
  }

  it('documents every column and no other', () => {
    const names = [...documented().keys()].sort();
    expect(names).toEqual([...COLUMN_NAMES].sort());
  });

  it('gives each column the type the table has, where it names one', () => {
    const wrong = [...documented()].filter(([name, type]) => type !== '' && type !== bareType(ROW_COLUMNS[name as ColumnName]?.type ?? ''));
    expect(wrong).toEqual([]);
  });
});
