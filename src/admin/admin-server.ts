/**
 * Admin HTTP endpoint (node:http; a few routes do not need a framework):
 *   GET /healthz  200 while the process runs
 *   GET /readyz   200 once the store is open and gRPC is bound, 503 while draining
 *   GET /metrics  Prometheus text
 *   GET /ping     "Ok." (ClickHouse's health check, used by @clickhouse/client's ping())
 *   GET|POST /    ClickHouse HTTP interface over the store (clickhouse-http/), read-only
 *                 unless writes are allowed
 *   GET|POST /query  the same, JSONEachRow by default (the original endpoint, kept for
 *                 `egress-capture query` of older builds and scripts)
 * chdb lets one process open a data directory: while the server runs, every
 * reader (the CLI, curl, Grafana, @clickhouse/client) goes through here.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CaptureError, describeError } from '../errors';
import type { CaptureMetrics } from '../metrics';
import { ClickHouseHttpHandler, type ExecutingStore, type QueryLimits } from './clickhouse-http/clickhouse-http-handler';

export interface QueryableStore {
  query(sql: string, format?: string): Promise<string>;
  /** Optional: raw bytes and engine statistics (binary formats, X-ClickHouse-Summary). */
  execute?: ExecutingStore['execute'];
}

export interface AdminServerOptions {
  host: string;
  port: number;
  metrics: CaptureMetrics;
  log: Logger;
  isReady: () => boolean;
  store: QueryableStore;
  /** ClickHouse HTTP interface policy: credentials ('' user = none), whether writes are allowed, query limits. */
  clickhouse?: { user: string; password: string; allowWrites: boolean; limits?: QueryLimits; maxConcurrentQueries?: number };
  /** GET /status: spool and per-sink delivery accounting as JSON (`egress-capture status`). */
  status?: () => unknown;
}

export class AdminServer {
  private readonly server: http.Server;
  private readonly clickhouse: ClickHouseHttpHandler;
  boundPort = 0;

  constructor(private readonly options: AdminServerOptions) {
    const policy = options.clickhouse ?? { user: '', password: '', allowWrites: false };
    this.clickhouse = new ClickHouseHttpHandler({ store: options.store, log: options.log, ...policy });
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err) => {
        options.log.error({ err: describeError(err) }, 'admin request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${describeError(err)}\n`);
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) => reject(new CaptureError('CAP_ERR_ADMIN_BIND', `cannot listen on ${this.options.host}:${this.options.port}: ${err.message}`, { cause: err })));
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    if (!this.clickhouse.requiresAuth && !isLoopback(this.options.host)) {
      // Anyone who reaches the port can read every captured body: say so where operators look.
      this.options.log.warn(
        { admin: `${this.options.host}:${this.boundPort}` },
        'the admin ClickHouse interface has no credentials and listens beyond loopback; set EGRESS_CAPTURE_ADMIN_USER/EGRESS_CAPTURE_ADMIN_PASSWORD or bind --admin-listen to 127.0.0.1',
      );
    }
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    switch (url.pathname) {
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/status':
        if (this.options.status === undefined) return send(res, 404, 'not found\n');
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(this.options.status(), null, 2) + '\n');
        return;
      case '/readyz':
        return this.options.isReady() ? send(res, 200, 'ready\n') : send(res, 503, 'not ready\n');
      case '/metrics': {
        const text = await this.options.metrics.exposition();
        res.writeHead(200, { 'content-type': this.options.metrics.registry.contentType });
        res.end(text);
        return;
      }
      case '/ping':
        return send(res, 200, 'Ok.\n');
      case '/':
        return this.clickhouse.handle(req, res, url);
      case '/query':
        return this.clickhouse.handle(req, res, url, { defaultFormat: 'JSONEachRow' });
      default:
        return send(res, 404, 'not found\n');
    }
  }
}

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
