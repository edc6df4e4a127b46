/**
 * Starts a real capture service (real gRPC server, real piscina workers, real
 * embedded ClickHouse in a temporary directory) on loopback ports chosen by
 * the OS, for one test file. chdb opens one data directory per process, so a
 * file starts one harness at a time and stops it in afterAll.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { configWith, type ConfigInput, type RuntimeConfig } from '../../src/config/runtime-config';
import { silentLogger } from '../../src/logger';
import { CaptureService } from '../../src/service/capture-service';
import { sqlStringLiteral } from '../../src/sinks/clickhouse/sql-literal';

export interface CaptureHarness {
  service: CaptureService;
  config: RuntimeConfig;
  grpcAddress: string;
  adminUrl: string;
  dataDir: string;
  /** Waits until every finished exchange is stored, then runs SQL and parses JSONEachRow. */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** The one stored row whose Path is `path` (fails the test if there is not exactly one). */
  rowAt<T = Record<string, unknown>>(path: string): Promise<T>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startCaptureHarness(overrides: Partial<ConfigInput> = {}): Promise<CaptureHarness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-test-'));
  const config: RuntimeConfig = configWith({
    grpcListen: { host: '127.0.0.1', port: 0 },
    adminListen: { host: '127.0.0.1', port: 0 },
    dataDir,
    batchMaxDelayMs: 50,
    drainTimeoutMs: 2000,
    ...overrides,
  });
  const service = await CaptureService.start(config, silentLogger());
  const adminUrl = `${service.adminProtocol}//127.0.0.1:${service.adminPort}`;
  const rows = async <T>(sql: string): Promise<T[]> => {
    // The client may finish before the server has seen the last resets: wait for the streams to close.
    const deadline = Date.now() + 5000;
    while (service.openStreams > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await service.flush();
    const text = await service.storeForQueries.query(sql, 'JSONEachRow');
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as T);
  };
  return {
    service,
    config,
    grpcAddress: `127.0.0.1:${service.grpcPort}`,
    adminUrl,
    dataDir,
    rows,
    async rowAt<T>(requestPath: string): Promise<T> {
      const found = await rows<T>(`SELECT * FROM http_exchanges WHERE Path = ${sqlStringLiteral(requestPath)}`);
      expect(found).toHaveLength(1);
      return found[0]!;
    },
    async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
      const metric = await service.metrics.registry.getSingleMetric(name)?.get();
      if (metric === undefined) return 0;
      let total = 0;
      for (const value of metric.values) {
        const matches = Object.entries(labels).every(([key, expected]) => String((value.labels as Record<string, unknown>)[key]) === expected);
        if (matches && !('metricName' in value && String(value.metricName).endsWith('_bucket'))) total += value.value;
      }
      return total;
    },
    async stop(): Promise<void> {
      await service.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
