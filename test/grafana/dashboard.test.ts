/**
 * The shipped Grafana dashboard (deploy/grafana) cannot rot: every panel's
 * SQL, with Grafana's variables and the ClickHouse data source's macros
 * expanded as the plugin does, runs through Grafana's own driver
 * (clickhouse-go over HTTP) against a real service, and returns the columns
 * and ClickHouse types its visualization is built on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { CLIENT_PASSWORD, CLIENT_USER, useClientHarness } from '../clickhouse-clients/client-harness';
import { runGoQueries } from '../clickhouse-clients/run-client';
import { expandPanelSql, type PanelContext } from './grafana-macros';

const GRAFANA_DIR = path.resolve(__dirname, '../../../deploy/grafana');

interface Panel {
  title: string;
  type: string;
  datasource: { type: string; uid: string };
  targets: Array<{ rawSql: string; format: number }>;
}

const dashboard = JSON.parse(fs.readFileSync(path.join(GRAFANA_DIR, 'dashboards/egress-capture.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string }> };
};

/** What each panel's visualization needs, in ClickHouse types as the driver reports them. */
const EXPECTED: Record<string, Array<[string, string]>> = {
  Traffic: [
    ['time', 'DateTime'],
    ['requests', 'UInt64'],
  ],
  Errors: [
    ['time', 'DateTime'],
    ['5xx', 'UInt64'],
    ['4xx', 'UInt64'],
    ['not complete', 'UInt64'],
  ],
  'Latency p50 / p99': [
    ['time', 'DateTime'],
    ['p50', 'Float64'],
    ['p99', 'Float64'],
  ],
  'Time to first token p50 / p99': [
    ['time', 'DateTime'],
    ['p50', 'Float64'],
    ['p99', 'Float64'],
  ],
  'Tokens by model and caller': [
    ['model', 'LowCardinality(String)'],
    ['caller', 'String'],
    ['input_tokens', 'Nullable(UInt64)'],
    ['output_tokens', 'Nullable(UInt64)'],
    ['cached_input_tokens', 'Nullable(UInt64)'],
    ['calls', 'UInt64'],
  ],
  'Top upstreams': [
    ['upstream', 'LowCardinality(String)'],
    ['requests', 'UInt64'],
    ['failures', 'UInt64'],
    ['p99_ms', 'Float64'],
    ['bytes', 'UInt64'],
  ],
  'Truncated and dropped bodies': [
    ['time', 'DateTime'],
    ['truncated', 'UInt64'],
    ['dropped', 'UInt64'],
  ],
};

describe('the Grafana dashboard against the admin port', () => {
  const harness = useClientHarness();
  const now = Date.now();

  beforeAll(async () => {
    // Exchanges of every kind the panels count, a few minutes old.
    const at = (minutes: number): string => new Date(now - minutes * 60_000).toISOString().replace('T', ' ').replace('Z', '');
    const rows = [
      {
        Timestamp: at(10),
        Authority: 'api.openai.com',
        StatusCode: 200,
        DurationMs: 120,
        ResponseFirstChunkMs: 80,
        Outcome: 'complete',
        GenAiProvider: 'openai',
        GenAiResponseModel: 'gpt-test',
        GenAiStreaming: true,
        GenAiInputTokens: 10,
        GenAiOutputTokens: 20,
        Metadata: { 'egress_capture.workload.name': 'billing' },
      },
      { Timestamp: at(9), Authority: 'api.openai.com', StatusCode: 503, DurationMs: 300, Outcome: 'complete', ResponseBodyTruncated: true },
      { Timestamp: at(8), Authority: 'example.com', StatusCode: 0, DurationMs: 50, Outcome: 'no_response', ResponseBodyNote: 'processing_backlog' },
    ];
    const url = new URL('/', harness().adminUrl);
    url.searchParams.set('query', 'INSERT INTO http_exchanges FORMAT JSONEachRow');
    const res = await fetch(url, {
      method: 'POST',
      body: rows.map((row) => JSON.stringify(row)).join('\n'),
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_USER}:${CLIENT_PASSWORD}`).toString('base64')}` },
    });
    expect(await res.text()).toBe('');
  });

  function context(authority: string[]): PanelContext {
    return {
      from: new Date(now - 3600_000),
      to: new Date(now + 60_000),
      intervalSeconds: 60,
      variables: { authority },
      allValues: { authority: ['api.openai.com', 'clients.test', 'example.com'] },
    };
  }

  it('has the expected panels, all on the provisioned data source', () => {
    expect(dashboard.panels.map((panel) => panel.title).sort()).toEqual(Object.keys(EXPECTED).sort());
    const provisioned = parse(fs.readFileSync(path.join(GRAFANA_DIR, 'provisioning/datasources/egress-capture.yaml'), 'utf8')) as {
      datasources: Array<{ uid: string; type: string; jsonData: { protocol: string; port: number } }>;
    };
    const [source] = provisioned.datasources;
    expect(source).toMatchObject({ type: 'grafana-clickhouse-datasource', jsonData: { protocol: 'http', port: 9003 } });
    for (const panel of dashboard.panels) expect(panel.datasource).toEqual({ type: source!.type, uid: source!.uid });
  });

  it.each([
    ['All upstreams selected', ['$__all']],
    ['one upstream selected', ['api.openai.com']],
  ])(
    "runs every panel's SQL through Grafana's driver with the columns and types its visualization needs (%s)",
    async (_, authority) => {
      const panels = dashboard.panels;
      const results = await runGoQueries(
        harness(),
        panels.map((panel) => expandPanelSql(panel.targets[0]!.rawSql, context(authority))),
      );
      for (const [i, panel] of panels.entries()) {
        expect({ panel: panel.title, error: results[i]!.error }).toEqual({ panel: panel.title, error: undefined });
        expect({ panel: panel.title, columns: results[i]!.columns }).toEqual({ panel: panel.title, columns: EXPECTED[panel.title] });
        // Every panel finds the seeded exchanges of the last hour.
        expect({ panel: panel.title, rows: results[i]!.rows > 0 }).toEqual({ panel: panel.title, rows: true });
      }
    },
    120_000,
  );

  it('fills the upstream variable from its query', async () => {
    const [variable] = dashboard.templating.list;
    const [result] = await runGoQueries(harness(), [expandPanelSql(variable!.query, context(['$__all']))]);
    expect(result).toMatchObject({ columns: [['Authority', 'LowCardinality(String)']], rows: 3 });
  }, 60_000);
});
