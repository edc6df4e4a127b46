/**
 * The certificate minter as the service runs it: CA store, leaf source and
 * SDS listener, built from the runtime configuration.
 */
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import type { ListenAddress } from '../listen-address';

/** What the minter is started with (the service passes its configuration). */
export interface MinterSettings {
  caDir: string;
  caCertFile: string;
  caKeyFile: string;
  sdsMaxCerts: number;
  leafValidityMs: number;
  sdsListen: ListenAddress;
  sdsTlsCertFile: string;
  sdsTlsKeyFile: string;
  sdsClientCaFile: string;
}
import { CaStore } from './ca-store';
import { CertificateMetrics } from './certificate-metrics';
import { CertificateSource } from './certificate-source';
import { SdsServer } from './sds-server';
import type * as prom from 'prom-client';

export class CertificateMinter {
  readonly cas: CaStore;
  readonly source: CertificateSource;
  readonly server: SdsServer;

  private constructor(config: MinterSettings, log: Logger, registry: prom.Registry) {
    const metrics = new CertificateMetrics(registry);
    this.cas = new CaStore({ caDir: config.caDir, caCertFile: config.caCertFile, caKeyFile: config.caKeyFile, log, metrics });
    this.source = new CertificateSource({ cas: this.cas, maxCachedLeaves: config.sdsMaxCerts, leafValidityMs: config.leafValidityMs, metrics, log });
    this.server = new SdsServer({
      address: config.sdsListen,
      tls:
        config.sdsTlsCertFile === ''
          ? undefined
          : {
              cert: fs.readFileSync(config.sdsTlsCertFile),
              key: fs.readFileSync(config.sdsTlsKeyFile),
              clientCa: config.sdsClientCaFile === '' ? undefined : fs.readFileSync(config.sdsClientCaFile),
            },
      source: this.source,
      metrics,
      log,
    });
  }

  /** The minter when a CA is configured, listening; undefined otherwise (nothing could be signed). */
  static async start(config: MinterSettings, log: Logger, registry: prom.Registry): Promise<CertificateMinter | undefined> {
    if (!CaStore.configured(config)) return undefined;
    const minter = new CertificateMinter(config, log, registry);
    // Problems are logged with their file now; they make /readyz fail until fixed, without stopping the capture.
    minter.cas.loadConfigured();
    try {
      await minter.server.listen();
    } catch (err) {
      minter.cas.close();
      throw err;
    }
    return minter;
  }

  /** Why the minter is not ready: a configured CA that cannot be loaded. Empty = ready. */
  problems(): string[] {
    return this.cas.problems();
  }

  async close(): Promise<void> {
    await this.server.close();
    this.cas.close();
  }
}
