/**
 * Admin HTTP endpoint (node:http; four routes do not need a framework):
 *   GET /healthz  200 while the process runs
 *   GET /readyz   200 once the store is open and gRPC is bound, 503 while draining
 *   GET /metrics  Prometheus text
 *   GET|POST /query?query=SQL (or SQL as POST body) → JSONEachRow, read-only
 * /query exists because chdb lets one process open a data directory: while
 * the server runs, `egress-capture query` goes through here.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CaptureError, describeError } from '../errors';
import type { CaptureMetrics } from '../metrics';

export interface QueryableStore {
  query(sql: string, format?: string): Promise<string>;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  metrics: CaptureMetrics;
  log: Logger;
  isReady: () => boolean;
  store: QueryableStore;
  /** ClickHouse HTTP interface policy: credentials ('' user = none) and whether writes are allowed. */
  clickhouse?: { user: string; password: string; allowWrites: boolean };
  /** GET /status: spool and per-sink delivery accounting as JSON (`egress-capture status`). */
  status?: () => unknown;
}

const MAX_QUERY_BYTES = 1024 * 1024;
const READ_ONLY_STATEMENT = /^\s*(\(\s*)*(select|with|show|describe|desc|explain|exists)\b/i;

export class AdminServer {
  private readonly server: http.Server;
  boundPort = 0;

  constructor(private readonly options: AdminServerOptions) {
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
      case '/query':
        return this.query(req, res, url);
      default:
        return send(res, 404, 'not found\n');
    }
  }

  private async query(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    let sql = url.searchParams.get('query') ?? '';
    if (req.method === 'POST') {
      const body = await readBody(req, MAX_QUERY_BYTES);
      if (body === undefined) return send(res, 413, 'query too large\n');
      sql = sql === '' ? body : `${sql}\n${body}`;
    }
    if (sql.trim() === '') return send(res, 400, 'missing query (?query= or POST body)\n');
    if (!READ_ONLY_STATEMENT.test(sql)) return send(res, 403, 'read-only: only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS are allowed\n');
    try {
      const result = await this.options.store.query(sql, 'JSONEachRow');
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
      res.end(result);
    } catch (err) {
      send(res, 400, `${describeError(err)}\n`);
    }
  }
}

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
