/**
 * The http_exchanges table, shared by the embedded and the remote store.
 * Its columns come from src/row/exchange-row.ts; this file adds its indexes.
 * Engine, partitioning, sort key, TTL and the cluster layout: table-layout.ts.
 *
 * - Bloom-filter skip indexes on the ids people paste into a query
 *   (CaptureId, RequestId, TraceId).
 * - A text (inverted) index on the words of an exchange (searchText): the
 *   capture browser's search. Without it a search for a word no row holds
 *   reads every body in the range (9 s over a million rows here); with it the
 *   engine answers from the index's postings and reads no body at all. It
 *   costs ~5 us per KB of text at insert and ~9 MiB per million rows on disk
 *   (README, "Capture browser"); merges combine the parts' indexes rather than
 *   tokenizing again. Which text it holds for a streamed answer: searchText.
 * - ZSTD(1) codecs everywhere: level 3 on the bodies doubled the insert CPU
 *   for bodies about 10% smaller.
 * New columns are added with ADD COLUMN IF NOT EXISTS at start-up, so an
 * older table is migrated in place.
 *
 * Embedded engine only: merge_selector_base = 20 (ClickHouse's default is 5).
 * The in-process engine shares the capture service's cores, and with the
 * default a row is rewritten by background merges about log5(parts) times
 * (level 5-6 after a few minutes of load). Measured here with ~650-row
 * inserts: merges drop from ~30 us to a few us per row, for ~15-30 live parts
 * per day partition instead of ~2-5, which a time-range query reads in
 * parallel anyway. A remote server keeps its own merge policy.
 */
import type { GenAiApi } from '../../processing/genai/genai-summary';
import { COLUMN_NAMES, ROW_COLUMNS, type ColumnName } from '../../row/exchange-row';
import { sqlStringLiteral } from './sql-literal';
import { createStatements, migrationStatements, SINGLE_SERVER_LAYOUT, type TableDefinition, type TableLayout } from './table-layout';

export const TABLE = 'http_exchanges';

/** Column name and ClickHouse type, in table order, from the row's one definition. */
export const COLUMNS: ReadonlyArray<readonly [name: ColumnName, type: string]> = COLUMN_NAMES.map((name) => [name, ROW_COLUMNS[name].type] as const);

/**
 * Where a punctuation-only search (no word to look up in the index) looks for
 * its substring: the path, both bodies and the folded answer.
 */
export const SEARCH_COLUMNS = ['Path', 'RequestBody', 'ResponseBody', 'GenAiOutputText'] as const satisfies readonly ColumnName[];

/**
 * What the engine folded out of a streamed model answer, in place of its raw
 * body in the search text: the answer's text, its tool calls (names and
 * arguments), the response id and model, and the provider's error message.
 */
const FOLDED_ANSWER_COLUMNS = ['GenAiOutputText', 'GenAiToolCalls', 'GenAiResponseId', 'GenAiResponseModel', 'GenAiErrorMessage'] as const satisfies readonly ColumnName[];

/**
 * Streams made of nothing but deltas of what the fold keeps (choice 0's text
 * for chat completions: other choices of an n > 1 stream are not searched).
 * Other streams carry words the fold leaves out (a Responses stream's final
 * response with its annotations, Anthropic's citations and search results,
 * Gemini's grounding), so their raw body stays in the search text.
 */
export const DELTA_ONLY_STREAMS = ['openai_chat_completions', 'ollama_chat'] as const satisfies readonly GenAiApi[];

/**
 * The text the search index holds, lower-cased (ASCII) so a search ignores
 * case and finds its words across the parts in one lookup: the path, the
 * request body, and the response: its body and the folded answer, or, for a
 * delta-only stream (DELTA_ONLY_STREAMS) the engine folded whole (text or
 * tool calls, the text not cut), the folded answer (FOLDED_ANSWER_COLUMNS)
 * alone. Such a stream's other words are its framing, the same JSON keys,
 * ids and event names repeated in every one of its ~40 events, and its own
 * words arrive cut into fragments (`Hel`, `lo`) that a word search does not
 * find anyway. Tokenizing the raw stream was half of an insert's CPU for the
 * bench's 10.8 KB rows (~70-100 us of ~150 per row, measured here on 12,000
 * of them), for words nobody searches. The search must use this same
 * expression, or the engine does not match it to the index; `column`
 * qualifies the names for a query.
 */
export function searchText(column: (name: ColumnName) => string = (name) => name): string {
  // Written as the engine keeps it when it reads a query: it rewrites `x != ''` to notEmpty(x) and an
  // OR of equalities to IN, after which the query no longer matches the index's expression.
  const streams = DELTA_ONLY_STREAMS.map(sqlStringLiteral).join(', ');
  const folded = `${column('GenAiStreaming')} AND has([${streams}], ${column('GenAiApi')}) AND (notEmpty(${column('GenAiOutputText')}) OR notEmpty(${column('GenAiToolCalls')})) AND NOT ${column('GenAiOutputTextTruncated')}`;
  const answer = `concat(${FOLDED_ANSWER_COLUMNS.map(column).join(", ' ', ")})`;
  return `lower(concat(${column('Path')}, ' ', ${column('RequestBody')}, ' ', if(${folded}, ${answer}, concat(${column('ResponseBody')}, ' ', ${column('GenAiOutputText')}))))`;
}

/**
 * Words are runs of ASCII letters and digits (anything else, non-ASCII bytes
 * aside, separates them): JSON, SSE framing and URL paths split into the words
 * a person would type.
 */
export const SEARCH_TOKENIZER = 'splitByNonAlpha';

export const INDEXES = [
  'INDEX idx_capture_id CaptureId TYPE bloom_filter(0.001) GRANULARITY 1',
  'INDEX idx_request_id RequestId TYPE bloom_filter(0.001) GRANULARITY 1',
  'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
  // No GRANULARITY: a text index's default covers a whole part, its postings point at rows.
  `INDEX idx_words ${searchText()} TYPE text(tokenizer = ${SEARCH_TOKENIZER})`,
];

/**
 * Indexes earlier versions created, dropped from an existing table at start-up.
 * idx_search held the same words as idx_words but tokenized streamed answers'
 * raw bodies (searchText); kept, it would cost every insert that work again.
 * An index changes its name when its expression changes: ADD INDEX IF NOT
 * EXISTS keeps an index of the same name whatever its expression, and the
 * search would no longer match it.
 */
export const RETIRED_INDEXES = ['idx_search'];

export const TABLE_DEFINITION: TableDefinition = { table: TABLE, columns: COLUMNS, indexes: INDEXES, retiredIndexes: RETIRED_INDEXES };

/** The first ClickHouse release whose text index is generally available (earlier ones refuse the DDL). */
export const TEXT_INDEX_SINCE: readonly [major: number, minor: number] = [26, 2];

/** Whether a server of this version (`SELECT version()`, e.g. 25.8.3.1) can hold the text index. */
export function supportsTextIndex(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return true;
  return major! > TEXT_INDEX_SINCE[0] || (major === TEXT_INDEX_SINCE[0] && minor! >= TEXT_INDEX_SINCE[1]);
}

/**
 * The table as a server of `version` can hold it: an older remote server gets
 * it without the text index (the capture browser's word search then has no
 * index to use there), rather than a table it cannot create.
 */
export function tableDefinitionFor(version: string): TableDefinition {
  return supportsTextIndex(version) ? TABLE_DEFINITION : { ...TABLE_DEFINITION, indexes: INDEXES.filter((index) => !/ TYPE text\(/.test(index)) };
}

/** MergeTree settings for the embedded engine (see the header comment). */
export const EMBEDDED_TABLE_SETTINGS: ReadonlyArray<readonly [name: string, value: number]> = [['merge_selector_base', 20]];

/**
 * Statements that bring any database to the current schema; each is
 * idempotent. `retiredPresent`: the retired indexes the table still has
 * (retiredIndexQuery; none for a new table). `tableSettings` are set at
 * creation and re-applied to an existing table, except CREATE_ONLY_SETTINGS
 * (table-layout.ts), which the engine fixes at creation.
 */
export function schemaStatements(
  ttlDays: number,
  retiredPresent: readonly string[],
  tableSettings: ReadonlyArray<readonly [name: string, value: number]> = [],
  layout: TableLayout = SINGLE_SERVER_LAYOUT,
  definition: TableDefinition = TABLE_DEFINITION,
): string[] {
  return [...createStatements(definition, layout, ttlDays, tableSettings), ...migrationStatements(definition, layout, ttlDays, tableSettings, retiredPresent)];
}
