/**
 * The remote table's DDL for every layout option, checked by ClickHouse's own
 * parser and engine (chdb, the same ClickHouse the embedded store runs):
 *   - every statement, for every engine, with and without a cluster and a
 *     Distributed table, parses (EXPLAIN AST), and the parsed statement keeps
 *     what the option asked for (ON CLUSTER, the engine and its arguments);
 *   - what this engine can create is created: the storage table of every
 *     layout (with MergeTree standing in for the engines that need Keeper or
 *     ClickHouse Cloud), its settings and every column, then the migrations
 *     run on it;
 *   - `egress-capture schema` prints the statements for its options, and
 *     refuses combinations that cannot work with a message naming them.
 * No ClickHouse cluster runs here: creating a ReplicatedMergeTree or a
 * Distributed table for real is left to docs/scaling.md's checklist.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session } from 'chdb';
import { COLUMNS, INDEXES, RETIRED_INDEXES, searchText, supportsTextIndex, TABLE_DEFINITION, tableDefinitionFor } from '../../../src/sinks/clickhouse/schema';
import type { ColumnName } from '../../../src/row/exchange-row';
import { runInProcess } from '../../cli/cli-helpers';
import { createStatements, migrationStatements, retiredIndexNames, retiredIndexQuery, SINGLE_SERVER_LAYOUT, TABLE_ENGINES, type TableLayout } from '../../../src/sinks/clickhouse/table-layout';

const LAYOUTS: TableLayout[] = TABLE_ENGINES.flatMap((engine) =>
  [
    { cluster: '', distributed: false },
    { cluster: 'c1', distributed: false },
    // A ClickHouse Cloud service is one shard: no Distributed table over it (refused by the options).
    ...(engine === 'SharedMergeTree' ? [] : [{ cluster: 'c1', distributed: true }]),
  ].map((shape) => ({ ...SINGLE_SERVER_LAYOUT, engine, ...shape })),
);

function describeLayout(layout: TableLayout): string {
  return `${layout.engine}${layout.cluster === '' ? '' : ` on cluster ${layout.cluster}`}${layout.distributed ? ' behind Distributed' : ''}`;
}

const runCli = (argv: string[]) => runInProcess(argv);

describe('remote table DDL', () => {
  let dir: string;
  let session: Session;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-layout-'));
    session = new Session(dir);
  });

  /** What a store asks at each start: which retired indexes the table in `database` still has. */
  const retiredIn = (database: string): string[] => retiredIndexNames(session.query(retiredIndexQuery(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT).replace('currentDatabase()', `'${database}'`), 'TSVRaw'));

  afterAll(() => {
    session?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * ClickHouse's own formatting of the parsed statement (throws on a syntax error).
   * The parser looks the engine up to read its SETTINGS, and this build has no
   * SharedMergeTree (ClickHouse Cloud's): its statement is parsed with MergeTree in that
   * place (the settings are MergeTree settings, which SharedMergeTree takes), and its
   * engine clause is parsed on its own, without the SETTINGS.
   */
  const parsed = (statement: string): string => {
    if (statement.includes('ENGINE = SharedMergeTree')) expect(session.query(`EXPLAIN AST ${statement.replace(/\nSETTINGS .*$/, '')}`, 'TSVRaw')).toContain('Function SharedMergeTree');
    else expect(session.query(`EXPLAIN AST ${statement}`, 'TSVRaw')).not.toBe('');
    const formatted = session.query(`SELECT formatQuerySingleLine(${quote(statement.replace('ENGINE = SharedMergeTree', 'ENGINE = MergeTree'))})`, 'TSVRaw').trim();
    return statement.includes('ENGINE = SharedMergeTree') ? formatted.replace('ENGINE = MergeTree', 'ENGINE = SharedMergeTree') : formatted;
  };
  const quote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

  it.each(LAYOUTS.flatMap((layout) => [0, 30].map((ttlDays) => [describeLayout(layout), ttlDays, layout] as const)))(
    '%s (TTL %s days): every statement parses and keeps the layout',
    (_name, ttlDays, layout) => {
      const statements = [...createStatements(TABLE_DEFINITION, layout, ttlDays), ...migrationStatements(TABLE_DEFINITION, layout, ttlDays)];
      for (const statement of statements) {
        const formatted = parsed(statement);
        if (layout.cluster !== '') expect(formatted).toContain('ON CLUSTER c1');
        else expect(formatted).not.toContain('ON CLUSTER');
      }
      const [storage, distributed] = createStatements(TABLE_DEFINITION, layout, ttlDays).map(parsed);
      const local = layout.distributed ? 'http_exchanges_local' : 'http_exchanges';
      expect(storage).toContain(`CREATE TABLE IF NOT EXISTS ${local}`);
      if (layout.engine === 'ReplicatedMergeTree') expect(storage).toContain("ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')");
      else expect(storage).toMatch(new RegExp(`ENGINE = ${layout.engine} PARTITION BY`));
      expect(storage).toContain(layout.engine === 'MergeTree' ? 'non_replicated_deduplication_window = 1000' : 'replicated_deduplication_window = 1000');
      if (layout.distributed) {
        expect(distributed).toContain("ENGINE = Distributed('c1', currentDatabase(), http_exchanges_local, cityHash64(if(RequestId = '', CaptureId, RequestId)))");
        // The Distributed table lists every column (without codecs: it stores nothing).
        for (const [name] of COLUMNS) expect(distributed).toContain(`\`${name}\` `);
        expect(distributed).not.toContain('CODEC');
      } else {
        expect(distributed).toBeUndefined();
      }
    },
  );

  it('a replica path or name with quotes stays one string literal', () => {
    const layout: TableLayout = { ...SINGLE_SERVER_LAYOUT, engine: 'ReplicatedMergeTree', replicaPath: "/t/it's/{shard}", replicaName: "r'); DROP TABLE x; --" };
    const [create] = createStatements(TABLE_DEFINITION, layout, 0);
    expect(parsed(create!)).toContain("ENGINE = ReplicatedMergeTree('/t/it\\'s/{shard}', 'r\\'); DROP TABLE x; --')");
  });

  it.each(LAYOUTS.map((layout) => [describeLayout(layout), layout] as const))(
    '%s: the storage table is created here (MergeTree standing in for the engine), with every column, and migrated',
    (_name, layout) => {
      const database = `layout_${LAYOUTS.indexOf(layout)}`;
      session.query(`CREATE DATABASE ${database}`);
      // No cluster and no Keeper here: the same statement on one server, with the engine this one has.
      const local = (statement: string): string =>
        statement
          .replace(/ ON CLUSTER 'c1'/, '')
          .replace(/ENGINE = (Replicated|Shared)MergeTree(\('[^']*', '[^']*'\))?/, 'ENGINE = MergeTree')
          .replace(/^(CREATE TABLE IF NOT EXISTS|ALTER TABLE) /, `$1 ${database}.`);
      const [storage] = createStatements(TABLE_DEFINITION, layout, 30);
      session.query(local(storage!));
      const table = layout.distributed ? 'http_exchanges_local' : 'http_exchanges';
      const columns = session.query(`SELECT name FROM system.columns WHERE database = '${database}' AND table = '${table}' ORDER BY position`, 'TSVRaw').trim().split('\n');
      expect(columns).toEqual(COLUMNS.map(([name]) => name));
      const settings = session.query(`SELECT create_table_query FROM system.tables WHERE database = '${database}' AND name = '${table}'`, 'TSVRaw');
      expect(settings).toContain(layout.engine === 'MergeTree' ? 'non_replicated_deduplication_window = 1000' : 'replicated_deduplication_window = 1000');
      for (const statement of migrationStatements(TABLE_DEFINITION, layout, 7).filter((s) => s.startsWith(`ALTER TABLE ${table}`))) session.query(local(statement));
      expect(session.query(`SELECT create_table_query FROM system.tables WHERE database = '${database}' AND name = '${table}'`, 'TSVRaw')).toContain(
        'toIntervalDay(if(RetentionDays = 0, 7, RetentionDays))',
      );
    },
  );

  it('a table made before an index was declared gets it from the migrations, and keeps its rows', () => {
    const database = 'before_indexes';
    session.query(`CREATE DATABASE ${database}`);
    const [create] = createStatements({ ...TABLE_DEFINITION, indexes: [] }, SINGLE_SERVER_LAYOUT, 0);
    session.query(create!.replace('CREATE TABLE IF NOT EXISTS ', `CREATE TABLE IF NOT EXISTS ${database}.`));
    session.query(`INSERT INTO ${database}.http_exchanges (Timestamp, CaptureId, Path) VALUES (now64(9), 'old', '/v1/older')`);
    const indexes = (): string[] =>
      session
        .query(`SELECT name FROM system.data_skipping_indices WHERE database = '${database}' ORDER BY name`, 'TSVRaw')
        .trim()
        .split('\n')
        .filter((name) => name !== '');
    expect(indexes()).toEqual([]);
    for (const statement of migrationStatements(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT, 7)) session.query(statement.replace(/^ALTER TABLE /, `ALTER TABLE ${database}.`));
    expect(indexes()).toEqual(INDEXES.map((index) => /^INDEX (\S+)/.exec(index)![1]).sort());
    // Run again: every statement is idempotent.
    for (const statement of migrationStatements(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT, 7)) session.query(statement.replace(/^ALTER TABLE /, `ALTER TABLE ${database}.`));
    // The older part has no index (nothing is rebuilt): the search reads it, and finds its row.
    expect(session.query(`SELECT CaptureId FROM ${database}.http_exchanges WHERE hasAllTokens(${searchText()}, 'older')`, 'TSVRaw').trim()).toBe('old');
  });

  it("a table with an earlier version's search index has it dropped and the current one added, its rows still found", () => {
    const database = 'earlier_search_index';
    session.query(`CREATE DATABASE ${database}`);
    // idx_search as the earlier version declared it: the raw response body tokenized whatever it held.
    const earlier = "INDEX idx_search lower(concat(Path, ' ', RequestBody, ' ', ResponseBody, ' ', GenAiOutputText)) TYPE text(tokenizer = splitByNonAlpha)";
    const withoutCurrent = INDEXES.filter((index) => !index.includes(' TYPE text('));
    const [create] = createStatements({ ...TABLE_DEFINITION, indexes: [...withoutCurrent, earlier] }, SINGLE_SERVER_LAYOUT, 0);
    session.query(create!.replace('CREATE TABLE IF NOT EXISTS ', `CREATE TABLE IF NOT EXISTS ${database}.`));
    session.query(`INSERT INTO ${database}.http_exchanges (Timestamp, CaptureId, Path, GenAiStreaming, GenAiOutputText) VALUES (now64(9), 'old', '/v1/older', true, 'a folded answer')`);
    const textIndexes = (): string => session.query(`SELECT name, type FROM system.data_skipping_indices WHERE database = '${database}' AND type = 'text'`, 'TSVRaw').trim();
    expect(textIndexes()).toBe('idx_search\ttext');
    // What a store runs at each start, twice: ask which retired indexes are there, then migrate.
    const retired = (): string[] => retiredIn(database);
    expect(retired()).toEqual(['idx_search']);
    for (let run = 0; run < 2; run++) {
      for (const statement of migrationStatements(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT, 7, [], retired())) session.query(statement.replace(/^ALTER TABLE /, `ALTER TABLE ${database}.`));
    }
    expect(retired()).toEqual([]);
    expect(textIndexes()).toBe('idx_words\ttext');
    expect(session.query(`SELECT CaptureId FROM ${database}.http_exchanges WHERE hasAllTokens(${searchText()}, 'folded')`, 'TSVRaw').trim()).toBe('old');
  });

  it('a service start migrates without queuing a mutation, and the search, qualified or not, reads the text index', () => {
    const database = 'current_search_index';
    session.query(`CREATE DATABASE ${database}`);
    const [create] = createStatements(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT, 0);
    session.query(create!.replace('CREATE TABLE IF NOT EXISTS ', `CREATE TABLE IF NOT EXISTS ${database}.`));
    // What a store runs at each start: the retired indexes still there (none), then the migrations.
    const retired = retiredIn(database);
    expect(retired).toEqual([]);
    for (const statement of migrationStatements(TABLE_DEFINITION, SINGLE_SERVER_LAYOUT, 7, [], retired)) session.query(statement.replace(/^ALTER TABLE /, `ALTER TABLE ${database}.`));
    // DROP INDEX IF EXISTS would have queued a rewrite of every part even with nothing to drop.
    expect(session.query(`SELECT count() FROM system.mutations WHERE database = '${database}'`, 'TSVRaw').trim()).toBe('0');
    session.query(
      `INSERT INTO ${database}.http_exchanges (Timestamp, CaptureId, Path, ResponseBody, GenAiStreaming, GenAiApi, GenAiOutputText) VALUES ` +
        `(now64(9), 'streamed', '/v1/chat/completions', 'data: {"object":"chat.completion.chunk"}', true, 'openai_chat_completions', 'a folded answer'), ` +
        `(now64(9), 'plain', '/v1/chat/completions', '{"object":"chat.completion","choices":[]}', false, 'openai_chat_completions', 'a plain answer')`,
    );
    const found = (word: string, column?: (name: ColumnName) => string): string => {
      const query = `SELECT CaptureId FROM ${database}.http_exchanges AS http_exchanges WHERE hasAllTokens(${searchText(column)}, '${word}') ORDER BY CaptureId`;
      // The engine matches the query's expression to the index's only as it rewrites both (`!= ''`, IN):
      // a mismatch still finds the rows, by reading every body, so the plan is what tells.
      expect(session.query(`EXPLAIN indexes = 1 ${query}`, 'TSVRaw')).toMatch(/Name: idx_words/);
      return session.query(query, 'TSVRaw').trim().replace(/\n/g, ',');
    };
    expect(found('answer')).toBe('plain,streamed');
    expect(found('answer', (name) => `http_exchanges.${name}`)).toBe('plain,streamed');
    // A delta-only stream is searched through its fold; any other body as it is, beside its fold.
    expect(found('chunk')).toBe('');
    expect(found('choices')).toBe('plain');
  });

  it('`egress-capture schema --cluster c1 --engine ReplicatedMergeTree` prints DDL the engine parses', async () => {
    const { code, stdout, stderr } = await runCli(['schema', '--cluster', 'c1', '--engine', 'ReplicatedMergeTree']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^-- egress-capture table for cluster c1, ReplicatedMergeTree, TTL 30 days \(a row's own RetentionDays wins\); run in the database of --clickhouse-url\.\n/);
    const statements = stdout
      .replace(/^--.*\n/gm, '')
      .split(/;\n/)
      .map((s) => s.trim())
      .filter((s) => s !== '');
    expect(statements).toHaveLength(1);
    expect(parsed(statements[0]!)).toMatch(
      /^CREATE TABLE IF NOT EXISTS http_exchanges ON CLUSTER c1 \(.*\) ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'\)/,
    );

    // The serve flag names work too, and --migrations adds the ALTERs, each parsed.
    const full = await runCli(['schema', '--clickhouse-cluster=c1', '--distributed', '--ttl-days', '0', '--migrations']);
    expect(full.code).toBe(0);
    const all = full.stdout
      .replace(/^--.*\n/gm, '')
      .split(/;\n/)
      .map((s) => s.trim())
      .filter((s) => s !== '');
    expect(all).toHaveLength(2 + 2 * COLUMNS.length + RETIRED_INDEXES.length + INDEXES.length + 1);
    for (const statement of all) parsed(statement);
    // No --ttl-days: only rows the capture policy gave a retention of their own expire.
    expect(all.at(-1)).toBe(
      "ALTER TABLE http_exchanges_local ON CLUSTER 'c1' MODIFY TTL toDateTime(Timestamp) + toIntervalDay(RetentionDays) WHERE RetentionDays > 0 SETTINGS materialize_ttl_after_modify = 0",
    );
  });

  it('`egress-capture schema` names every bad option and exits 2', async () => {
    const { code, stdout, stderr } = await runCli(['schema', '--engine', 'ReplacingMergeTree', '--cluster', 'my cluster', '--distributed']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      [
        'egress-capture: CAP_ERR_CONFIG_INVALID: invalid configuration:',
        '  --cluster: "my cluster" expected a cluster name of remote_servers (letters, digits, _ . -)',
        '  --engine: "ReplacingMergeTree" not one of MergeTree, ReplicatedMergeTree, SharedMergeTree',
        '  --distributed: "true" needs --cluster: a Distributed table spans the shards of a named cluster',
        '',
      ].join('\n'),
    );
    const shared = await runCli(['schema', '--cluster', 'default', '--engine', 'SharedMergeTree', '--distributed']);
    expect(shared.code).toBe(2);
    expect(shared.stderr).toContain('--distributed: "true" does not go with --engine SharedMergeTree: a ClickHouse Cloud service is one shard');
    const unknown = await runCli(['schema', '--shards', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^egress-capture schema: Unknown option '--shards'/);
  });
});

describe('a remote server older than the text index', () => {
  it('gets the table without it, every other index kept', () => {
    expect(supportsTextIndex('25.8.3.1')).toBe(false);
    expect(supportsTextIndex('26.1.2.1')).toBe(false);
    expect(supportsTextIndex('26.2.1.1')).toBe(true);
    expect(supportsTextIndex('27.1.1.1')).toBe(true);
    const older = tableDefinitionFor('25.8.3.1');
    expect(older.indexes).toEqual(INDEXES.filter((index) => !index.startsWith('INDEX idx_words ')));
    expect(older.indexes).toHaveLength(INDEXES.length - 1);
    expect(createStatements(older, SINGLE_SERVER_LAYOUT, 30).join('\n')).not.toContain('TYPE text');
    expect(tableDefinitionFor('26.7.1.1')).toBe(TABLE_DEFINITION);
  });
});
