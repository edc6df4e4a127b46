/**
 * Where the CA that signs a stream's leaves comes from, and keeping it current.
 *
 * A stream names its CA in the `x-egress-capture-ca-secret` metadata as
 * `<namespace>/<name>` (the listener's caCertRef, src/translator). With
 * `--ca-dir DIR` that CA is read from `DIR/<namespace>/<name>/`, the keys of a
 * Kubernetes TLS Secret mounted there: `tls.crt` + `tls.key`, else
 * `ca.crt` + `ca.key`. The `--ca-cert`/`--ca-key` pair serves streams that
 * name no CA, and every stream when there is no `--ca-dir` (one CA for the
 * whole host, as with the standalone Envoy bootstrap).
 *
 * Rotation: a Secret volume is updated by swapping its `..data` symlink, one
 * rename in the folder, which fs.watch reports; the files are also re-read
 * every RECHECK_MS in case a volume type reports nothing. A CA whose bytes
 * changed is reloaded and listeners are told, so open streams get leaves from
 * the new CA. When the new files are broken the last good CA keeps signing
 * (handshakes keep working) while the problem is logged and /readyz says not
 * ready; a CA that never loaded serves nothing.
 *
 * Problems are logged and counted when they change, not per request.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { CaProblem, CertificateAuthority, type CaProblemReason } from './certificate-authority';
import type { CertificateMetrics } from './certificate-metrics';
import { CA_SECRET_METADATA } from './minter-contract';

/** The CA of streams that name none. */
export const DEFAULT_CA = '';
/** Safety-net re-read of every CA in use, for volumes whose changes fs.watch does not see. */
export const RECHECK_MS = 30_000;
/** A CA that never loaded is read again on demand at most this often (not on every handshake). */
const RETRY_MS = 2_000;
/** A change seen by fs.watch is acted on after this quiet time (a swap is several events). */
const SETTLE_MS = 100;
/** The file pairs a CA folder may hold, in order of preference. */
const PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['tls.crt', 'tls.key'],
  ['ca.crt', 'ca.key'],
];
/** Kubernetes object names: DNS-1123 subdomain. Also keeps `..` and `/` out of the path. */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface CaStoreOptions {
  caDir: string;
  caCertFile: string;
  caKeyFile: string;
  log: Logger;
  metrics: CertificateMetrics;
}

export type CaLookup = { ok: true; ca: CertificateAuthority } | { ok: false; reason: CaProblemReason | 'unknown_ca' | 'bad_reference' | 'no_default_ca'; message: string };

interface Entry {
  ref: string;
  files: () => { certFile: string; keyFile: string } | CaProblem;
  good?: CertificateAuthority;
  problem?: CaProblem;
  loadedAt: number;
  watchers: fs.FSWatcher[];
  settle?: NodeJS.Timeout;
}

export class CaStore {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(ref: string) => void>();
  private readonly recheck: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: CaStoreOptions) {
    this.recheck = setInterval(() => this.recheckAll(), RECHECK_MS);
    this.recheck.unref();
  }

  /** Whether any CA can be served at all (the SDS listener opens only then). */
  static configured(options: { caDir: string; caCertFile: string }): boolean {
    return options.caDir !== '' || options.caCertFile !== '';
  }

  /** Loads every configured CA now (the default pair and each folder of --ca-dir), logging each problem. */
  loadConfigured(): void {
    if (this.options.caCertFile !== '') this.lookup(DEFAULT_CA);
    for (const ref of this.folderRefs()) this.lookup(ref);
  }

  /**
   * Problems of the configured CAs (default pair, folders present in --ca-dir)
   * that cannot be loaded now; empty = ready. A CA folder rotated to broken
   * files counts even while its last good CA still signs.
   */
  problems(): string[] {
    const out: string[] = [];
    for (const entry of this.entries.values()) if (entry.problem) out.push(entry.problem.message);
    return out;
  }

  /** Called with the reference of a CA that was reloaded with new contents (DEFAULT_CA for the pair). */
  onChange(listener: (ref: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The CA for a stream's reference (DEFAULT_CA or `<namespace>/<name>`). */
  lookup(requested: string): CaLookup {
    // Without --ca-dir every stream is signed by the one pair: one entry, one watcher.
    const ref = this.options.caDir === '' ? DEFAULT_CA : requested;
    let entry = this.entries.get(ref);
    if (entry === undefined) {
      const resolved = this.resolve(ref);
      if ('reason' in resolved) return { ok: false, ...resolved };
      entry = { ref, files: resolved.files, watchers: [], loadedAt: 0 };
      this.entries.set(ref, entry);
      this.load(entry);
      this.watch(entry);
    } else if (entry.good === undefined && Date.now() - entry.loadedAt >= RETRY_MS) {
      // Never loaded: try again, the files may have been fixed since.
      this.load(entry);
    }
    // The last good CA keeps signing while new files are broken, but not past its own expiry.
    if (entry.good !== undefined && entry.good.notAfter.getTime() > Date.now()) return { ok: true, ca: entry.good };
    if (entry.problem === undefined) {
      entry.problem = new CaProblem(entry.good!.certFile, 'expired', `the CA certificate expired on ${entry.good!.notAfter.toISOString()}`);
      this.options.metrics.caLoadErrors.inc({ reason: 'expired' });
      this.options.log.error({ ca: entry.ref || '(default)', reason: 'expired' }, `CA cannot be used: ${entry.problem.message}`);
    }
    return { ok: false, reason: entry.problem.reason, message: entry.problem.message };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.recheck);
    for (const entry of this.entries.values()) {
      clearTimeout(entry.settle);
      for (const watcher of entry.watchers) watcher.close();
    }
  }

  private resolve(ref: string): { files: Entry['files'] } | { reason: 'unknown_ca' | 'bad_reference' | 'no_default_ca'; message: string } {
    const { caDir, caCertFile, caKeyFile } = this.options;
    const defaultPair = caCertFile === '' ? undefined : () => ({ certFile: caCertFile, keyFile: caKeyFile });
    if (ref === DEFAULT_CA || caDir === '') {
      if (defaultPair) return { files: defaultPair };
      return { reason: 'no_default_ca', message: `the stream names no CA (${CA_SECRET_METADATA}) and no --ca-cert/--ca-key is configured` };
    }
    const parts = ref.split('/');
    if (parts.length !== 2 || !parts.every((part) => OBJECT_NAME.test(part) && part.length <= 253)) {
      return { reason: 'bad_reference', message: `${CA_SECRET_METADATA} "${ref}": expected <namespace>/<name> of a Kubernetes Secret` };
    }
    const folder = path.join(caDir, parts[0]!, parts[1]!);
    if (!fs.existsSync(folder)) return { reason: 'unknown_ca', message: `${CA_SECRET_METADATA} "${ref}": no folder ${folder} (mount the Secret ${ref} there)` };
    return { files: () => pairIn(folder) };
  }

  private load(entry: Entry): boolean {
    const before = entry.good?.fingerprint;
    const previousProblem = entry.problem?.message;
    const files = entry.files();
    entry.loadedAt = Date.now();
    try {
      if (files instanceof CaProblem) throw files;
      const ca = CertificateAuthority.fromFiles(files.certFile, files.keyFile);
      entry.problem = undefined;
      entry.good = ca;
      if (ca.fingerprint !== before) {
        this.options.log.info(
          { ca: entry.ref || '(default)', certFile: files.certFile, subject: ca.certificate.subject.replace(/\n/g, ', '), key: ca.keyType, notAfter: ca.notAfter.toISOString() },
          before === undefined ? 'CA loaded' : 'CA rotated',
        );
      }
    } catch (err) {
      if (!(err instanceof CaProblem)) throw err;
      entry.problem = err;
      if (err.message !== previousProblem) {
        this.options.metrics.caLoadErrors.inc({ reason: err.reason });
        this.options.log.error({ ca: entry.ref || '(default)', reason: err.reason, keepsSigningWithPrevious: entry.good !== undefined }, `CA cannot be loaded: ${err.message}`);
      }
    }
    return entry.good?.fingerprint !== before;
  }

  private watch(entry: Entry): void {
    const files = entry.files();
    const folders = files instanceof CaProblem ? [path.dirname(files.file)] : [...new Set([path.dirname(files.certFile), path.dirname(files.keyFile)])];
    for (const folder of folders) {
      try {
        const watcher = fs.watch(folder, { persistent: false }, () => this.settle(entry));
        watcher.on('error', () => watcher.close());
        entry.watchers.push(watcher);
      } catch {
        // Not watchable (gone, or no permission): the periodic re-read covers it.
      }
    }
  }

  private settle(entry: Entry): void {
    clearTimeout(entry.settle);
    entry.settle = setTimeout(() => this.reload(entry), SETTLE_MS);
    entry.settle.unref();
  }

  private reload(entry: Entry): void {
    if (this.closed) return;
    if (this.load(entry)) for (const listener of this.listeners) listener(entry.ref);
  }

  private recheckAll(): void {
    for (const entry of this.entries.values()) this.reload(entry);
    for (const ref of this.folderRefs()) if (!this.entries.has(ref)) this.lookup(ref);
  }

  /** `<namespace>/<name>` of every CA folder in --ca-dir. */
  private folderRefs(): string[] {
    const caDir = this.options.caDir;
    if (caDir === '') return [];
    const refs: string[] = [];
    for (const namespace of readDirs(caDir)) for (const name of readDirs(path.join(caDir, namespace))) refs.push(`${namespace}/${name}`);
    return refs;
  }
}

function readDirs(folder: string): string[] {
  try {
    return fs
      .readdirSync(folder, { withFileTypes: true })
      .filter((d) => !d.name.startsWith('.') && (d.isDirectory() || d.isSymbolicLink()))
      .map((d) => d.name);
  } catch {
    return [];
  }
}

function pairIn(folder: string): { certFile: string; keyFile: string } | CaProblem {
  for (const [cert, key] of PAIRS) {
    if (fs.existsSync(path.join(folder, cert))) return { certFile: path.join(folder, cert), keyFile: path.join(folder, key) };
  }
  if (!fs.existsSync(folder)) return new CaProblem(folder, 'missing', 'the CA folder is gone');
  return new CaProblem(folder, 'missing', `neither ${PAIRS.map(([c, k]) => `${c} + ${k}`).join(' nor ')} in the folder`);
}
