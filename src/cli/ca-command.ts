/**
 * `egress-capture ca init --out DIR [--name TEXT] [--key-type ecdsa|rsa]`:
 * writes a new interception CA as DIR/tls.crt and DIR/tls.key (the keys of a
 * Kubernetes TLS Secret), valid 10 years, and says how to use and trust it.
 * The key is written 0600 and existing files are never overwritten: replacing
 * a CA silently would break every workload that trusts the old one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCa } from '../certificates/ca-certificate';
import type { CommandIo } from './main';

const USAGE = 'usage: egress-capture ca init --out DIR [--name "Egress Capture CA"] [--key-type ecdsa|rsa]\n';
const VALIDITY_YEARS = 10;

export async function runCaCommand(argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || (sub === 'init' && rest.some((arg) => arg === '--help' || arg === '-h'))) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'init') {
    io.stderr.write(sub === undefined ? USAGE : `egress-capture ca: unknown subcommand "${sub}"\n${USAGE}`);
    return 2;
  }
  const options: Record<string, string> = { name: 'Egress Capture CA', 'key-type': 'ecdsa' };
  for (let i = 0; i < rest.length; i++) {
    const match = /^--(out|name|key-type)(?:=(.*))?$/.exec(rest[i]!);
    const value = match?.[2] ?? rest[i + 1];
    if (match === null || value === undefined) {
      io.stderr.write(`egress-capture ca init: "${rest[i]}" unexpected\n${USAGE}`);
      return 2;
    }
    if (match[2] === undefined) i++;
    options[match[1]!] = value;
  }
  const out = options.out;
  if (out === undefined || out.trim() === '') {
    io.stderr.write(`egress-capture ca init: --out DIR is required\n${USAGE}`);
    return 2;
  }
  if (options['key-type'] !== 'ecdsa' && options['key-type'] !== 'rsa') {
    io.stderr.write(`egress-capture ca init: --key-type "${options['key-type']}": expected ecdsa or rsa\n`);
    return 2;
  }
  const certFile = path.join(out, 'tls.crt');
  const keyFile = path.join(out, 'tls.key');
  for (const file of [certFile, keyFile]) {
    if (fs.existsSync(file)) {
      io.stderr.write(`egress-capture ca init: ${file} exists; not overwritten (workloads may trust the CA it holds). Choose another --out or remove it first.\n`);
      return 1;
    }
  }
  const notAfter = new Date();
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
  const ca = createCa({ commonName: options.name!, keyType: options['key-type'], notAfter });
  fs.mkdirSync(out, { recursive: true, mode: 0o700 });
  fs.writeFileSync(keyFile, ca.keyPem, { mode: 0o600, flag: 'wx' });
  fs.writeFileSync(certFile, ca.certificatePem, { mode: 0o644, flag: 'wx' });
  const absCert = path.resolve(certFile);
  io.stdout.write(
    [
      `wrote ${certFile} (CA certificate, "${options.name}", valid until ${notAfter.toISOString().slice(0, 10)})`,
      `wrote ${keyFile} (its private key, mode 0600: whoever holds it can impersonate any host to clients that trust the CA)`,
      '',
      'Use it:',
      `  egress-capture serve --ca-cert ${certFile} --ca-key ${keyFile}`,
      `  kubectl -n <gateway-namespace> create secret tls <name> --cert=${certFile} --key=${keyFile}   (then caCertRef: <name>)`,
      '',
      'Make the workloads whose HTTPS is intercepted trust it (the certificate only, never the key):',
      `  Node.js:            NODE_EXTRA_CA_CERTS=${absCert}`,
      `  Python requests:    REQUESTS_CA_BUNDLE=<bundle of the system roots + ${absCert}>`,
      `  OpenSSL, curl, Go:  SSL_CERT_FILE=<bundle of the system roots + ${absCert}>`,
      `  Debian, Ubuntu:     cp ${absCert} /usr/local/share/ca-certificates/egress-capture.crt && update-ca-certificates`,
      `  RHEL, Fedora:       cp ${absCert} /etc/pki/ca-trust/source/anchors/egress-capture.crt && update-ca-trust`,
      '',
    ].join('\n'),
  );
  return 0;
}
