/**
 * The ext_proc listener over TLS and mTLS, as an Envoy cluster with a TLS
 * transport socket reaches it: real certificates (made with openssl for this
 * run), a real grpc-js server and client. With a client CA configured, a
 * client without a certificate is refused at the handshake.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ExchangeSnapshot } from '../../src/capture/exchange-snapshot';
import { loadConfig } from '../../src/config/load-config';
import type { CaptureServer } from '../../src/extproc/capture-server';
import { extProcClientConstructor } from '../../src/extproc/wire/protocol';
import { pathsOf, startBareCaptureServer } from '../support/bare-capture-server';
import { exchange, headers, type RawCall } from '../support/raw-extproc-client';
import { makeTestPki, type TestPki } from '../support/test-certificates';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-tls-'));
let pki: TestPki;
const file = (name: string): string => pki.file(name);
const pem = (name: string): Buffer => pki.pem(name);

const finished: ExchangeSnapshot[] = [];

async function startServer(tls: { cert: Buffer; key: Buffer; clientCa?: Buffer }): Promise<CaptureServer> {
  return startBareCaptureServer(finished, { tls });
}

function client(port: number, credentials: grpc.ChannelCredentials): grpc.Client & { Process(): RawCall } {
  const Client = extProcClientConstructor();
  return new Client(`localhost:${port}`, credentials) as unknown as grpc.Client & { Process(): RawCall };
}

/** One whole exchange; resolves with the call's status. */
async function oneExchange(c: { Process(): RawCall }, tag: string): Promise<grpc.StatusObject | undefined> {
  const result = await exchange(
    c,
    [
      {
        request_headers: {
          headers: headers([
            [':method', 'GET'],
            [':path', `/${tag}`],
          ]),
          end_of_stream: true,
        },
      },
      { response_headers: { headers: headers([[':status', '204']]), end_of_stream: true } },
    ],
    { timeoutMs: 5000 },
  );
  return result.status;
}

const pathsSeen = (): string[] => pathsOf(finished);

beforeAll(() => {
  pki = makeTestPki(dir);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('ext_proc over TLS', () => {
  let server: CaptureServer;
  beforeAll(async () => {
    server = await startServer({ cert: pem('server.pem'), key: pem('server.key') });
  });
  afterAll(() => server.drain(100));

  it('a client trusting the CA completes an exchange; a plaintext client gets nothing through', async () => {
    const secure = client(server.boundPort, grpc.credentials.createSsl(pem('ca.pem')));
    expect((await oneExchange(secure, 'tls'))?.code).toBe(grpc.status.OK);
    secure.close();
    expect(pathsSeen()).toContain('/tls');

    const plain = client(server.boundPort, grpc.credentials.createInsecure());
    expect((await oneExchange(plain, 'plaintext'))?.code).toBe(grpc.status.UNAVAILABLE);
    plain.close();
    expect(pathsSeen()).not.toContain('/plaintext');
  });
});

describe('ext_proc over mTLS', () => {
  let server: CaptureServer;
  beforeAll(async () => {
    server = await startServer({ cert: pem('server.pem'), key: pem('server.key'), clientCa: pem('ca.pem') });
  });
  afterAll(() => server.drain(100));

  it('a client with a certificate from the CA completes an exchange', async () => {
    const withCert = client(server.boundPort, grpc.credentials.createSsl(pem('ca.pem'), pem('client.key'), pem('client.pem')));
    expect((await oneExchange(withCert, 'mtls'))?.code).toBe(grpc.status.OK);
    withCert.close();
    expect(pathsSeen()).toContain('/mtls');
  });

  it('a client without a certificate is refused at the handshake', async () => {
    const noCert = client(server.boundPort, grpc.credentials.createSsl(pem('ca.pem')));
    expect((await oneExchange(noCert, 'no-cert'))?.code).toBe(grpc.status.UNAVAILABLE);
    noCert.close();
    expect(pathsSeen()).not.toContain('/no-cert');
  });
});

describe('TLS options', () => {
  it('need certificate and key together, a client CA only with them, and readable files', () => {
    const load = (argv: string[]): string => {
      try {
        loadConfig({ argv, env: {} });
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(load(['--grpc-tls-cert-file', file('server.pem'), '--grpc-tls-key-file', file('server.key'), '--grpc-tls-client-ca-file', file('ca.pem')])).toBe('');
    expect(load(['--grpc-tls-cert-file', file('server.pem')])).toContain(`--grpc-tls-cert-file: "${file('server.pem')}" expected together with --grpc-tls-key-file`);
    expect(load(['--grpc-tls-client-ca-file', file('ca.pem')])).toContain('--grpc-tls-client-ca-file');
    expect(load(['--grpc-tls-cert-file', file('missing.pem'), '--grpc-tls-key-file', file('server.key')])).toContain(`--grpc-tls-cert-file: "${file('missing.pem')}" cannot be read (ENOENT)`);
  });
});
