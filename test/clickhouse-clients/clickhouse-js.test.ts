/**
 * @clickhouse/client (the official Node.js client) on the admin port: schema
 * discovery, query parameters of every type, a streamed result, inserts, and
 * each compression codec it offers, both ways.
 */
import { ClickHouseLogLevel, TupleParam, createClient, type ClickHouseClient } from '@clickhouse/client';
import { CLIENT_PASSWORD, CLIENT_USER, SEEDED_AUTHORITY, useClientHarness } from './client-harness';

describe('@clickhouse/client on the admin port', () => {
  const harness = useClientHarness();
  const clients: ClickHouseClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
  });

  function client(codec?: 'gzip' | 'zstd' | 'br'): ClickHouseClient {
    const created = createClient({
      url: harness().adminUrl,
      username: CLIENT_USER,
      password: CLIENT_PASSWORD,
      // The error cases are expected; the client would log each one.
      log: { level: ClickHouseLogLevel.OFF },
      ...(codec !== undefined ? { compression: { request: { codec }, response: { codec } } } : {}),
    });
    clients.push(created);
    return created;
  }

  it('pings and discovers the schema the way a query builder does', async () => {
    const ch = client();
    expect((await ch.ping()).success).toBe(true);
    const databases = await (await ch.query({ query: 'SELECT name FROM system.databases', format: 'JSONEachRow' })).json<{ name: string }>();
    expect(databases.map((row) => row.name)).toEqual(expect.arrayContaining(['default', 'system']));
    const tables = await (await ch.query({ query: 'SELECT name FROM system.tables WHERE database = {db:String}', query_params: { db: 'default' }, format: 'JSONEachRow' })).json<{ name: string }>();
    expect(tables.map((row) => row.name)).toContain('http_exchanges');
    const columns = await (
      await ch.query({ query: "SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'http_exchanges'", format: 'JSONEachRow' })
    ).json<{ name: string; type: string }>();
    const described = await (await ch.query({ query: 'DESCRIBE TABLE http_exchanges', format: 'JSONEachRow' })).json<{ name: string; type: string }>();
    expect(described.map(({ name, type }) => [name, type])).toEqual(columns.map(({ name, type }) => [name, type]));
  });

  it('binds query parameters of every type, Map included', async () => {
    const rows = await (
      await client().query({
        query: `SELECT {s:String} AS s, {i:Int64} AS i, {f:Float64} AS f, {b:Bool} AS b, {d:Date} AS d, {dt:DateTime64(3, 'UTC')} AS dt,
                {u:UUID} AS u, {a:Array(String)} AS a, {m:Map(String, UInt64)} AS m, {n:Nullable(String)} AS n, {t:Tuple(UInt8, String)} AS t`,
        query_params: {
          s: "it's\ta\nline",
          i: -42,
          f: 1.5,
          b: true,
          d: '2026-12-06',
          dt: new Date('2026-12-06T10:11:12.345Z'),
          u: '8f4c6f5e-0a4b-4a4e-9b7c-3d2e1f0a9b8c',
          a: ["x'", 'y'],
          m: new Map([
            ['k1', 1],
            ["k'2", 2],
          ]),
          n: null,
          t: new TupleParam([1, 't']),
        },
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      })
    ).json();
    expect(rows).toEqual([
      {
        s: "it's\ta\nline",
        i: -42,
        f: 1.5,
        b: true,
        d: '2026-12-06',
        dt: '2026-12-06 10:11:12.345',
        u: '8f4c6f5e-0a4b-4a4e-9b7c-3d2e1f0a9b8c',
        a: ["x'", 'y'],
        m: { k1: 1, "k'2": 2 },
        n: null,
        t: [1, 't'],
      },
    ]);
  });

  it.each([undefined, 'gzip', 'zstd', 'br'] as const)(
    'streams a large result and inserts (compression: %s)',
    async (codec) => {
      const ch = client(codec);
      const result = await ch.query({ query: 'SELECT number, toString(number) AS s FROM numbers(300000)', format: 'JSONCompactEachRow' });
      let rows = 0;
      let sum = 0;
      let mismatched = 0;
      for await (const batch of result.stream<[string, string]>()) {
        for (const row of batch) {
          const [n, s] = row.json();
          if (s !== String(n)) mismatched++;
          rows++;
          sum += Number(n);
        }
      }
      expect({ rows, sum, mismatched }).toEqual({ rows: 300000, sum: 44999850000, mismatched: 0 });

      const table = `js_rows_${codec ?? 'plain'}`;
      await ch.command({ query: `CREATE TABLE ${table} (id UInt64, tags Map(String, String)) ENGINE = MergeTree ORDER BY id` });
      const values = Array.from({ length: 1000 }, (_, id) => ({ id, tags: { k: String(id % 7) } }));
      const inserted = await ch.insert({ table, values, format: 'JSONEachRow' });
      expect(inserted.summary?.written_rows).toBe('1000');
      const [back] = await (
        await ch.query({ query: `SELECT count() AS c, sum(id) AS s, max(tags['k']) AS k FROM ${table}`, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })
      ).json();
      expect(back).toEqual({ c: 1000, s: 499500, k: '6' });
      await ch.command({ query: `DROP TABLE ${table}` });
    },
    60_000,
  );

  it('takes query parameters as multipart/form-data (use_multipart_params)', async () => {
    const ch = createClient({ url: harness().adminUrl, username: CLIENT_USER, password: CLIENT_PASSWORD, use_multipart_params: true, log: { level: ClickHouseLogLevel.OFF } });
    clients.push(ch);
    const ids = Array.from({ length: 30000 }, (_, i) => i);
    const [row] = await (
      await ch.query({ query: "SELECT length({ids:Array(UInt32)}) AS n, {m:Map(String, String)}['k'] AS v", query_params: { ids, m: new Map([['k', 'v']]) }, format: 'JSONEachRow' })
    ).json();
    expect(row).toEqual({ n: 30000, v: 'v' });
  });

  it('reads the captured exchanges, Map columns included', async () => {
    const rows = await (
      await client().query({ query: 'SELECT Authority, RequestHeaders FROM http_exchanges WHERE Authority = {a:String}', query_params: { a: SEEDED_AUTHORITY }, format: 'JSONEachRow' })
    ).json<{ Authority: string; RequestHeaders: Record<string, string> }>();
    expect(rows).toEqual([{ Authority: SEEDED_AUTHORITY, RequestHeaders: expect.objectContaining({ 'x-caller': 'dashboards' }) }]);
  });

  it("reports errors with ClickHouse's code and the user's query", async () => {
    const syntax = await client()
      .query({ query: 'SELEC 1' })
      .catch((err: Error) => err);
    expect(syntax).toMatchObject({ code: '62', message: expect.stringContaining('failed at position 7') });
    // Not the admin interface's own parsing wrapper.
    expect((syntax as Error).message).not.toMatch(/formatQuery/);
    await expect(client().query({ query: 'SELECT no_such_column FROM http_exchanges' })).rejects.toMatchObject({ code: '47', message: expect.stringContaining('no_such_column') });
  });
});
