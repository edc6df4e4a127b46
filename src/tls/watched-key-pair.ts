/**
 * A listener's certificate chain and private key, read from PEM files and
 * kept current while the process runs.
 *
 * Certificates are rotated under a running server (cert-manager renews them,
 * Kubernetes swaps a mounted Secret's `..data` symlink), so the files are
 * polled (FilePoller: stat follows the swapped link). A changed pair is loaded whole and checked (the key must match the
 * certificate) before it replaces the one in use; a broken pair is logged and
 * counted, and the previous one keeps serving: a half-written rotation must
 * not take the listener down.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import type { Logger } from 'pino';
import { CaptureError, describeError } from '../errors';
import { FilePoller } from '../file-poller';

export interface KeyPairFiles {
  certFile: string;
  keyFile: string;
}

export interface LoadedKeyPair {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the leaf, as node:crypto prints it (AB:CD:…). */
  fingerprint256: string;
  /** The leaf's notAfter, as a Date. */
  notAfter: Date;
}

/** Reads and checks a pair; throws CAP_ERR_TLS_FILES naming the file and what is wrong. */
export function loadKeyPair(files: KeyPairFiles): LoadedKeyPair {
  const read = (file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new CaptureError('CAP_ERR_TLS_FILES', `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? describeError(err)})`);
    }
  };
  const cert = read(files.certFile);
  const key = read(files.keyFile);
  let leaf: crypto.X509Certificate;
  try {
    leaf = new crypto.X509Certificate(cert);
  } catch (err) {
    throw new CaptureError('CAP_ERR_TLS_FILES', `${files.certFile}: not a PEM certificate (${describeError(err)})`);
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey(key);
  } catch (err) {
    throw new CaptureError('CAP_ERR_TLS_FILES', `${files.keyFile}: not a PEM private key (${describeError(err)})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new CaptureError('CAP_ERR_TLS_FILES', `${files.keyFile}: is not the key of the certificate in ${files.certFile}`);
  }
  // The chain and key as OpenSSL will use them; catches what the checks above do not (e.g. a bad intermediate).
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw new CaptureError('CAP_ERR_TLS_FILES', `${files.certFile}: rejected by TLS (${describeError(err)})`);
  }
  return { cert, key, fingerprint256: leaf.fingerprint256, notAfter: new Date(leaf.validTo) };
}

export interface WatchedKeyPairOptions extends KeyPairFiles {
  log: Logger;
  /** How often the files are polled, ms. */
  pollIntervalMs: number;
  /** Called with each new pair once it has been loaded and checked. */
  onChange: (pair: LoadedKeyPair) => void;
  /** Called when a changed pair cannot be loaded (the previous one stays). */
  onError?: (err: CaptureError) => void;
}

/** A pair loaded at construction (throws when it cannot be) and re-loaded when either file changes. */
export class WatchedKeyPair {
  private current: LoadedKeyPair;
  private readonly poller: FilePoller;

  constructor(private readonly options: WatchedKeyPairOptions) {
    // Before the read: a rotation written after it is then always seen.
    this.poller = new FilePoller([options.certFile, options.keyFile]);
    this.current = loadKeyPair(options);
    this.poller.start(options.pollIntervalMs, () => this.reload());
  }

  get pair(): LoadedKeyPair {
    return this.current;
  }

  close(): void {
    this.poller.close();
  }

  private reload(): void {
    let next: LoadedKeyPair;
    try {
      next = loadKeyPair(this.options);
    } catch (err) {
      // Rotations write the certificate and the key one after the other: the first poll may see one new file and one old.
      const error = err instanceof CaptureError ? err : new CaptureError('CAP_ERR_TLS_FILES', describeError(err));
      this.options.log.error({ code: error.code, err: error.message }, 'TLS certificate change not applied; the previous certificate stays in use');
      this.options.onError?.(error);
      return;
    }
    if (next.fingerprint256 === this.current.fingerprint256 && next.key.equals(this.current.key)) return;
    this.current = next;
    this.options.log.info({ certFile: this.options.certFile, fingerprint256: next.fingerprint256, notAfter: next.notAfter.toISOString() }, 'TLS certificate reloaded');
    this.options.onChange(next);
  }
}
