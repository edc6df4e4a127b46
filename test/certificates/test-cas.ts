/**
 * Test CAs written the way they are deployed: a Kubernetes TLS Secret volume
 * (`<dir>/<namespace>/<name>/` with `..data` pointing at a timestamped folder
 * and tls.crt/tls.key symlinked through it), so rotation is the same atomic
 * symlink swap the kubelet does.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { createCa, type NewCa } from '../../src/certificates/ca-certificate';

const YEAR_MS = 365 * 24 * 3600 * 1000;

export function newCa(commonName: string, keyType: 'ecdsa' | 'rsa' = 'ecdsa'): NewCa {
  return createCa({ commonName, keyType, notAfter: new Date(Date.now() + YEAR_MS) });
}

let generation = 0;

/** Writes (or atomically replaces) a Secret volume holding `files`, as the kubelet does. */
export function writeSecretVolume(folder: string, files: Record<string, string>): void {
  fs.mkdirSync(folder, { recursive: true });
  const stamp = `..${Date.now()}_${++generation}`;
  fs.mkdirSync(path.join(folder, stamp));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(folder, stamp, name), text);
  fs.symlinkSync(stamp, path.join(folder, '..data_tmp'));
  fs.renameSync(path.join(folder, '..data_tmp'), path.join(folder, '..data'));
  for (const name of Object.keys(files)) {
    const link = path.join(folder, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join('..data', name), link);
  }
}

export function caFiles(ca: NewCa, names: 'tls' | 'ca' = 'tls'): Record<string, string> {
  return { [`${names}.crt`]: ca.certificatePem, [`${names}.key`]: ca.keyPem };
}

/**
 * A TLS handshake as a workload makes it: a server using the served key and
 * chain, a client trusting only `caPem` and asking for `servername`.
 * Resolves with the client's verification error, or undefined on success.
 */
export async function handshake(secret: { certificateChain: string; privateKey: string }, caPem: string, servername: string): Promise<string | undefined> {
  const server = tls.createServer({ key: secret.privateKey, cert: secret.certificateChain }, (socket) => socket.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    return await new Promise<string | undefined>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: caPem }, () => {
        socket.end();
        resolve(undefined);
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  } finally {
    server.close();
  }
}

/** The certificates of a PEM chain, leaf first. */
export function chainOf(pem: string): crypto.X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new crypto.X509Certificate(block));
}

/**
 * A client certificate (clientAuth) signed by the CA in `caCertFile`/`caKeyFile`, made with the
 * openssl CLI as an operator would make Envoy's: writes `<dir>/<name>.crt` and `<dir>/<name>.key`.
 */
export function opensslClientCertificate(dir: string, name: string, caCertFile: string, caKeyFile: string): { certFile: string; keyFile: string } {
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  fs.writeFileSync(path.join(dir, `${name}.cnf`), 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', caCertFile, '-CAkey', caKeyFile, '-CAcreateserial', '-days', '1', '-extfile', `${name}.cnf`, '-out', `${name}.crt`);
  return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
}
