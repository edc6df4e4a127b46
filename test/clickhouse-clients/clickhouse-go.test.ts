/**
 * Grafana's ClickHouse data source, as far as the admin port can tell: its
 * driver, clickhouse-go v2, over HTTP with its defaults (Native format at
 * the driver's client_protocol_version, a hello query, max_execution_time
 * from its deadline), and with each HTTP compression it offers.
 */
import { installGoClient } from './clients-install';
import { CLIENT_PASSWORD, CLIENT_USER, SEEDED_AUTHORITY, adminAddress, useClientHarness } from './client-harness';
import { failedSteps, runClient, type ClientReport } from './run-client';

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

  it.each(['gzip', 'deflate', 'br'])('works with %s compression both ways (queries and inserts)', async (compression) => {
    const report = await run(compression, true);
    expect(failedSteps(report)).toEqual({});
    expect(report.stream).toEqual({ rows: 300000, sum: 44999850000 });
    expect(report.readBack).toEqual({ count: 1000, sum: 499500, nulls: 500, maxTag: '6' });
  }, 120_000);
});
