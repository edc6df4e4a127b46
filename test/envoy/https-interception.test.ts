/**
 * HTTPS interception end to end, with the real Envoy and the real `serve`:
 *
 *   client (trusts only the interception CA, SNI localhost)
 *     ─TLS─▶ Envoy, the translator's standalone bootstrap (`translate --target envoy` of the
 *            README example): listener `intercept`, on-demand certificate selector
 *       ─Delta SDS─▶ serve --ca-dir: mints the leaf for "localhost" with the CA the
 *                    listener's caCertRef names (sandbox/agents-mitm-ca)
 *       ─ext_proc─▶ serve: the exchange is captured
 *       ─TLS─▶ an HTTPS upstream on loopback
 *
 * Only what cannot stay as translated for a test on one host is rewritten, and the test checks
 * nothing else changed: addresses and ports move to loopback (port 0 for Envoy's own), and the
 * dfp-tls cluster trusts the test upstream's CA instead of the system bundle.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as tls from 'node:tls';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { CertificateAuthority } from '../../src/certificates/certificate-authority';
import { mintLeaf } from '../../src/certificates/leaf-minter';
import type { NewCa } from '../../src/certificates/ca-certificate';
import { caFiles, newCa, opensslClientCertificate, writeSecretVolume } from '../certificates/test-cas';
import { BIN, REPO_ROOT, sleep, startService, type ServiceProcess } from '../service/service-process';
import { freePort } from '../support/listen-port';
import { describeEnvoy } from './describe-envoy';
import { startEnvoy, type EnvoyProcess } from './envoy-process';
import { CAPTURE_HOST, changedPaths, rowByTestId } from './translated-bootstrap';
import { requestThrough } from './http-clients';

const run = promisify(execFile);
const EXAMPLE = path.join(REPO_ROOT, 'deploy', 'examples', 'egress-gateway.yaml');

type Json = Record<string, any>;

interface Stack {
  interceptionCa: NewCa;
  upstreamCa: NewCa;
  capture: ServiceProcess;
  envoy: EnvoyProcess;
  upstreamPort: number;
  translated: Json;
  bootstrap: Json;
  stop(): Promise<void>;
}

/**
 * serve --ca-dir, an HTTPS upstream, and Envoy on the translated README example. With `mtls`,
 * Envoy and the minter speak mTLS: `translate --sds-tls-*` on one side (Envoy's client certificate
 * made with openssl), `serve --sds-tls-* --sds-client-ca` on the other, the minter's serving
 * certificate for the host the translator dials (`egress-capture`).
 */
async function startStack(version: string, binary: string, mtls: boolean, extraServeArgs: string[] = []): Promise<Stack> {
  const interceptionCa = newCa('Agents MITM CA');
  const upstreamCa = newCa('Upstream Test CA');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `egress-https-e2e-${version}-`));
  // The Secret the listener's caCertRef names, mounted as Kubernetes mounts it.
  writeSecretVolume(path.join(dir, 'ca', 'sandbox', 'agents-mitm-ca'), caFiles(interceptionCa));
  // An HTTPS upstream with a certificate for localhost from its own CA.
  const upstreamLeaf = mintLeaf(
    CertificateAuthority.fromPem(Buffer.from(upstreamCa.certificatePem), Buffer.from(upstreamCa.keyPem), { certFile: 'upstream.crt', keyFile: 'upstream.key' }),
    'localhost',
    'dns',
    24 * 3600 * 1000,
  );
  fs.writeFileSync(path.join(dir, 'upstream-ca.crt'), upstreamCa.certificatePem);
  const upstream = https.createServer({ key: upstreamLeaf.keyPem, cert: upstreamLeaf.chainPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'chatcmpl-test', echoed: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as { port: number }).port;

  const serveArgs: string[] = [...extraServeArgs];
  const translateArgs: string[] = [];
  if (mtls) {
    const transport = newCa('SDS transport CA');
    const caCertFile = path.join(dir, 'transport-ca.crt');
    const caKeyFile = path.join(dir, 'transport-ca.key');
    fs.writeFileSync(caCertFile, transport.certificatePem);
    fs.writeFileSync(caKeyFile, transport.keyPem);
    const serving = mintLeaf(CertificateAuthority.fromFiles(caCertFile, caKeyFile), CAPTURE_HOST, 'dns', 24 * 3600 * 1000);
    fs.writeFileSync(path.join(dir, 'sds.crt'), serving.chainPem);
    fs.writeFileSync(path.join(dir, 'sds.key'), serving.keyPem);
    const client = opensslClientCertificate(dir, 'envoy', caCertFile, caKeyFile);
    serveArgs.push('--sds-tls-cert', path.join(dir, 'sds.crt'), '--sds-tls-key', path.join(dir, 'sds.key'), '--sds-client-ca', caCertFile);
    translateArgs.push('--sds-tls-cert', client.certFile, '--sds-tls-key', client.keyFile, '--sds-tls-ca', caCertFile);
  }
  const sdsPort = await freePort();
  const capture = await startService(path.join(dir, 'data'), ['--batch-max-delay-ms', '50', '--ca-dir', path.join(dir, 'ca'), '--sds-listen', `127.0.0.1:${sdsPort}`, ...serveArgs]);
  const { stdout } = await run(process.execPath, [BIN, 'translate', '-f', EXAMPLE, '--target', 'envoy', ...translateArgs], { cwd: REPO_ROOT });
  const translated = parse(stdout) as Json;
  const bootstrap = structuredClone(translated);
  bootstrap.admin.address.socket_address = { address: '127.0.0.1', port_value: 0 };
  for (const listener of bootstrap.static_resources.listeners) listener.address.socket_address = { address: '127.0.0.1', port_value: 0 };
  const ports: Record<string, number> = { capture: Number(capture.grpc.split(':').pop()), 'cert-minter': sdsPort };
  for (const cluster of bootstrap.static_resources.clusters) {
    for (const group of cluster.load_assignment?.endpoints ?? []) {
      for (const endpoint of group.lb_endpoints) {
        if (endpoint.endpoint.address.socket_address.address === CAPTURE_HOST) endpoint.endpoint.address.socket_address = { address: '127.0.0.1', port_value: ports[cluster.name] };
      }
    }
    if (cluster.name === 'dfp-tls') cluster.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.filename = path.join(dir, 'upstream-ca.crt');
  }
  const envoy = await startEnvoy(binary, version, { bootstrap, listeners: bootstrap.static_resources.listeners.map((l: Json) => l.name) });
  return {
    interceptionCa,
    upstreamCa,
    capture,
    envoy,
    upstreamPort,
    translated,
    bootstrap,
    async stop() {
      await envoy.stop();
      capture.child.kill('SIGTERM');
      await capture.exited;
      await new Promise((resolve) => upstream.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeEnvoy('HTTPS interception with the minter', (version, binary) => {
  let stack: Stack;
  let interceptionCa: NewCa;
  let upstreamCa: NewCa;
  let capture: ServiceProcess;
  let envoy: EnvoyProcess;
  let upstreamPort: number;
  let translated: Json;
  let bootstrap: Json;

  beforeAll(async () => {
    stack = await startStack(version, binary, false);
    ({ interceptionCa, upstreamCa, capture, envoy, upstreamPort, translated, bootstrap } = stack);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const row = (testId: string): Promise<Json> => rowByTestId(capture, envoy, testId);

  it('changes only addresses, ports and the upstream trust of the translated bootstrap', () => {
    const intercept = (translated.static_resources.listeners as Json[]).find((l) => l.name === 'intercept')!;
    const selector = intercept.filter_chains[0].transport_socket.typed_config.common_tls_context.custom_tls_certificate_selector;
    expect(selector.name).toBe('envoy.tls.certificate_selectors.on_demand_secret');
    expect(selector.typed_config.config_source.api_config_source.grpc_services[0].initial_metadata).toContainEqual({ key: 'x-egress-capture-ca-secret', value: 'sandbox/agents-mitm-ca' });
    const changed = changedPaths(translated, bootstrap).filter((p) => !/\.socket_address\.(address|port_value)$/.test(p));
    expect(changed).toEqual([expect.stringMatching(/^static_resources\.clusters\.\d+\.transport_socket\.typed_config\.common_tls_context\.validation_context\.trusted_ca\.filename$/)]);
  });

  it('serves a leaf for the SNI signed by the listener CA, and the HTTPS exchange is captured', async () => {
    const testId = `https-intercept-${version}`;
    const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello through TLS' }] });
    const answer = await requestThrough(envoy.ports.intercept!, 'localhost', `localhost:${upstreamPort}`, testId, interceptionCa.certificatePem, body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).echoed).toBe(body);
    // The certificate Envoy presented is the minter's leaf for the SNI, issued by the CA the listener names.
    expect(answer.peer.subjectAltName).toBe('DNS:localhost');
    expect(answer.peer.verify(new crypto.X509Certificate(interceptionCa.certificatePem).publicKey)).toBe(true);
    expect(answer.peer.checkHost('localhost')).toBe('localhost');

    const stored = await row(testId);
    expect(stored).toMatchObject({ Method: 'POST', Scheme: 'https', Authority: `localhost:${upstreamPort}`, Path: '/v1/chat/completions', StatusCode: 200, RequestBody: body });
    expect(stored.ResponseBody).toContain('chatcmpl-test');
  });

  it('a client that does not trust the interception CA is refused at the handshake', async () => {
    await expect(requestThrough(envoy.ports.intercept!, 'localhost', `localhost:${upstreamPort}`, `untrusted-${version}`, upstreamCa.certificatePem, '{}')).rejects.toThrow(
      /self-signed certificate in certificate chain|unable to verify/,
    );
  });

  it('a client sending no SNI is refused at once, not after the handshake timeout', async () => {
    const started = Date.now();
    const failure = await new Promise<Error>((resolve) => {
      // No servername: Envoy's SNI mapper asks for its default name, which the minter removes.
      const socket = tls.connect({ host: '127.0.0.1', port: envoy.ports.intercept!, ca: interceptionCa.certificatePem }, () => resolve(new Error('handshake succeeded')));
      socket.on('error', resolve);
    });
    expect(failure.message).not.toBe('handshake succeeded');
    // The listener's transport_socket_connect_timeout is 10 s; a removed name fails well before.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a second name gets its own leaf on the same SDS stream', async () => {
    const answer = await requestThrough(envoy.ports.intercept!, 'localhost.localdomain', `localhost:${upstreamPort}`, `second-name-${version}`, interceptionCa.certificatePem, '{}').catch(
      (err: Error) => err,
    );
    // The upstream's certificate is for localhost only; what matters here is the client side of the handshake.
    if (answer instanceof Error) throw answer;
    expect(answer.peer.subjectAltName).toBe('DNS:localhost.localdomain');
  });
});

describeEnvoy('HTTPS interception with mTLS between Envoy and the minter', (version, binary) => {
  let stack: Stack;

  beforeAll(async () => {
    // Short leaves, so a renewal pushed to Envoy shows within the test.
    stack = await startStack(version, binary, true, ['--leaf-validity', '4s']);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('Envoy fetches the leaf over mTLS and the exchange is captured', async () => {
    const testId = `https-intercept-mtls-${version}`;
    const answer = await requestThrough(stack.envoy.ports.intercept!, 'localhost', `localhost:${stack.upstreamPort}`, testId, stack.interceptionCa.certificatePem, '{"mtls":true}');
    expect(answer.status).toBe(200);
    expect(answer.peer.subjectAltName).toBe('DNS:localhost');
    expect(await rowByTestId(stack.capture, stack.envoy, testId)).toMatchObject({ Scheme: 'https', StatusCode: 200, RequestBody: '{"mtls":true}' });
    // A renewed leaf is pushed to Envoy (4 s leaves, renewed after ~2.7 s): a later handshake gets it.
    const renewedBy = Date.now() + 15_000;
    let later = answer;
    while (later.peer.serialNumber === answer.peer.serialNumber && Date.now() < renewedBy) {
      await sleep(500);
      later = await requestThrough(stack.envoy.ports.intercept!, 'localhost', `localhost:${stack.upstreamPort}`, `${testId}-later`, stack.interceptionCa.certificatePem, '{}');
    }
    expect(later.peer.serialNumber).not.toBe(answer.peer.serialNumber);
    expect(later.peer.checkHost('localhost')).toBe('localhost');
    // The SDS connection itself was TLS.
    const stats = await stack.envoy.stats(/^cluster\.cert-minter\.ssl\.handshake$/);
    expect(stats['cluster.cert-minter.ssl.handshake']).toBeGreaterThanOrEqual(1);
  });
});
