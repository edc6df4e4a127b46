/**
 * The `otel_logs` view over the embedded store, read the way tools built for
 * the OpenTelemetry Collector's ClickHouse exporter read its table: the
 * exporter's columns and types, Grafana's OTel log list and log-volume
 * queries through Grafana's driver (clickhouse-go), and ClickStack/HyperDX's
 * search, histogram, attribute and trace queries through @clickhouse/client
 * (its driver). Its attributes agree with what the OTLP export sends.
 */
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ExchangeRow } from '../../../src/row/exchange-row';
import { mapRowAttributes } from '../../../src/sinks/otlp/log-record-mapper';
import { CLIENT_PASSWORD, CLIENT_USER, SEEDED_AUTHORITY, useClientHarness } from '../../clickhouse-clients/client-harness';
import { runGoQueries } from '../../clickhouse-clients/run-client';
import { expandPanelSql } from '../../grafana/grafana-macros';

/** The logs table of the collector's ClickHouse exporter (v0.165.1, logs_table.sql), without its MATERIALIZED shortcuts. */
const EXPORTER_COLUMNS: Array<[string, RegExp]> = [
  ['Timestamp', /^DateTime64\(9(, '.+')?\)$/],
  ['TraceId', /^String$/],
  ['SpanId', /^String$/],
  ['TraceFlags', /^UInt8$/],
  ['SeverityText', /^LowCardinality\(String\)$/],
  ['SeverityNumber', /^UInt8$/],
  ['ServiceName', /^LowCardinality\(String\)$/],
  ['Body', /^String$/],
  ['ResourceSchemaUrl', /^LowCardinality\(String\)$/],
  ['ResourceAttributes', /^Map\(LowCardinality\(String\), String\)$/],
  ['ScopeSchemaUrl', /^LowCardinality\(String\)$/],
  ['ScopeName', /^String$/],
  ['ScopeVersion', /^LowCardinality\(String\)$/],
  ['ScopeAttributes', /^Map\(LowCardinality\(String\), String\)$/],
  ['LogAttributes', /^Map\(LowCardinality\(String\), String\)$/],
  ['EventName', /^String$/],
];

describe('otel_logs view', () => {
  const harness = useClientHarness();
  let ch: ClickHouseClient;
  const now = Date.now();

  beforeAll(async () => {
    ch = createClient({ url: harness().adminUrl, username: CLIENT_USER, password: CLIENT_PASSWORD, log: { level: ClickHouseLogLevel.OFF } });
    const at = new Date(now - 5 * 60_000).toISOString().replace('T', ' ').replace('Z', '');
    await ch.insert({
      table: 'http_exchanges',
      format: 'JSONEachRow',
      values: [
        {
          Timestamp: at,
          CaptureId: 'cap-503',
          TraceId: '0af7651916cd43dd8448eb211c80319c',
          SpanId: 'b7ad6b7169203331',
          Method: 'POST',
          Scheme: 'https',
          Authority: 'api.openai.com',
          Path: '/v1/chat/completions',
          StatusCode: 503,
          Outcome: 'complete',
          DurationMs: 250,
          SourceAddress: '10.0.0.7:51234',
          RequestHeaders: { 'user-agent': 'openai-python/1.0' },
          GenAiProvider: 'openai',
          GenAiOperation: 'chat',
          GenAiRequestModel: 'gpt-test',
          GenAiResponseModel: 'gpt-test-1',
          GenAiInputTokens: 12,
          GenAiOutputTokens: 34,
          CapturedBy: 'gw-1',
        },
      ],
    });
  });

  afterAll(async () => {
    await ch.close();
  });

  async function json<T>(query: string): Promise<T[]> {
    return (await ch.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
  }

  it("has the collector exporter's columns and types, plus TimestampTime", async () => {
    const described = await json<{ name: string; type: string }>('DESCRIBE TABLE otel_logs');
    const types = new Map(described.map(({ name, type }) => [name, type]));
    for (const [name, type] of EXPORTER_COLUMNS) expect({ name, type: types.get(name) }).toEqual({ name, type: expect.stringMatching(type) });
    expect(types.get('TimestampTime')).toMatch(/^DateTime/);
    expect(types.get('__otel_materialized_k8s.pod.name')).toBe('LowCardinality(String)');
  });

  it('maps an exchange to a log record the way the OTLP export does', async () => {
    const [log] = await json<Record<string, unknown>>("SELECT * EXCEPT (Timestamp, TimestampTime) FROM otel_logs WHERE LogAttributes['egress_capture.capture_id'] = 'cap-503'");
    expect(log).toMatchObject({
      TraceId: '0af7651916cd43dd8448eb211c80319c',
      SpanId: 'b7ad6b7169203331',
      TraceFlags: 1,
      SeverityText: 'WARN',
      SeverityNumber: 13,
      ServiceName: 'egress-capture',
      Body: 'POST https://api.openai.com/v1/chat/completions 503 complete',
      ResourceAttributes: { 'service.name': 'egress-capture', 'egress_capture.captured_by': 'gw-1' },
      EventName: 'egress.http.exchange',
      LogAttributes: expect.objectContaining({ 'http.response.status_code': '503', 'error.type': '503', 'gen_ai.usage.output_tokens': '34', 'user_agent.original': 'openai-python/1.0' }),
    });
    // Every attribute the view shares with the OTLP mapper has the mapper's value (as a string).
    const [row] = await json<ExchangeRow>("SELECT * FROM http_exchanges WHERE CaptureId = 'cap-503'");
    const exported = mapRowAttributes(row!);
    const shared = Object.entries(log!.LogAttributes as Record<string, string>).filter(([name]) => name in exported);
    expect(shared.length).toBeGreaterThan(10);
    // Numbers compare as numbers: the export moves a whole duration by one ULP to keep it a double (asDouble).
    const same = (value: string, other: unknown): string =>
      typeof other === 'number' && Number.isFinite(Number(value)) && Math.abs(Number(value) - other) <= Math.abs(other) * 1e-12 ? value : String(other);
    for (const [name, value] of shared) expect({ name, value }).toEqual({ name, value: same(value, exported[name]) });
  });

  it("answers Grafana's OTel log list and log volume queries through Grafana's driver", async () => {
    const context = { from: new Date(now - 3600_000), to: new Date(now + 60_000), intervalSeconds: 60, variables: {}, allValues: {} };
    const queries = [
      'SELECT Timestamp as "timestamp", Body as "body", SeverityText as "level", LogAttributes as "labels", TraceId as "traceID" FROM "default"."otel_logs" WHERE ( timestamp >= $__fromTime AND timestamp <= $__toTime ) ORDER BY timestamp DESC LIMIT 1000',
      "SELECT $__timeInterval(Timestamp) as time, sum(toString(SeverityText) IN ('warn', 'warning', 'WARN', 'WARNING')) as warn, sum(toString(SeverityText) IN ('info', 'INFO')) as info FROM \"default\".\"otel_logs\" WHERE $__timeFilter(Timestamp) GROUP BY time ORDER BY time ASC",
    ].map((sql) => expandPanelSql(sql, context));
    expect(await runGoQueries(harness(), queries)).toEqual([
      {
        columns: [
          ['timestamp', "DateTime64(9, 'UTC')"],
          ['body', 'String'],
          ['level', 'LowCardinality(String)'],
          ['labels', 'Map(LowCardinality(String), String)'],
          ['traceID', 'String'],
        ],
        rows: 2,
      },
      {
        columns: [
          ['time', 'DateTime'],
          ['warn', 'UInt64'],
          ['info', 'UInt64'],
        ],
        rows: expect.any(Number),
      },
    ]);
  }, 60_000);

  it("answers ClickStack/HyperDX's search, histogram, attribute and trace queries", async () => {
    const from = now - 3600_000;
    const window = `(TimestampTime >= fromUnixTimestamp64Milli(${from}) AND TimestampTime <= fromUnixTimestamp64Milli(${now + 60_000})) AND (Timestamp >= fromUnixTimestamp64Milli(${from}) AND Timestamp <= fromUnixTimestamp64Milli(${now + 60_000}))`;
    const search = await json<{ Body: string }>(
      `SELECT Timestamp, ServiceName, SeverityText, Body FROM otel_logs WHERE ${window} AND hasToken(lower(Body), 'openai') ORDER BY Timestamp DESC LIMIT 200`,
    );
    expect(search.map((row) => row.Body)).toEqual(['POST https://api.openai.com/v1/chat/completions 503 complete']);
    const histogram = await json<{ n: number; SeverityText: string }>(
      `SELECT toStartOfInterval(TimestampTime, INTERVAL 1 minute) AS bucket, SeverityText, count() AS n FROM otel_logs WHERE ${window} GROUP BY bucket, SeverityText ORDER BY bucket`,
    );
    expect(histogram.reduce((sum, row) => sum + row.n, 0)).toBe(2);
    const byAttribute = await json<{ server: string }>(
      `SELECT LogAttributes['server.address'] AS server FROM otel_logs WHERE ${window} AND LogAttributes['http.response.status_code'] = '503' AND ResourceAttributes['service.name'] = 'egress-capture'`,
    );
    expect(byAttribute).toEqual([{ server: 'api.openai.com' }]);
    const trace = await json<{ Body: string }>("SELECT Body FROM otel_logs WHERE TraceId = '0af7651916cd43dd8448eb211c80319c'");
    expect(trace).toHaveLength(1);
    const keys = await json<{ key: string }>(`SELECT DISTINCT arrayJoin(mapKeys(LogAttributes)) AS key FROM otel_logs WHERE ${window} ORDER BY key`);
    expect(keys.map((row) => row.key)).toEqual(expect.arrayContaining(['http.request.method', 'server.address', 'gen_ai.request.model']));
    const seeded = await json<{ Body: string }>(`SELECT Body FROM otel_logs WHERE LogAttributes['server.address'] = '${SEEDED_AUTHORITY}'`);
    expect(seeded).toEqual([{ Body: `GET https://${SEEDED_AUTHORITY}/v1/models 200 complete` }]);
  });
});
