/**
 * Real X.509 material for TLS tests, made with openssl for one run: a CA, and
 * server and client certificates it signs. Each file is PEM in `dir`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestPki {
  dir: string;
  /** Absolute path of a file in dir. */
  file(name: string): string;
  pem(name: string): Buffer;
  /** Signs a new server certificate `<name>.pem`/`<name>.key` for the SANs (e.g. 'DNS:localhost,IP:127.0.0.1'). */
  issueServer(name: string, subjectAltName: string): void;
}

/** ca.pem/ca.key, server.pem/server.key (localhost, 127.0.0.1) and client.pem/client.key (CN envoy). */
export function makeTestPki(dir: string): TestPki {
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const issue = (name: string, subject: string, extensions: string | undefined): void => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    const ext = extensions === undefined ? [] : ['-extfile', `${name}.ext`];
    if (extensions !== undefined) fs.writeFileSync(file(`${name}.ext`), `${extensions}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', ...ext);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=egress-capture test CA');
  const pki: TestPki = {
    dir,
    file,
    pem: (name) => fs.readFileSync(file(name)),
    issueServer: (name, subjectAltName) => issue(name, `/CN=${name}`, `subjectAltName=${subjectAltName}`),
  };
  pki.issueServer('server', 'DNS:localhost,IP:127.0.0.1');
  issue('client', '/CN=envoy', undefined);
  return pki;
}
