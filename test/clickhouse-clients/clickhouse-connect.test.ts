/**
 * clickhouse-connect (Python) on the admin port with its defaults: Native
 * format after its client_protocol_version probe, lz4 both ways, per-query
 * settings checked against system.settings, dicts as JSON Map parameters —
 * and with each other compression it offers.
 */
import { PYTHON_CLIENT, installPythonClient } from './clients-install';
import { CLIENT_PASSWORD, CLIENT_USER, SEEDED_AUTHORITY, adminAddress, useClientHarness } from './client-harness';
import { failedSteps, runClient, type ClientReport } from './run-client';

const READ_BACK = [1000, 499500, 500, '6'];

describe('clickhouse-connect on the admin port', () => {
  const harness = useClientHarness();

  function run(compression: string, writes: boolean): Promise<ClientReport> {
    const { host, port } = adminAddress(harness());
    return runClient(installPythonClient(), [PYTHON_CLIENT], {
      CH_HOST: host,
      CH_PORT: port,
      CH_USER: CLIENT_USER,
      CH_PASSWORD: CLIENT_PASSWORD,
      CH_COMPRESSION: compression,
      CH_WRITES: writes ? '1' : '0',
    });
  }

  it('connects at its protocol revision, discovers the schema, binds every parameter type, streams, reads the store and inserts', async () => {
    const report = await run('', true);
    expect(failedSteps(report)).toEqual({});
    // 54405: the probe's answer decoded as ClickHouse frames it; lz4 is its default compression.
    expect(report.connect).toMatchObject({ protocolVersion: 54405, compression: expect.stringMatching(/^lz4/) });
    expect(report.databases).toEqual(expect.arrayContaining(['default', 'system']));
    expect(report.tables).toContain('http_exchanges');
    expect(report.columns).toMatchObject({ Timestamp: "DateTime64(9, 'UTC')", GenAiFinishReasons: 'Array(LowCardinality(String))' });
    expect(report.describe).toBe(Object.keys(report.columns as object).length);
    expect(report.parameters).toEqual([
      "it's\ta",
      255,
      // Read back through JSON, an Int64 past 2^53 is compared at a double's precision here; the Go client's test compares it exactly, as text.
      // eslint-disable-next-line no-loss-of-precision
      -9007199254740993,
      1.5,
      true,
      '2026-12-06',
      '2026-12-06 10:11:12',
      '2026-12-06 10:11:12.345000',
      '8f4c6f5e-0a4b-4a4e-9b7c-3d2e1f0a9b8c',
      ['x', 'y'],
      { k1: 1, k2: 2 },
      null,
      '12.34',
      [1, 't'],
    ]);
    // Per-query settings reach the server: the client did not drop or refuse them.
    expect(report.settings).toBe(10);
    expect(report.exchanges).toEqual([expect.objectContaining({ authority: SEEDED_AUTHORITY, status: 200, headers: expect.objectContaining({ 'x-caller': 'dashboards' }) })]);
    // external_data: two tables (structure; types + CSV) read by the query.
    expect(report.external).toEqual(['two', 'three']);
    expect(report.summary).toBe('10');
    expect(report.stream).toEqual({ rows: 300000, sum: 44999850000 });
    expect(report.error).toMatchObject({ code: 47, text: expect.stringContaining('no_such_column') });
    // The insert's summary comes from X-ClickHouse-Summary.
    expect(report.insert).toEqual({ written_rows: 1000 });
    expect(report.readBack).toEqual(READ_BACK);
  }, 120_000);

  it.each(['zstd', 'gzip'])(
    'works with %s compression both ways (queries and inserts)',
    async (compression) => {
      const report = await run(compression, true);
      expect(failedSteps(report)).toEqual({});
      expect(report.connect).toMatchObject({ compression });
      expect(report.stream).toEqual({ rows: 300000, sum: 44999850000 });
      expect(report.readBack).toEqual(READ_BACK);
    },
    120_000,
  );

  it('reads with deflate compression (the client compresses inserts only with lz4, zstd or gzip)', async () => {
    const report = await run('deflate', false);
    expect(failedSteps(report)).toEqual({});
    expect(report.connect).toMatchObject({ compression: 'deflate' });
    expect(report.stream).toEqual({ rows: 300000, sum: 44999850000 });
  }, 120_000);
});
