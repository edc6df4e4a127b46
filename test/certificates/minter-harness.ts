/**
 * Starts the certificate minter alone (CA store, leaf source, SDS listener on
 * a loopback port) with a logger whose lines the test can read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import * as prom from 'prom-client';
import { CertificateMinter } from '../../src/certificates/certificate-minter';
import { configWith, type ConfigInput, type RuntimeConfig } from '../../src/config/runtime-config';
import { DeltaSdsClient, type DeltaSdsClientOptions } from '../support/delta-sds-client';

export interface MinterHarness {
  minter: CertificateMinter;
  address: string;
  registry: prom.Registry;
  logs: Array<Record<string, unknown>>;
  dir: string;
  client(options?: Omit<DeltaSdsClientOptions, 'address'>): DeltaSdsClient;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startMinter(overrides: Partial<ConfigInput>): Promise<MinterHarness> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const registry = new prom.Registry();
  const config: RuntimeConfig = configWith({ sdsListen: { host: '127.0.0.1', port: 0 }, ...overrides });
  const minter = (await CertificateMinter.start(config, log, registry))!;
  const address = `127.0.0.1:${minter.server.boundPort}`;
  const clients: DeltaSdsClient[] = [];
  return {
    minter,
    address,
    registry,
    logs,
    dir: config.caDir,
    client(options = {}) {
      const client = new DeltaSdsClient({ address, ...options });
      clients.push(client);
      return client;
    },
    async metric(name, labels = {}) {
      const metric = await registry.getSingleMetric(name)?.get();
      let total = 0;
      for (const value of metric?.values ?? []) {
        if ('metricName' in value && String(value.metricName).endsWith('_bucket')) continue;
        if (Object.entries(labels).every(([key, expected]) => String((value.labels as Record<string, unknown>)[key]) === expected)) total += value.value;
      }
      return total;
    },
    async stop() {
      for (const client of clients) client.close();
      await minter.close();
    },
  };
}
