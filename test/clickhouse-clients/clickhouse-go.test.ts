/**
 * Grafana's ClickHouse data source, as far as the admin port can tell: its
 * driver, clickhouse-go v2, over HTTP with its defaults (Native format at
 * the driver's client_protocol_version, a hello query, max_execution_time
 * from its deadline), and with each compression it offers: HTTP's, and
 * ClickHouse's own compressed blocks (LZ4, ZSTD).
 */
import { installGoClient } from './clients-install';
import { CLIENT_PASSWORD, CLIENT_USER, SEEDED_AUTHORITY, adminAddress, useClientHarness } from './client-harness';
import { failedSteps, runClient, runGoQueries, type ClientReport } from './run-client';

describe('clickhouse-go v2 (Grafana) on the admin port', () => {
  const harness = useClientHarness();

  function run(compression: string, writes: boolean): Promise<ClientReport> {
    const { host, port } = adminAddress(harness());
    return runClient(installGoClient(), [], { CH_ADDR: `${host}:${port}`, CH_USER: CLIENT_USER, CH_PASSWORD: CLIENT_PASSWORD, CH_COMPRESSION: compression, CH_WRITES: writes ? '1' : '0' });
  }

  it('connects, discovers the schema, binds every parameter type, streams, reads the store and inserts', async () => {
    const report = await run('', true);
    expect(failedSteps(report)).toEqual({});
    expect(report.ping).toBe('ok');
    expect(report.serverVersion).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+/), revision: expect.any(Number) });
    expect(report.databases).toEqual(expect.arrayContaining(['default', 'system']));
    expect(report.tables).toContain('http_exchanges');
    expect(report.columns).toMatchObject({ Timestamp: "DateTime64(9, 'UTC')", RequestHeaders: 'Map(LowCardinality(String), String)', Authority: 'LowCardinality(String)' });
    expect(report.describe).toBe(Object.keys(report.columns as object).length);
    expect(report.parameters).toEqual({
      s: "it's\ta",
      u8: 255,
      i64: '-9007199254740993',
      f: 1.5,
      b: true,
      d: '2026-12-06',
      dt: '2026-12-06T10:11:12Z',
      dt64: '2026-12-06T10:11:12.345Z',
      uuid: '8f4c6f5e-0a4b-4a4e-9b7c-3d2e1f0a9b8c',
      arr: ['x', 'y'],
      m: { k1: 1, k2: 2 },
      nIsNull: true,
      dec: '12.34',
      tup: [1, 't'],
    });
    expect(report.bound).toEqual({ a: 42, b: "x'y" });
    expect(report.exchanges).toEqual([expect.objectContaining({ authority: SEEDED_AUTHORITY, status: 200, headers: expect.objectContaining({ 'x-caller': 'dashboards' }), reasons: [] })]);
    expect(report.stream).toEqual({ rows: 300000, sum: 44999850000 });
    // The user's own SQL in the message, and ClickHouse's code for it.
    expect(report.error).toMatchObject({ text: expect.stringMatching(/code: 47.*no_such_column/) });
    expect(report.readBack).toEqual({ count: 1000, sum: 499500, nulls: 500, maxTag: '6' });
  }, 120_000);

  // lz4 and zstd are ClickHouse's compressed blocks (compress=1 answers, decompress=1 inserts), the others HTTP compression.
  it.each(['gzip', 'deflate', 'br', 'lz4', 'zstd'])(
    'works with %s compression both ways (queries and inserts)',
    async (compression) => {
      const report = await run(compression, true);
      expect(failedSteps(report)).toEqual({});
      expect(report.stream).toEqual({ rows: 300000, sum: 44999850000 });
      expect(report.readBack).toEqual({ count: 1000, sum: 499500, nulls: 500, maxTag: '6' });
    },
    120_000,
  );

  it('decodes Native blocks of every column type at its protocol revision, and names a type it cannot frame', async () => {
    const wide = `SELECT toLowCardinality(toNullable(toString(number))) AS lcn, [toNullable(toUInt8(number)), NULL] AS an,
        tuple(toString(number), [toLowCardinality('x')])::Tuple(a String, b Array(LowCardinality(String))) AS t, map(toString(number), [toNullable('v'), NULL]) AS m,
        toFixedString('ab', 2) AS fs, CAST('b', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)') AS e, toIPv4('1.2.3.4') AS ip4, toIPv6('::1') AS ip6, (1.5, 2.5)::Point AS p,
        [(1.0, 2.0)]::Ring AS r, toDecimal256(1.5, 10) AS d256, toInt256(-5) AS i256, toDate32('2026-01-01') AS d32, toBFloat16(1.5) AS bf,
        [map('k', (1, 'z'))] AS nested, toDateTime64('2026-12-06 10:00:00.123', 3, 'UTC') AS dt64, toUUID('8f4c6f5e-0a4b-4a4e-9b7c-3d2e1f0a9b8c') AS u
      FROM numbers(5000) SETTINGS max_block_size = 1000`;
    const [decoded, dynamic] = await runGoQueries(harness(), [wide, 'SELECT 1::Dynamic AS dyn']);
    expect(decoded!.error).toBeUndefined();
    expect(decoded!.rows).toBe(5000);
    expect(decoded!.columns.map(([, type]) => type)).toEqual([
      'LowCardinality(Nullable(String))',
      'Array(Nullable(UInt8))',
      'Tuple(a String, b Array(LowCardinality(String)))',
      'Map(String, Array(Nullable(String)))',
      'FixedString(2)',
      "Enum8('a' = 1, 'b' = 2)",
      'IPv4',
      'IPv6',
      'Point',
      'Ring',
      'Decimal(76, 10)',
      'Int256',
      'Date32',
      'BFloat16',
      'Array(Map(String, Tuple(UInt8, String)))',
      "DateTime64(3, 'UTC')",
      'UUID',
    ]);
    expect(dynamic!.error).toMatch(/code: 48, .*column dyn of type Dynamic/);
  }, 60_000);
});
