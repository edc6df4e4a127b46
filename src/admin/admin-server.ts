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
 *   GET /ui/      the capture browser's page; GET /api/…  its JSON API (capture-browser/),
 *                 whose reads take the ClickHouse interface's read path
 *
 * Who may see the data (README "Security"): /healthz, /readyz, /metrics and
 * /ping answer everyone (probes, scrapes). Every other path serves captured
 * data and answers only
 *   - with credentials, when --admin-user/--admin-password are set;
 *   - without them, only on a loopback bind, and only to requests whose Host
 *     names loopback (a web page that DNS-rebinds its own name to 127.0.0.1
 *     still sends its own name as Host).
 * A wider bind without credentials starts (capture and probes keep working)
 * but refuses the data paths with a message naming the fix.
 * chdb lets one process open a data directory: while the server runs, every
 * reader (the CLI, curl, Grafana, @clickhouse/client) goes through here.
 *
 * With a certificate and key (--admin-tls-cert-file/--admin-tls-key-file) the
 * whole port speaks HTTPS, probes and scrapes included (a Kubernetes probe
 * then says `scheme: HTTPS`); the pair is re-read when its files change.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CaptureError, describeError, errorFields } from '../errors';
import type { CaptureMetrics } from '../metrics';
import { CH, ClickHouseHttpError } from './clickhouse-http/clickhouse-errors';
import { ClickHouseHttpHandler, type ExecutingStore, type QueryLimits } from './clickhouse-http/clickhouse-http-handler';
import { BrowserApi } from './capture-browser/browser-api';
import { StaticUi } from './capture-browser/static-ui';
import type { ExchangeProgress } from '../capture/exchange-assembler';
import { WatchedKeyPair, type KeyPairFiles, type LoadedKeyPair } from '../tls/watched-key-pair';

/** Paths that carry no captured data: open to probes and scrapers without credentials. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/ping']);

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
  clickhouse: { user: string; password: string; allowWrites: boolean; limits: QueryLimits; maxConcurrentQueries: number; maxQueuedQueries: number; maxQueryBytes: number };
  /** GET /status: spool and per-sink delivery accounting as JSON (`egress-capture status`). */
  status?: () => unknown;
  /** GET /api/inflight: exchanges whose ext_proc stream is still open. */
  inFlight?: () => ExchangeProgress[];
  /** Serve HTTPS with this pair, polled for rotation every pollIntervalMs; onChange runs after a new pair is in use. */
  tls?: KeyPairFiles & { pollIntervalMs: number; onChange?: (pair: LoadedKeyPair) => void };
}

export class AdminServer {
  private readonly server: http.Server;
  private readonly clickhouse: ClickHouseHttpHandler;
  private readonly browserApi: BrowserApi;
  private readonly ui = new StaticUi();
  /** The served certificate, when the port speaks HTTPS. */
  readonly certificate: WatchedKeyPair | undefined;
  boundPort = 0;

  constructor(private readonly options: AdminServerOptions) {
    this.clickhouse = new ClickHouseHttpHandler({ store: options.store, log: options.log, ...options.clickhouse });
    this.browserApi = new BrowserApi({ run: (sql, format, params) => this.clickhouse.runRead(sql, format, params), inFlight: options.inFlight });
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.route(req, res).catch((err) => {
        options.log.error(errorFields(err), 'admin request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${describeError(err)}\n`);
      });
    };
    const tlsOptions = options.tls;
    if (tlsOptions === undefined) {
      this.server = http.createServer(handler);
      return;
    }
    const served = (pair: LoadedKeyPair): void => options.metrics.tlsCertificateNotAfter.set({ listener: 'admin' }, pair.notAfter.getTime() / 1000);
    const certificate = new WatchedKeyPair({
      ...tlsOptions,
      log: options.log,
      onChange: (pair) => {
        (this.server as https.Server).setSecureContext({ cert: pair.cert, key: pair.key });
        served(pair);
        tlsOptions.onChange?.(pair);
      },
      onError: () => options.metrics.tlsReloadFailures.inc({ listener: 'admin' }),
    });
    this.certificate = certificate;
    served(certificate.pair);
    this.server = https.createServer({ cert: certificate.pair.cert, key: certificate.pair.key }, handler);
  }

  /** http: or https:, as the port speaks. */
  get protocol(): 'http:' | 'https:' {
    return this.certificate === undefined ? 'http:' : 'https:';
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) => reject(new CaptureError('CAP_ERR_ADMIN_BIND', `cannot listen on ${this.options.host}:${this.options.port}: ${err.message}`, { cause: err })));
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    if (!this.clickhouse.requiresAuth && !isLoopback(this.options.host)) {
      // The data paths are closed then; say so where operators look (probes and /metrics still answer).
      this.options.log.warn({ admin: `${this.options.host}:${this.boundPort}` }, OPEN_BIND_REFUSAL);
    }
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.certificate?.close();
    this.clickhouse.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (!OPEN_PATHS.has(url.pathname)) {
      const refusal = this.dataRefusal(req);
      if (refusal !== undefined) {
        req.resume();
        const error = ClickHouseHttpError.of(CH.ACCESS_DENIED, refusal);
        res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'x-clickhouse-exception-code': String(error.chCode) });
        res.end(error.body());
        return;
      }
    }
    switch (url.pathname) {
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/status':
        if (this.options.status === undefined) return send(res, 404, 'not found\n');
        if (!this.clickhouse.authorize(req, res, url)) return;
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
        // The page and its API serve captured data: the same credentials as the ClickHouse interface.
        if (StaticUi.owns(url.pathname) || BrowserApi.owns(url.pathname)) {
          if (!this.clickhouse.authorize(req, res, url)) return;
          if (StaticUi.owns(url.pathname)) return this.ui.handle(req, res, url);
          return this.browserApi.handle(req, res, url);
        }
        return send(res, 404, 'not found\n');
    }
  }

  /** Why a data path is refused to this request, or undefined when it may proceed (credentials are checked by the handler). */
  private dataRefusal(req: http.IncomingMessage): string | undefined {
    if (this.clickhouse.requiresAuth) return undefined;
    if (!isLoopback(this.options.host)) return OPEN_BIND_REFUSAL;
    const host = req.headers.host;
    if (host !== undefined && !isLoopback(hostName(host))) {
      return `Host ${JSON.stringify(host)} is not a loopback name: the admin port listens on loopback without credentials and serves its data only to requests for localhost, 127.0.0.1 or [::1] (a foreign Host is how a web page reaches it through DNS rebinding); set --admin-user/--admin-password to serve other names`;
    }
    return undefined;
  }
}

const OPEN_BIND_REFUSAL =
  'the admin port listens beyond loopback without credentials, so it serves no captured data (only /healthz, /readyz, /metrics, /ping): set EGRESS_CAPTURE_ADMIN_USER and EGRESS_CAPTURE_ADMIN_PASSWORD (--admin-user/--admin-password), or bind --admin-listen to 127.0.0.1';

/** The name part of a Host header value: `example:9003` → example, `[::1]:9003` → ::1. */
function hostName(host: string): string {
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']') === -1 ? undefined : trimmed.indexOf(']'));
  const colon = trimmed.indexOf(':');
  return colon === -1 ? trimmed : trimmed.slice(0, colon);
}

function send(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
