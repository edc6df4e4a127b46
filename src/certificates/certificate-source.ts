/**
 * Answers "the certificate for this name, signed by this stream's CA": from
 * the cache when a leaf is there and not due for renewal, else minted at once
 * (a TLS handshake is waiting on it). Names that must not get a certificate,
 * and streams whose CA cannot be loaded, get a refusal with a reason that is
 * counted and logged once per distinct (reason, name) — not per handshake.
 */
import type { Logger } from 'pino';
import type { CaStore } from './ca-store';
import type { CertificateMetrics } from './certificate-metrics';
import { parseHostName } from './host-name';
import { LeafCache, type CachedLeaf } from './leaf-cache';
import { mintLeaf } from './leaf-minter';
import { encodeTlsSecret } from './sds-protocol';

/** Renewal point: this share of a leaf's validity after it was minted. */
export const RENEW_AT_FRACTION = 2 / 3;
/** A leaf is kept at least this long before it is renewed. */
const MIN_RENEW_AFTER_MS = 1000;
/** How many distinct refusals are remembered so each is logged once. */
const LOGGED_REFUSALS_MAX = 1000;

export type Resolution = ({ ok: true } & CachedLeaf) | { ok: false; reason: string; message: string };

export interface CertificateSourceOptions {
  cas: CaStore;
  maxCachedLeaves: number;
  leafValidityMs: number;
  metrics: CertificateMetrics;
  log: Logger;
  now?: () => number;
}

export class CertificateSource {
  readonly cache: LeafCache;
  private readonly loggedRefusals = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: CertificateSourceOptions) {
    this.cache = new LeafCache(options.maxCachedLeaves);
    this.now = options.now ?? Date.now;
  }

  get cas(): CaStore {
    return this.options.cas;
  }

  resolve(caRef: string, requestedName: string): Resolution {
    const host = parseHostName(requestedName);
    if (host.kind === 'refused') return this.refuse(host.reason, `name "${requestedName.slice(0, 300)}": ${host.detail}`, requestedName);
    const lookup = this.options.cas.lookup(caRef);
    // The CA store logs and counts its own problems when they change; here only the name's refusal is counted.
    if (!lookup.ok) return this.refuse(lookup.reason, lookup.message, undefined);
    const ca = lookup.ca;
    const now = this.now();
    const cached = this.cache.get(ca.fingerprint, requestedName, now);
    if (cached !== undefined) {
      this.options.metrics.cacheHits.inc();
      return { ok: true, ...cached };
    }
    const stop = this.options.metrics.mintSeconds.startTimer();
    const minted = mintLeaf(ca, host.name, host.kind, this.options.leafValidityMs, now);
    const leaf: CachedLeaf = {
      version: minted.serial,
      resource: encodeTlsSecret(requestedName, minted.chainPem, minted.keyPem),
      // A leaf cut short by its CA's expiry would otherwise be renewed ever faster near the end.
      renewAt: minted.issuedAt + Math.max(MIN_RENEW_AFTER_MS, Math.floor((minted.notAfter - minted.issuedAt) * RENEW_AT_FRACTION)),
      notAfter: minted.notAfter,
    };
    stop();
    this.options.metrics.minted.inc();
    this.cache.set(ca.fingerprint, requestedName, leaf);
    this.options.metrics.cachedLeaves.set(this.cache.size);
    return { ok: true, ...leaf };
  }

  private refuse(reason: string, message: string, name: string | undefined): Resolution {
    this.options.metrics.refusedNames.inc({ reason });
    const key = `${reason}\n${name ?? message}`;
    if (!this.loggedRefusals.has(key)) {
      if (this.loggedRefusals.size >= LOGGED_REFUSALS_MAX) this.loggedRefusals.clear();
      this.loggedRefusals.add(key);
      this.options.log.warn({ reason }, `no certificate served: ${message}`);
    }
    return { ok: false, reason, message };
  }
}
