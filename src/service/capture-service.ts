/**
 * Wires the data flow of a running capture service:
 *
 *   Envoy ─ext_proc─▶ CaptureServer ─▶ ProcessStream ─▶ ExchangeAssembler
 *                                                         │ snapshot (bounded)
 *                                           ExchangePipeline (piscina workers) ─ in-flight journal (<data-dir>/inflight)
 *                                                         │ JSONEachRow line
 *                                           spool (<data-dir>/spool, durable)
 *                                             ├─ delivery loop ─▶ EmbeddedStore | RemoteStore
 *                                             └─ delivery loop ─▶ OTLP sink (when configured)
 *   admin HTTP: /healthz /readyz /metrics /query /status
 *   Envoy ─SDS─▶ CertificateMinter (--sds-listen, when a CA is configured): per-SNI leaves
 *
 * start() first rebuilds, without bodies, the rows of exchanges a killed run
 * left in its in-flight journal, before any sink or stream runs.
 *
 * stop() is the SIGTERM path: refuse new streams, let open ones finish
 * (bounded), build every pending row into the spool, give the sinks
 * --sink-shutdown-timeout-ms to deliver, close. Undelivered records stay in
 * the spool and are delivered after the next start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { BackgroundPriority } from './background-priority';
import { AdminServer, type AdminServerOptions, type QueryableStore } from '../admin/admin-server';
import { ContentTypeFilter } from '../capture/content-type-filter';
import type { PolicyView } from '../capture/exchange-assembler';
import { CapturePolicySource } from '../policy/policy-source';
import { ProviderDetector } from '../processing/genai/provider-detection';
import { CaptureError, errorFields } from '../errors';
import type { RuntimeConfig } from '../config/runtime-config';
import { formatListen } from '../listen-address';
import { CaptureServer } from '../extproc/capture-server';
import { CertificateMinter } from '../certificates/certificate-minter';
import { CaptureMetrics } from '../metrics';
import { ExchangePipeline } from '../processing/exchange-pipeline';
import type { WorkerSettings } from '../processing/worker-contract';
import { rebuildRowLine, type InflightEntry } from '../processing/inflight-entry';
import { loadRedactionKey } from '../processing/redaction/redaction-marker';
import { EmbeddedStore } from '../sinks/clickhouse/embedded-store';
import { layoutFromOptions } from '../sinks/clickhouse/table-layout';
import { DeliveryHub } from '../sinks/delivery/delivery-hub';
import { otlpEnabled } from '../sinks/otlp/otlp-settings';
import { readJsonFile } from '../spool/atomic-file';
import type { Sink } from '../sinks/sink';

/** The admin ClickHouse interface's credentials and query bounds, from the configuration. */
export function adminClickHousePolicy(config: RuntimeConfig): AdminServerOptions['clickhouse'] {
  return {
    user: config.adminUser,
    password: config.adminPassword,
    allowWrites: config.adminAllowWrites,
    limits: { maxExecutionTimeSeconds: config.adminMaxExecutionTimeSeconds, maxMemoryUsageBytes: config.adminMaxMemoryUsageBytes, maxResultBytes: config.adminMaxResultBytes },
    maxConcurrentQueries: config.adminMaxConcurrentQueries,
    maxQueuedQueries: config.adminMaxQueuedQueries,
    maxQueryBytes: config.adminQueryMaxBytes,
  };
}

/** Written into the data directory while a server owns it, so `query --data-dir` can go through the admin port. */
export const SERVER_INFO_FILE = 'egress-capture-server.json';

export interface ServerInfo {
  pid: number;
  adminUrl: string;
  /**
   * With an HTTPS admin port: the served certificate's SHA-256 fingerprint. The
   * CLI pins it rather than verifying a name, since it connects to 127.0.0.1
   * while the certificate names the service (kept current across rotations).
   */
  adminCertSha256?: string;
  grpcAddress: string;
}

type Store = Sink & QueryableStore;

export class CaptureService {
  readonly metrics: CaptureMetrics;
  private store!: Store;
  private delivery!: DeliveryHub;
  private pipeline!: ExchangePipeline;
  private grpc!: CaptureServer;
  private admin!: AdminServer;
  private minter: CertificateMinter | undefined;
  private policy: CapturePolicySource | undefined;
  private backgroundPriority: BackgroundPriority | undefined;
  private ready = false;
  private stopping: Promise<void> | undefined;
  grpcPort = 0;
  adminPort = 0;
  /** 'https:' when the admin port has a certificate. */
  adminProtocol: 'http:' | 'https:' = 'http:';
  /** Port of the certificate minter's SDS listener; 0 when no CA is configured. */
  sdsPort = 0;

  /** The ext_proc listener as bound: HOST:PORT with the real port, or unix:/path. */
  get grpcAddress(): string {
    const listen = this.config.grpcListen;
    return formatListen('unixPath' in listen ? listen : { host: listen.host, port: this.grpcPort });
  }

  private constructor(
    private readonly config: RuntimeConfig,
    private readonly log: Logger,
    metrics?: CaptureMetrics,
  ) {
    this.metrics = metrics ?? new CaptureMetrics();
  }

  static async start(config: RuntimeConfig, log: Logger, metrics?: CaptureMetrics): Promise<CaptureService> {
    const service = new CaptureService(config, log, metrics);
    await service.startParts();
    return service;
  }

  get storeForQueries(): QueryableStore {
    return this.store;
  }

  private async startParts(): Promise<void> {
    try {
      await this.startEachPart();
    } catch (err) {
      await this.abandonStart();
      throw err;
    }
  }

  /**
   * A part that could not start (a listener that cannot bind, most often)
   * must not leave the others running: the admin port would go on answering
   * /healthz "ok" for a service that captures nothing, and the workers, the
   * spool and the store's lock on the data directory would keep the process
   * alive, so neither the exit nor a liveness probe would restart it. Every
   * part already started is closed here, in reverse order, so the caller can
   * report the cause and the process ends.
   */
  private async abandonStart(): Promise<void> {
    this.ready = false;
    const close = async (part: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.log.error({ part, ...errorFields(err) }, 'closing after a failed start');
      }
    };
    this.policy?.close();
    this.backgroundPriority?.close();
    if (this.minter !== undefined) await close('sds', () => this.minter!.close());
    if (this.grpc !== undefined) await close('grpc', () => this.grpc.drain(0));
    if (this.admin !== undefined) await close('admin', () => this.admin.close());
    if (this.pipeline !== undefined) await close('pipeline', () => this.pipeline.close());
    if (this.delivery !== undefined) {
      await close('delivery', () => this.delivery.stop(0));
      // Closes the store with the other sinks.
      await close('sinks', () => this.delivery.closeSinks());
    } else if (this.store !== undefined) {
      await close('store', () => this.store.close());
    }
  }

  private async startEachPart(): Promise<void> {
    const config = this.config;
    await this.refuseBusyDataDir();
    this.store = createStore(config);
    await this.store.open();
    this.delivery = DeliveryHub.open(config, this.log, this.metrics);
    this.delivery.addSink('clickhouse', this.store);
    const otlp = await openOtlpSink(config, this.log);
    if (otlp !== undefined) this.delivery.addSink('otlp', otlp);
    const settings: WorkerSettings = {
      maxBytes: config.maxBytes,
      redactHeaders: config.redactHeaders,
      // <data-dir>/redaction.key, made at the first start; the workers get it here, once.
      redactionKey: loadRedactionKey(config.dataDir),
      headBytes: config.headBytes,
      providerMapping: config.providerMapping,
      bodyRedaction: config.bodyRedaction ? config.bodyRedactionRules : undefined,
      foldLimits: config.foldLimits,
      staleStateMs: config.staleStateMs,
    };
    this.policy = this.openCapturePolicy();
    this.delivery.recoverInflight((entry) => rebuildRowLine(entry as InflightEntry, settings));
    this.delivery.start();
    this.pipeline = new ExchangePipeline({
      workerThreads: config.workerThreads,
      queueMax: config.workerQueueMax,
      backlogMaxBytes: config.processingBacklogMaxBytes,
      batchWindowMs: config.workerBatchWindowMs,
      batchFullTasks: config.workerBatchFullTasks,
      youngGenerationMiB: config.workerYoungGenerationMiB === 0 ? undefined : config.workerYoungGenerationMiB,
      settings,
      metrics: this.metrics,
      log: this.log,
      onRecords: (records) => this.delivery.appendRecords(records),
      journal: this.delivery.journal,
    });
    this.admin = new AdminServer({
      host: config.adminListen.host,
      port: config.adminListen.port,
      metrics: this.metrics,
      log: this.log,
      // A configured CA that cannot be loaded means TLS-terminating listeners cannot handshake.
      isReady: () => this.ready && (this.minter === undefined || this.minter.problems().length === 0),
      store: this.store,
      status: () => ({ ...this.delivery.status(), capturePolicy: this.policy!.summary() }),
      // The gRPC server starts after the admin port: nothing is in flight before it does.
      inFlight: () => (this.grpc === undefined ? [] : this.grpc.inFlight()),
      clickhouse: adminClickHousePolicy(config),
      tls:
        config.adminTlsCertFile === ''
          ? undefined
          : {
              certFile: config.adminTlsCertFile,
              keyFile: config.adminTlsKeyFile,
              pollIntervalMs: config.tlsFilePollIntervalMs,
              onChange: () => {
                if (this.ready) this.writeServerInfo();
              },
            },
    });
    this.adminPort = await this.admin.listen();
    this.adminProtocol = this.admin.protocol;
    this.grpc = new CaptureServer({
      address: config.grpcListen,
      maxReceiveMessageBytes: config.grpcMaxReceiveMessageBytes,
      maxConcurrentStreams: config.grpcMaxConcurrentStreams,
      tls:
        config.grpcTlsCertFile === ''
          ? undefined
          : {
              cert: fs.readFileSync(config.grpcTlsCertFile),
              key: fs.readFileSync(config.grpcTlsKeyFile),
              clientCa: config.grpcTlsClientCaFile === '' ? undefined : fs.readFileSync(config.grpcTlsClientCaFile),
            },
      http2StreamResetBurst: config.http2StreamResetBurst,
      http2StreamResetRate: config.http2StreamResetRate,
      metrics: this.metrics,
      log: this.log,
      stream: {
        limits: {
          maxBytes: config.maxBytes,
          headerValueMaxBytes: config.headerValueMaxBytes,
          headerBytesMaxPerExchange: config.headerBytesMaxPerExchange,
          shipChunkBytes: config.shipChunkBytes,
        },
        contentTypes: new ContentTypeFilter(config.includeContentTypes),
        idleTimeoutMs: config.streamIdleTimeoutMs,
        metrics: this.metrics,
        log: this.log,
        shipBody: this.pipeline.shipChunk,
        policy: this.policyView(),
        onExchange: (snapshot, context) => this.pipeline.submit(snapshot, context),
      },
    });
    this.grpcPort = await this.grpc.listen();
    this.minter = await CertificateMinter.start(config, this.log, this.metrics.registry);
    this.sdsPort = this.minter?.server.boundPort ?? 0;
    // Every part has started its threads by now; the scan repeats for later ones.
    this.backgroundPriority = BackgroundPriority.start({ nice: config.backgroundNice, rescanMs: config.backgroundRescanMs, log: this.log });
    this.writeServerInfo();
    this.ready = true;
    this.log.info(
      {
        node: process.version,
        grpc: this.grpcAddress,
        admin: formatListen({ host: config.adminListen.host, port: this.adminPort }),
        store: this.store.name,
        dataDir: config.clickhouseUrl === '' ? path.resolve(config.dataDir) : undefined,
        maxBytes: config.maxBytes,
        includeContentTypes: config.includeContentTypes,
        sds: this.minter === undefined ? undefined : formatListen({ host: config.sdsListen.host, port: this.sdsPort }),
      },
      'egress-capture serving',
    );
  }

  /** ext_proc streams currently open. */
  get openStreams(): number {
    return this.grpc.activeStreams;
  }

  /** Waits until every exchange finished so far is stored in ClickHouse (tests, and the end of a bench run). */
  async flush(): Promise<void> {
    await this.pipeline.whenIdle();
    await this.delivery.flush(['clickhouse']);
  }

  /** Waits until every exchange finished so far reached every sink (ClickHouse and OTLP). */
  async flushAll(): Promise<void> {
    await this.pipeline.whenIdle();
    await this.delivery.flush();
  }

  /** The policy file (validated at config load), watched for changes from here on. */
  private openCapturePolicy(): CapturePolicySource {
    const source = new CapturePolicySource(this.config.capturePolicyPath);
    const metrics = this.metrics;
    source.watch(this.config.capturePolicyPollIntervalMs, {
      applied: (summary) => {
        metrics.policyReloads.inc({ result: 'applied' });
        this.log.info({ file: summary.file, digest: summary.digest, default: summary.default, rules: summary.rules.length }, 'capture policy reloaded');
      },
      invalid: (file, err) => {
        metrics.policyReloads.inc({ result: 'invalid' });
        this.log.error(
          { file, ...errorFields(err, 'CAP_ERR_POLICY_INVALID'), problems: err instanceof CaptureError ? err.problems : undefined },
          'capture policy file changed but is invalid; the policy in force stays',
        );
      },
    });
    if (source.file !== '') this.log.info({ file: source.file, digest: source.summary().digest }, 'capture policy loaded');
    return source;
  }

  /** What each ext_proc stream asks of the policy: the policy in force, and the provider of a model call (the workers' own detection, run here only when the policy needs it). */
  private policyView(): PolicyView {
    const source = this.policy!;
    const detector = new ProviderDetector(this.config.providerMapping);
    return {
      current: () => source.current(),
      detectProvider: (authority, path) => detector.detect(authority, path)?.provider ?? '',
    };
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopParts();
    return this.stopping;
  }

  private async stopParts(): Promise<void> {
    this.ready = false;
    this.backgroundPriority?.close();
    this.log.info({ openStreams: this.grpc.activeStreams, drainTimeoutMs: this.config.drainTimeoutMs }, 'draining');
    this.policy?.close();
    // Until the last step has run, the process must not end on its own. The
    // listeners close one by one as the steps run; a later step waiting only on
    // something that does not hold the event loop open (an unref'd worker
    // thread, a native callback) would let Node exit with that step half done
    // and this finally never run: the server file left behind, naming a server
    // that is gone. Seen, rarely, in the CLI's SIGTERM test under load, with
    // exit code 0 and no error logged; which step it was is not known.
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      if (this.config.shutdownDelayMs > 0) {
        // New calls are still captured while Envoy learns that this instance is going away.
        this.grpc.announceStopping();
        this.log.info({ shutdownDelayMs: this.config.shutdownDelayMs }, 'taking new calls a little longer before draining');
        await new Promise((resolve) => setTimeout(resolve, this.config.shutdownDelayMs));
      }
      await this.grpc.drain(this.config.drainTimeoutMs);
      await this.minter?.close();
      await this.pipeline.close();
      await this.delivery.stop(this.config.sinkShutdownTimeoutMs);
      await this.admin.close();
      await this.delivery.closeSinks();
    } finally {
      clearInterval(keepAlive);
      // The process ends either way: a server file left behind would name a server that is gone.
      this.removeServerInfo();
    }
    this.log.info('stopped');
  }

  /**
   * Two servers on one data directory would write the same store, spool and
   * journal: the second refuses to start (CAP_ERR_STORE_BUSY), naming the
   * first. The owner is the one in egress-capture-server.json, if its pid is
   * alive and not ours (a container restarted as pid 1 finds its previous
   * life's file) and its admin port answers (a pid can be reused by another
   * program after a crash; a false refusal would keep the service down).
   */
  private async refuseBusyDataDir(): Promise<void> {
    const file = this.serverInfoPath();
    const info = readJsonFile<ServerInfo>(file);
    if (info === undefined || info.pid === process.pid) return;
    try {
      process.kill(info.pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') return; // no such process: a stale file
    }
    const answers = await fetch(`${info.adminUrl}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (!answers) return;
    throw new CaptureError(
      'CAP_ERR_STORE_BUSY',
      `data directory ${this.config.dataDir} is in use by a running server (pid ${info.pid}, admin ${info.adminUrl}); stop it, give this one another --data-dir, or query it with --admin ${info.adminUrl}`,
    );
  }

  /** With a remote store too: the data directory still holds this server's spool and journal. */
  private serverInfoPath(): string {
    return path.join(this.config.dataDir, SERVER_INFO_FILE);
  }

  private writeServerInfo(): void {
    const file = this.serverInfoPath();
    const host = ['0.0.0.0', '::', ''].includes(this.config.adminListen.host) ? '127.0.0.1' : this.config.adminListen.host;
    const info: ServerInfo = {
      pid: process.pid,
      adminUrl: `${this.admin.protocol}//${host.includes(':') ? `[${host}]` : host}:${this.adminPort}`,
      adminCertSha256: this.admin.certificate?.pair.fingerprint256,
      grpcAddress: this.grpcAddress,
    };
    // Written whole and renamed into place: a reader never sees a half-written file.
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(info) + '\n');
    fs.renameSync(temporary, file);
  }

  private removeServerInfo(): void {
    fs.rmSync(this.serverInfoPath(), { force: true });
  }
}

/*
 * The remote store (@clickhouse/client) and the OTLP sink (the OpenTelemetry
 * SDK) are loaded only when configured: with neither, the service loads about
 * 330 modules instead of 640 and its heap after start-up is ~13 MB, not ~17.
 */

/** The remote ClickHouse when --clickhouse-url is given, else the embedded one. */
function createStore(config: RuntimeConfig): Store {
  if (config.clickhouseUrl === '') return new EmbeddedStore({ dataDir: config.dataDir, ttlDays: config.ttlDays, memory: config });
  const { RemoteStore } = require('../sinks/clickhouse/remote-store') as typeof import('../sinks/clickhouse/remote-store');
  return new RemoteStore({ url: config.clickhouseUrl, ttlDays: config.ttlDays, caFile: config.clickhouseCaFile, layout: layoutFromOptions(config), createSchema: !config.noCreateSchema });
}

/** The OTLP sink when an endpoint is configured (an empty endpoint disables the export; storage goes on). */
async function openOtlpSink(config: RuntimeConfig, log: Logger): Promise<Sink | undefined> {
  if (!otlpEnabled(config)) return undefined;
  const { createOtlpSink } = require('../sinks/otlp/otlp-sink') as typeof import('../sinks/otlp/otlp-sink');
  const sink = createOtlpSink(config, {}, { log });
  await sink.open();
  return sink;
}
