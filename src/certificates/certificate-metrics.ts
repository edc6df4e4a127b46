/**
 * The certificate minter's Prometheus metrics, on the service's registry
 * (src/metrics.ts) so /metrics shows them beside the capture's.
 */
import * as prom from 'prom-client';

export class CertificateMetrics {
  readonly minted: prom.Counter<string>;
  readonly cacheHits: prom.Counter<string>;
  readonly mintSeconds: prom.Histogram<string>;
  readonly openStreams: prom.Gauge<string>;
  readonly refusedNames: prom.Counter<string>;
  readonly caLoadErrors: prom.Counter<string>;
  readonly nacks: prom.Counter<string>;
  readonly cachedLeaves: prom.Gauge<string>;

  constructor(registry: prom.Registry) {
    const registers = [registry];
    this.minted = new prom.Counter({
      name: 'egress_capture_sds_certificates_minted_total',
      help: 'leaf certificates minted (first request of a name, renewal, CA rotation, cache eviction)',
      registers,
    });
    this.cacheHits = new prom.Counter({ name: 'egress_capture_sds_cache_hits_total', help: 'requested names answered from the leaf cache', registers });
    this.mintSeconds = new prom.Histogram({
      name: 'egress_capture_sds_mint_seconds',
      help: 'time to mint one leaf (key generation, encoding, signing)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.openStreams = new prom.Gauge({ name: 'egress_capture_sds_streams', help: 'open secret discovery streams, by API (delta, sotw)', labelNames: ['api'], registers });
    this.refusedNames = new prom.Counter({ name: 'egress_capture_sds_names_refused_total', help: 'requested names answered without a certificate, by reason', labelNames: ['reason'], registers });
    this.caLoadErrors = new prom.Counter({
      name: 'egress_capture_sds_ca_load_errors_total',
      help: 'CA loads that failed, by reason (counted when the problem changes, not per request)',
      labelNames: ['reason'],
      registers,
    });
    this.nacks = new prom.Counter({ name: 'egress_capture_sds_nacks_total', help: 'responses an SDS client rejected (NACK)', labelNames: ['api'], registers });
    this.cachedLeaves = new prom.Gauge({ name: 'egress_capture_sds_cached_leaves', help: 'leaves held in the cache', registers });
  }
}
