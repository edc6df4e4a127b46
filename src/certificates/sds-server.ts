/**
 * The certificate minter's gRPC listener (--sds-listen, 9443): Envoy's
 * SecretDiscoveryService, delta and state-of-the-world, plus grpc.health.v1.
 * It is its own server, apart from ext_proc, because whoever reaches it gets
 * private keys that impersonate any host to workloads trusting the CA: it can
 * be bound, firewalled and put behind mTLS (--sds-client-ca) on its own.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { formatListen, type ListenAddress } from '../listen-address';
import { CaptureError } from '../errors';
import { GATEWAY_METADATA_HEADER } from '../capture/gateway-identity';
import { CA_SECRET_METADATA } from './minter-contract';
import type { CertificateMetrics } from './certificate-metrics';
import type { CertificateSource } from './certificate-source';
import { DeltaSession } from './delta-session';
import type { SessionContext } from './sds-session';
import { SDS_SERVICE, sdsServiceDefinition, type DeltaCall, type SotwCall } from './sds-protocol';
import { SotwSession } from './sotw-session';

export interface SdsServerOptions {
  address: ListenAddress;
  /** PEM material for TLS; with clientCa, clients must present a certificate it signed (mTLS). Absent: plaintext. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  source: CertificateSource;
  metrics: CertificateMetrics;
  log: Logger;
}

export class SdsServer {
  private readonly server = new grpc.Server();
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', [SDS_SERVICE]: 'NOT_SERVING' });
  private readonly sessions = new Set<DeltaSession | SotwSession>();
  private readonly stopWatching: () => void;
  private streamCounter = 0;
  boundPort = 0;

  constructor(private readonly options: SdsServerOptions) {
    this.server.addService(sdsServiceDefinition(), {
      DeltaSecrets: (call: DeltaCall) => this.open('delta', call),
      StreamSecrets: (call: SotwCall) => this.open('sotw', call),
    });
    this.health.addToServer(this.server);
    // A rotated CA: every open stream re-resolves its names; unchanged ones come from the cache and are not resent.
    this.stopWatching = options.source.cas.onChange(() => {
      for (const session of this.sessions) session.refreshAll();
    });
  }

  get openStreams(): number {
    return this.sessions.size;
  }

  async listen(): Promise<number> {
    const address = formatListen(this.options.address);
    const tls = this.options.tls;
    const credentials =
      tls === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, credentials, (err, port) => {
        if (err) reject(new CaptureError('CAP_ERR_SDS_BIND', `cannot listen on ${address} (--sds-listen): ${err.message}`, { cause: err }));
        else resolve(port);
      });
    });
    this.health.setStatus('', 'SERVING');
    this.health.setStatus(SDS_SERVICE, 'SERVING');
    return this.boundPort;
  }

  async close(): Promise<void> {
    this.stopWatching();
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus(SDS_SERVICE, 'NOT_SERVING');
    // Envoy keeps the certificates it holds and reconnects elsewhere; nothing to drain.
    this.server.forceShutdown();
  }

  private open(api: 'delta' | 'sotw', call: DeltaCall | SotwCall): void {
    const metadata = call.metadata;
    const context: SessionContext = {
      source: this.options.source,
      metrics: this.options.metrics,
      log: this.options.log,
      caRef: String(metadata.get(CA_SECRET_METADATA)[0] ?? '').trim(),
      gateway: String(metadata.get(GATEWAY_METADATA_HEADER)[0] ?? ''),
      streamId: ++this.streamCounter,
    };
    const gauge = this.options.metrics.openStreams.labels(api);
    gauge.inc();
    const onClose = (): void => {
      this.sessions.delete(session);
      gauge.dec();
    };
    const session = api === 'delta' ? new DeltaSession(call as DeltaCall, context, onClose) : new SotwSession(call as SotwCall, context, onClose);
    this.sessions.add(session);
    this.options.log.debug({ api, gateway: context.gateway, ca: context.caRef || '(default)', stream: context.streamId }, 'SDS stream opened');
  }
}
