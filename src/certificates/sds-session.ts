/**
 * What the delta and state-of-the-world SDS streams share: the call's life
 * (client end, cancel, error), one renewal timer per served name, and the
 * refusal of a stream asking for anything but TLS secrets.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CertificateMetrics } from './certificate-metrics';
import type { CertificateSource } from './certificate-source';
import { RenewalTimers } from './renewal-timers';
import { SECRET_TYPE_URL } from './sds-protocol';

export interface SessionContext {
  source: CertificateSource;
  metrics: CertificateMetrics;
  log: Logger;
  /** `x-egress-capture-ca-secret` of the stream ('' = none). */
  caRef: string;
  /** `x-egress-capture-gateway` of the stream, for logs. */
  gateway: string;
  streamId: number;
}

export abstract class SdsSession<Request extends { type_url?: string }, Response> {
  protected readonly renewals: RenewalTimers;
  protected closed = false;

  constructor(
    protected readonly call: grpc.ServerDuplexStream<Request, Response>,
    protected readonly context: SessionContext,
    private readonly onClose: () => void,
  ) {
    this.renewals = new RenewalTimers((name) => this.onRenewalDue(name));
    call.on('data', (request: Request) => {
      if (this.closed) return;
      if (request.type_url !== undefined && request.type_url !== '' && request.type_url !== SECRET_TYPE_URL) {
        this.fail(grpc.status.INVALID_ARGUMENT, `this server serves ${SECRET_TYPE_URL} only, not ${request.type_url}`);
        return;
      }
      this.onRequest(request);
    });
    call.on('end', () => this.close(true));
    call.on('error', () => this.close(false));
    call.on('cancelled', () => this.close(false));
  }

  /** Re-resolve every name (the CA may have rotated) and push what changed. */
  abstract refreshAll(): void;

  protected abstract onRequest(request: Request): void;

  /** A leaf of `name` reached its renewal time. */
  protected abstract onRenewalDue(name: string): void;

  protected logNack(api: 'delta' | 'sotw', error: string | undefined, names: string[]): void {
    this.context.metrics.nacks.inc({ api });
    this.context.log.warn({ gateway: this.context.gateway, stream: this.context.streamId, names: names.slice(0, 10), error }, 'SDS client rejected certificates (NACK); it keeps its previous ones');
  }

  private fail(code: grpc.status, details: string): void {
    this.context.log.warn({ gateway: this.context.gateway, stream: this.context.streamId }, `SDS stream refused: ${details}`);
    this.call.emit('error', { code, details });
    this.close(false);
  }

  private close(ended: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.renewals.cancelAll();
    if (ended) this.call.end();
    this.onClose();
  }
}
