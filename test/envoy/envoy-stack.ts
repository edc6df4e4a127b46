/**
 * One end-to-end stack: the loopback upstream, a real `egress-capture serve`
 * child process (real gRPC server, workers, embedded ClickHouse) and a real
 * Envoy whose listeners each carry one ext_proc configuration, all pointed at
 * that service. A test picks a listener, sends traffic with a real client and
 * reads the stored row back through the service's admin port.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { adminQuery, startService, type ServiceProcess } from '../service/service-process';
import type { Endpoint, ListenerConfig } from './envoy-bootstrap';
import { startEnvoy, type EnvoyProcess } from './envoy-process';
import { startUpstream, type UpstreamServer } from './upstream-server';

/** The stored row, as JSONEachRow gives it. */
export type Row = Record<string, any>;

export interface EnvoyStack {
  envoy: EnvoyProcess;
  upstream: UpstreamServer;
  capture: ServiceProcess;
  dataDir: string;
  /** The port of a listener by name. */
  port(listener: string): number;
  /** Waits for the row of a test id (its `x-test-id` request header) and returns it. */
  row(testId: string, timeoutMs?: number): Promise<Row>;
  /** Rows for a test id that may be absent: resolves after `waitMs` with what is there. */
  rowsNow(testId: string): Promise<Row[]>;
  /** The service's Prometheus text. */
  metricsText(): Promise<string>;
  stop(): Promise<void>;
}

export interface StackOptions {
  listeners: ListenerConfig[];
  /** Extra `serve` flags. */
  serveArgs?: string[];
  /** Serve ext_proc on a Unix domain socket instead of TCP. */
  unixSocket?: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function startStack(binary: string, version: string, options: StackOptions): Promise<EnvoyStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-e2e-'));
  const upstream = await startUpstream();
  const socketPath = path.join(dataDir, 'ext_proc.sock');
  const serveArgs = ['--batch-max-delay-ms', '50', ...(options.serveArgs ?? [])];
  const capture = await startService(path.join(dataDir, 'data'), options.unixSocket ? [...serveArgs, '--grpc-listen', `unix:${socketPath}`] : serveArgs);
  const extProc: Endpoint = options.unixSocket ? { unixPath: socketPath } : { port: Number(capture.grpc.split(':').pop()) };
  let envoy: EnvoyProcess;
  try {
    envoy = await startEnvoy(binary, version, {
      listeners: options.listeners,
      upstreamH1: { port: upstream.h1Port },
      upstreamH2: { port: upstream.h2Port },
      extProcClusters: { ext_proc: extProc },
    });
  } catch (err) {
    capture.child.kill('SIGKILL');
    await upstream.close();
    throw err;
  }
  const rowsNow = (testId: string): Promise<Row[]> =>
    adminQuery<Row>(capture.admin, `SELECT * FROM http_exchanges WHERE RequestHeaders['x-test-id'] = ${sqlString(testId)}`);
  return {
    envoy,
    upstream,
    capture,
    dataDir,
    port(listener: string): number {
      const port = envoy.ports[listener];
      if (!port) throw new Error(`no listener ${listener}`);
      return port;
    },
    rowsNow,
    async row(testId: string, timeoutMs = 10_000): Promise<Row> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await rowsNow(testId);
        if (rows.length > 1) throw new Error(`${rows.length} rows for ${testId}`);
        if (rows.length === 1) return rows[0]!;
        if (Date.now() > deadline) throw new Error(`no row for ${testId} after ${timeoutMs} ms; Envoy log:\n${envoy.logTail()}\nservice log:\n${capture.stderr().slice(-3000)}`);
        await sleep(50);
      }
    },
    async metricsText(): Promise<string> {
      return (await fetch(`${capture.admin}/metrics`)).text();
    },
    async stop(): Promise<void> {
      await envoy.stop();
      capture.child.kill('SIGTERM');
      await capture.exited;
      await upstream.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
