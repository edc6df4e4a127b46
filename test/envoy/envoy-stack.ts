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
import { sqlStringLiteral } from '../../src/sinks/clickhouse/sql-literal';
import { adminQuery, startService, type ServiceProcess } from '../service/service-process';
import type { Endpoint, ListenerConfig } from './envoy-bootstrap';
import { startEnvoy, type EnvoyProcess } from './envoy-process';
import { startUpstream, type UpstreamServer } from './upstream-server';
import { canBind, randomListenPort } from '../support/listen-port';

/** The stored row, as JSONEachRow gives it. */
export type Row = Record<string, any>;

export interface EnvoyStack {
  envoy: EnvoyProcess;
  upstream: UpstreamServer;
  /** The running capture service (throws while it is down). */
  readonly capture: ServiceProcess;
  dataDir: string;
  /** Starts the capture service (again) on the same port and data directory, e.g. after `captureDown` or a kill. */
  startCapture(): Promise<ServiceProcess>;
  readonly captureRunning: boolean;
  /** SIGKILLs the capture service and waits for it to be gone. */
  killCapture(): Promise<void>;
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
  /** Start Envoy while nothing serves ext_proc yet (`startCapture` later). TCP only. */
  captureDown?: boolean;
}

/** A free port whose successor is free too (gRPC and admin), for a service that must come back on the same port. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = randomListenPort();
    if ((await canBind(port)) && (await canBind(port + 1))) return port;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startStack(binary: string, version: string, options: StackOptions): Promise<EnvoyStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-e2e-'));
  const upstream = await startUpstream();
  const socketPath = path.join(dataDir, 'ext_proc.sock');
  const serveArgs = ['--batch-max-delay-ms', '50', ...(options.serveArgs ?? [])];
  let grpcPort = options.unixSocket ? undefined : await freePortPair();
  const launch = (): Promise<ServiceProcess> => startService(path.join(dataDir, 'data'), options.unixSocket ? [...serveArgs, '--grpc-listen', `unix:${socketPath}`] : serveArgs, {}, grpcPort);
  const firstLaunch = async (): Promise<ServiceProcess> => {
    // Until Envoy is told the port, a clash (something bound it after our check) is answered with another pair.
    for (let attempt = 0; ; attempt++) {
      try {
        return await launch();
      } catch (err) {
        if (grpcPort === undefined || attempt >= 2 || !/CAP_ERR_(GRPC|ADMIN)_BIND/.test(String(err))) throw err;
        grpcPort = await freePortPair();
      }
    }
  };
  let capture: ServiceProcess | undefined = options.captureDown ? undefined : await firstLaunch();
  const extProc: Endpoint = options.unixSocket ? { unixPath: socketPath } : { port: grpcPort! };
  let envoy: EnvoyProcess;
  try {
    envoy = await startEnvoy(binary, version, {
      listeners: options.listeners,
      upstreamH1: { port: upstream.h1Port },
      upstreamH2: { port: upstream.h2Port },
      extProcClusters: { ext_proc: extProc },
    });
  } catch (err) {
    capture?.child.kill('SIGKILL');
    await upstream.close();
    throw err;
  }
  const running = (): ServiceProcess => {
    if (!capture) throw new Error('the capture service is not running');
    return capture;
  };
  const rowsNow = (testId: string): Promise<Row[]> => adminQuery<Row>(running().admin, `SELECT * FROM http_exchanges WHERE RequestHeaders['x-test-id'] = ${sqlStringLiteral(testId)}`);
  return {
    envoy,
    upstream,
    get capture() {
      return running();
    },
    get captureRunning() {
      return capture !== undefined;
    },
    dataDir,
    async startCapture(): Promise<ServiceProcess> {
      capture = await launch();
      return capture;
    },
    async killCapture(): Promise<void> {
      const victim = running();
      capture = undefined;
      victim.child.kill('SIGKILL');
      await victim.exited;
    },
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
        if (Date.now() > deadline) throw new Error(`no row for ${testId} after ${timeoutMs} ms; Envoy log:\n${envoy.logTail()}\nservice log:\n${capture?.stderr().slice(-3000)}`);
        await sleep(50);
      }
    },
    async metricsText(): Promise<string> {
      return (await fetch(`${running().admin}/metrics`)).text();
    },
    async stop(): Promise<void> {
      await envoy.stop();
      if (capture) {
        capture.child.kill('SIGTERM');
        await capture.exited;
      }
      await upstream.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
