/**
 * The translator's standalone bootstrap (`egress-capture translate --target envoy`) against the
 * real Envoy, once per pinned version:
 *
 * 1. Every standalone example passes `envoy --mode validate`: the files the READMEs' translate
 *    commands name (deploy/examples/egress-gateway.yaml) and every
 *    test/fixtures/translator/<case>/in.yaml, translated by the CLI in a child process with
 *    `--target envoy` and the fixture's other arguments. (../shared/seeds hold the
 *    EgressGateway, TCPRoute and Backend API reference as field tables only, no complete
 *    resources, so there is nothing there to translate.)
 *
 * 2. The README example's bootstrap carries traffic: Envoy runs on it, the real `serve` listens
 *    where its `capture` cluster points, and requests through its HTTP listener to a loopback
 *    upstream are stored with what the translator wires for the gateway (route metadata,
 *    PROXY protocol workload identity).
 *
 *    Only addresses and ports are rewritten, and the test checks that nothing else changed:
 *    - admin 127.0.0.1:9901 and the listeners' fixed ports (3128, 3129, 5432 on 0.0.0.0) become
 *      port 0 on 127.0.0.1: fixed ports clash with other Envoys on the machine (two versions,
 *      two jest workers) and 0.0.0.0 would open the test proxy beyond loopback;
 *    - the clusters that reach the capture service by its name `egress-capture` (the
 *      translator's Kubernetes/compose assumption; no such name resolves here) point at
 *      127.0.0.1, and `capture` at the port `serve` bound at runtime.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { fixtureArgs } from '../translator/run-command';
import { adminQuery, BIN, REPO_ROOT, sleep, startService, type ServiceProcess } from '../service/service-process';
import { sqlStringLiteral } from '../../src/sinks/clickhouse/sql-literal';
import { describeEnvoy } from './describe-envoy';
import { startEnvoy, type EnvoyProcess } from './envoy-process';
import { startUpstream, type UpstreamServer } from './upstream-server';
import { CAPTURE_HOST, changedPaths, pathValue, rowByTestId } from './translated-bootstrap';
import { GATEWAY_METADATA_KEY } from '../../src/capture/gateway-identity';
import { DEFAULTS } from '../../src/config/defaults';
import { CAPTURE_TLS_FLAGS } from '../../src/translator/translate-command';
import { makeTestPki, type TestPki } from '../support/test-certificates';

const run = promisify(execFile);
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'translator');

type Json = Record<string, any>;

interface Example {
  name: string;
  file: string;
  args: string[];
}

/** The inputs of the READMEs' `translate -f FILE` commands. */
function readmeExamples(): Example[] {
  const files = new Set<string>();
  for (const readme of ['README.md', path.join('deploy', 'README.md')]) {
    const text = fs.readFileSync(path.join(REPO_ROOT, readme), 'utf8');
    for (const match of text.matchAll(/\btranslate -f (\S+\.ya?ml)\b/g)) {
      if (fs.existsSync(path.join(REPO_ROOT, match[1]!))) files.add(match[1]!);
    }
  }
  return [...files].sort().map((file) => ({ name: `README ${file}`, file: path.join(REPO_ROOT, file), args: [] }));
}

/** Every translator fixture, with its own arguments but always `--target envoy`. */
function fixtureExamples(): Example[] {
  return fs
    .readdirSync(FIXTURES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const file = path.join(FIXTURES, name, 'in.yaml');
      const args = fixtureArgs(fs.readFileSync(file, 'utf8'));
      // Flags of the Envoy Gateway target (and --target itself) go with their values.
      const gatewayOnly = new Set(['--target', ...CAPTURE_TLS_FLAGS.filter((f) => f.target === 'envoy-gateway').map((f) => f.flag)]);
      for (let i = args.length - 1; i >= 0; i--) if (gatewayOnly.has(args[i]!)) args.splice(i, 2);
      // --lockdown (and its namespaces) emits Kubernetes NetworkPolicies: no standalone counterpart.
      for (let i = args.length - 1; i >= 0; i--) {
        if (args[i] === '--lockdown-namespace') args.splice(i, 2);
        else if (args[i] === '--lockdown') args.splice(i, 1);
      }
      return { name: `fixture ${name}`, file, args };
    });
}

const README_EXAMPLES = readmeExamples();
const EXAMPLES = [...README_EXAMPLES, ...fixtureExamples()];

/** The CLI's output per example, translated once for both Envoy versions. */
const translations = new Map<string, Promise<string>>();
function translateExample(example: Example): Promise<string> {
  let output = translations.get(example.file);
  if (!output) {
    output = run(process.execPath, [BIN, 'translate', '-f', example.file, ...example.args, '--target', 'envoy'], { cwd: REPO_ROOT }).then(({ stdout }) => stdout);
    translations.set(example.file, output);
  }
  return output;
}

/** `envoy --mode validate`: exit status 0 and Envoy's own "OK", or its complaint. */
async function validate(binary: string, file: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(binary, ['--mode', 'validate', '-c', file, '--disable-hot-restart', '--log-level', 'warn']);
    const output = `${stdout}${stderr}`;
    return { ok: /configuration '.*' OK/.test(output), output };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message };
  }
}

function loopback(address: Json, port: number): void {
  address.socket_address.address = '127.0.0.1';
  address.socket_address.port_value = port;
}

/** The translated bootstrap with only its addresses and ports moved to loopback (see the header). */
function onLoopback(translated: Json, capturePort: number): Json {
  const bootstrap = structuredClone(translated);
  loopback(bootstrap.admin.address, 0);
  for (const listener of bootstrap.static_resources.listeners) loopback(listener.address, 0);
  for (const cluster of bootstrap.static_resources.clusters) {
    for (const group of cluster.load_assignment?.endpoints ?? []) {
      for (const endpoint of group.lb_endpoints) {
        const address = endpoint.endpoint.address;
        if (address.socket_address.address !== CAPTURE_HOST) continue;
        loopback(address, cluster.name === 'capture' ? capturePort : address.socket_address.port_value);
      }
    }
  }
  return bootstrap;
}

/** A PROXY protocol v2 header (TCP over IPv4) carrying the given TLVs. */
function proxyV2Header(source: [string, number], destination: [string, number], tlvs: Array<[number, string]>): Buffer {
  const tlvBytes = Buffer.concat(
    tlvs.map(([type, value]) => {
      const body = Buffer.from(value);
      const head = Buffer.alloc(3);
      head.writeUInt8(type, 0);
      head.writeUInt16BE(body.length, 1);
      return Buffer.concat([head, body]);
    }),
  );
  const addresses = Buffer.alloc(12);
  Buffer.from(source[0].split('.').map(Number)).copy(addresses, 0);
  Buffer.from(destination[0].split('.').map(Number)).copy(addresses, 4);
  addresses.writeUInt16BE(source[1], 8);
  addresses.writeUInt16BE(destination[1], 10);
  const fixed = Buffer.alloc(16);
  Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1').copy(fixed, 0);
  fixed.writeUInt8(0x21, 12); // version 2, PROXY
  fixed.writeUInt8(0x11, 13); // AF_INET, STREAM
  fixed.writeUInt16BE(addresses.length + tlvBytes.length, 14);
  return Buffer.concat([fixed, addresses, tlvBytes]);
}

/** Writes raw bytes to a port and returns everything read until the peer closes. */
function rawExchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written without a half-close: Envoy's HTTP connection manager treats one as the end of the
    // connection; `connection: close` makes Envoy close once it has answered.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/** Stops what a traffic test started (whatever of it did start) and removes its directory. */
async function stopTrafficStack(parts: { envoy?: EnvoyProcess; capture?: ServiceProcess; upstream?: UpstreamServer; dataDir?: string }): Promise<void> {
  await parts.envoy?.stop();
  if (parts.capture) {
    parts.capture.child.kill('SIGTERM');
    await parts.capture.exited;
  }
  await parts.upstream?.close();
  if (parts.dataDir) fs.rmSync(parts.dataDir, { recursive: true, force: true });
}

describe('translator standalone examples', () => {
  it('finds the README example and the fixtures', () => {
    expect(README_EXAMPLES.map((e) => path.relative(REPO_ROOT, e.file))).toContain(path.join('deploy', 'examples', 'egress-gateway.yaml'));
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(9);
  });
});

describeEnvoy('translate --target envoy', (version, binary) => {
  describe('envoy --mode validate accepts every example', () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `egress-translate-validate-${version}-`));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it.each(EXAMPLES.map((e) => [e.name, e] as const))('%s', async (_name, example) => {
      const output = await translateExample(example);
      // One bootstrap per EgressGateway; Envoy takes one per file.
      const documents = output.split(/^---\n/m);
      expect(documents.length).toBeGreaterThanOrEqual(1);
      for (const [i, text] of documents.entries()) {
        expect(parse(text)?.static_resources).toBeDefined();
        const file = path.join(dir, `${path.basename(path.dirname(example.file))}-${i}.yaml`);
        fs.writeFileSync(file, text);
        const result = await validate(binary, file);
        if (!result.ok) throw new Error(`Envoy ${version} rejects ${example.name} (document ${i}):\n${result.output.slice(-3000)}`);
      }
    });
  });

  describe('traffic through the README example', () => {
    const example = README_EXAMPLES[0]!;
    let dataDir: string;
    let upstream: UpstreamServer;
    let capture: ServiceProcess;
    let envoy: EnvoyProcess;
    let translated: Json;
    let bootstrap: Json;

    beforeAll(async () => {
      const documents = parseAllDocuments(await translateExample(example));
      expect(documents).toHaveLength(1);
      translated = documents[0]!.toJS() as Json;
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `egress-translate-e2e-${version}-`));
      upstream = await startUpstream();
      capture = await startService(path.join(dataDir, 'data'), ['--batch-max-delay-ms', '50']);
      bootstrap = onLoopback(translated, Number(capture.grpc.split(':').pop()));
      const listeners = (bootstrap.static_resources.listeners as Json[]).map((l) => l.name as string);
      envoy = await startEnvoy(binary, version, { bootstrap, listeners });
    }, 60_000);

    afterAll(() => stopTrafficStack({ envoy, capture, upstream, dataDir }));

    const row = (testId: string): Promise<Json> => rowByTestId(capture, envoy, testId);

    /**
     * The string fields of the route's `egress-capture` filter metadata. Envoy hands the
     * `xds.route_metadata` attribute (an envoy.config.core.v3.Metadata) to ext_proc as protobuf
     * text, and the service stores that text as it came.
     */
    function routeMetadata(stored: Json): Record<string, string> {
      const text: string = stored.Attributes['xds.route_metadata'] ?? '';
      const start = text.indexOf('filter_metadata { key: "egress-capture" value {');
      expect(start).toBeGreaterThanOrEqual(0);
      const fields: Record<string, string> = {};
      for (const match of text.slice(start).matchAll(/fields \{ key: "([^"]+)" value \{ string_value: "([^"]*)" \} \}/g)) fields[match[1]!] = match[2]!;
      return fields;
    }

    it('rewrites only addresses and ports of the translated bootstrap', () => {
      const listeners = translated.static_resources.listeners as Json[];
      const clusters = translated.static_resources.clusters as Json[];
      expect(listeners.map((l) => [l.name, l.address.socket_address.port_value])).toEqual([
        ['proxy', 3128],
        ['intercept', 3129],
        ['postgres', 5432],
      ]);
      const captureCluster = clusters.find((c) => c.name === 'capture')!;
      expect(captureCluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: CAPTURE_HOST, port_value: 9002 });
      const changed = changedPaths(translated, bootstrap);
      expect(changed.filter((p) => !/\.socket_address\.(address|port_value)$/.test(p))).toEqual([]);
      const owners = new Set(changed.map((p) => /^(admin|static_resources\.(listeners|clusters)\.\d+)\./.exec(p)?.[1]));
      const named = [...owners].map((owner) => (owner === 'admin' ? owner : (pathValue(translated, owner!) as Json).name)).sort();
      expect(named).toEqual(['admin', 'capture', 'cert-minter', 'intercept', 'postgres', 'proxy']);
      expect(clusters.map((c) => c.name).sort()).toEqual(['backend-analytics-db-5432', 'capture', 'cert-minter', 'dfp-plain', 'dfp-tls']);
    });

    it('captures a request proxied by the HTTP listener, with the route metadata the translator wires', async () => {
      const testId = `translated-get-${version}`;
      const target = `http://127.0.0.1:${upstream.h1Port}/echo`;
      const { stdout } = await run('curl', ['-sS', '--max-time', '10', '-x', `http://127.0.0.1:${envoy.ports.proxy}`, '-H', `x-test-id: ${testId}`, '-o', '/dev/null', '-w', '%{http_code}', target]);
      expect(stdout).toBe('200');
      expect((await upstream.received(testId)).method).toBe('GET');

      const stored = await row(testId);
      expect(stored).toMatchObject({ Method: 'GET', Scheme: 'http', Authority: `127.0.0.1:${upstream.h1Port}`, Path: '/echo', StatusCode: 200 });
      expect(stored.Attributes['source.address']).toMatch(/^127\.0\.0\.1:\d+$/);
      // The README example leaves captureBody at its defaults.
      expect(routeMetadata(stored)).toEqual({
        gateway: 'sandbox/agents',
        listener: 'proxy',
        max_bytes: '65536',
        content_types: DEFAULTS.includeContentTypes.join(','),
      });
      // No PROXY header, so no workload identity; the gateway comes from the call's initial metadata.
      expect(Object.keys(stored.Metadata).filter((k) => k.startsWith('egress_capture.workload.'))).toEqual([]);
      expect(stored.Metadata[GATEWAY_METADATA_KEY]).toBe('sandbox/agents');
    });

    it("captures more exchanges in flight at once than Envoy's default circuit breaker (1,024) lets through", async () => {
      // 1,100 three-second answers at once: more than one connection's 1,024 streams to the service and more
      // than Envoy's default breaker, which would let ~76 of them through uncaptured.
      const count = 1100;
      const agent = new http.Agent({ keepAlive: false, maxSockets: count + 10 });
      const statuses = await Promise.all(
        Array.from(
          { length: count },
          (_, i) =>
            new Promise<number>((resolve, reject) => {
              const request = http.request(
                { host: '127.0.0.1', port: envoy.ports.proxy, agent, path: `http://127.0.0.1:${upstream.h1Port}/slow?events=3&gapMs=1000`, headers: { 'x-test-id': `breaker-${version}-${i}` } },
                (response) => {
                  response.resume();
                  response.on('end', () => resolve(response.statusCode ?? 0));
                },
              );
              request.on('error', reject);
              request.end();
            }),
        ),
      );
      agent.destroy();
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      const deadline = Date.now() + 60_000;
      let stored = 0;
      while (Date.now() < deadline) {
        const [row] = await adminQuery<{ n: string }>(capture.admin, `SELECT count() AS n FROM http_exchanges WHERE startsWith(RequestHeaders['x-test-id'], 'breaker-${version}-')`);
        stored = Number(row?.n ?? 0);
        if (stored >= count) break;
        await sleep(500);
      }
      expect(stored).toBe(count);
      const overflow = await envoy.stats(/^cluster\.capture\.upstream_rq_pending_overflow$/);
      expect(Object.values(overflow)).toEqual([0]);
    }, 120_000);

    it('stores the PROXY protocol workload identity and the body of a request that carries them', async () => {
      const testId = `translated-post-${version}`;
      const body = JSON.stringify({ hello: 'translated bootstrap' });
      const request = Buffer.from(
        [
          `POST http://127.0.0.1:${upstream.h1Port}/echo HTTP/1.1`,
          `Host: 127.0.0.1:${upstream.h1Port}`,
          `x-test-id: ${testId}`,
          'content-type: application/json',
          `content-length: ${Buffer.byteLength(body)}`,
          'connection: close',
          '',
          body,
        ].join('\r\n'),
        'latin1',
      );
      const header = proxyV2Header(
        ['10.1.2.3', 40000],
        ['127.0.0.1', upstream.h1Port],
        [
          [0xe0, 'team-a'],
          [0xe1, 'agent-7'],
          [0xe2, 'Deployment'],
          [0xe3, '5f0c3f7e-0000-4000-8000-000000000007'],
        ],
      );
      const answer = await rawExchange(envoy.ports.proxy!, Buffer.concat([header, request]));
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);

      const stored = await row(testId);
      expect(stored).toMatchObject({ Method: 'POST', Authority: `127.0.0.1:${upstream.h1Port}`, Path: '/echo', StatusCode: 200, RequestBody: body, RequestBodyCaptured: true });
      expect(stored.Metadata).toMatchObject({
        'egress_capture.workload.namespace': 'team-a',
        'egress_capture.workload.name': 'agent-7',
        'egress_capture.workload.kind': 'Deployment',
        'egress_capture.workload.uid': '5f0c3f7e-0000-4000-8000-000000000007',
      });
      // The PROXY header's source is the caller Envoy reports.
      expect(stored.Attributes['source.address']).toBe('10.1.2.3:40000');
      expect(routeMetadata(stored)).toMatchObject({ gateway: 'sandbox/agents', listener: 'proxy' });
    });
  });

  describe('a capture policy applied by Envoy (--capture-policy)', () => {
    const example = README_EXAMPLES[0]!;
    let dataDir: string;
    let upstream: UpstreamServer;
    let capture: ServiceProcess;
    let envoy: EnvoyProcess;

    beforeAll(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `egress-translate-policy-${version}-`));
      const policy = path.join(dataDir, 'capture-policy.yaml');
      fs.writeFileSync(policy, 'rules:\n  - name: probes\n    match: { pathPrefix: /status/, methods: [GET, HEAD] }\n    capture: none\n');
      const { stdout } = await run(process.execPath, [BIN, 'translate', '-f', example.file, ...example.args, '--target', 'envoy', '--capture-policy', policy], { cwd: REPO_ROOT });
      upstream = await startUpstream();
      capture = await startService(path.join(dataDir, 'data'), ['--batch-max-delay-ms', '50', '--capture-policy', policy]);
      const bootstrap = onLoopback(parse(stdout) as Json, Number(capture.grpc.split(':').pop()));
      envoy = await startEnvoy(binary, version, { bootstrap, listeners: (bootstrap.static_resources.listeners as Json[]).map((l) => l.name as string) });
    }, 60_000);

    afterAll(() => stopTrafficStack({ envoy, capture, upstream, dataDir }));

    it('sends the exchanges a leading none rule matches past ext_proc, and captures the rest', async () => {
      const curlThrough = async (testId: string, method: string, urlPath: string): Promise<string> =>
        (
          await run('curl', [
            '-sS',
            '--max-time',
            '10',
            '-X',
            method,
            '-x',
            `http://127.0.0.1:${envoy.ports.proxy}`,
            '-H',
            `x-test-id: ${testId}`,
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            `http://127.0.0.1:${upstream.h1Port}${urlPath}`,
          ])
        ).stdout;
      const probe = `policy-probe-${version}`;
      expect(await curlThrough(probe, 'GET', '/status/204')).toBe('204');
      expect((await upstream.received(probe)).path).toBe('/status/204');
      // The same path with another method is not the rule's: the service sees and stores it.
      const posted = `policy-post-${version}`;
      expect(await curlThrough(posted, 'POST', '/status/204')).toBe('204');
      expect(await row(posted)).toMatchObject({ Method: 'POST', Path: '/status/204', CaptureLevel: 'full' });
      const stats = await envoy.extProcStats('egress_proxy');
      expect(stats.streams_started).toBe(1);
      expect(await adminQuery(capture.admin, `SELECT CaptureId FROM http_exchanges WHERE RequestHeaders['x-test-id'] = ${sqlStringLiteral(probe)}`)).toEqual([]);
    });

    const row = (testId: string): Promise<Json> => rowByTestId(capture, envoy, testId);
  });

  describe('TLS and mTLS to the capture service (--capture-tls-*)', () => {
    const example = README_EXAMPLES[0]!;
    let dir: string;
    let pki: TestPki;
    let upstream: UpstreamServer;
    let capture: ServiceProcess;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `egress-translate-tls-${version}-`));
      pki = makeTestPki(dir);
      // Envoy's client certificate where a mounted kubernetes.io/tls Secret puts it.
      fs.mkdirSync(pki.file('envoy-client'));
      fs.copyFileSync(pki.file('client.pem'), pki.file('envoy-client/tls.crt'));
      fs.copyFileSync(pki.file('client.key'), pki.file('envoy-client/tls.key'));
      upstream = await startUpstream();
      capture = await startService(path.join(dir, 'data'), [
        '--batch-max-delay-ms',
        '50',
        '--grpc-tls-cert-file',
        pki.file('server.pem'),
        '--grpc-tls-key-file',
        pki.file('server.key'),
        '--grpc-tls-client-ca-file',
        pki.file('ca.pem'),
      ]);
    }, 60_000);

    afterAll(async () => {
      if (capture) {
        capture.child.kill('SIGTERM');
        await capture.exited;
      }
      await upstream?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** Envoy on the translated bootstrap (with these translate flags), one proxied GET, then Envoy's capture cluster counters. */
    async function proxyOnce(testId: string, tlsArgs: string[]): Promise<{ status: string; stats: Record<string, number> }> {
      const { stdout } = await run(process.execPath, [BIN, 'translate', '-f', example.file, '--target', 'envoy', ...tlsArgs], { cwd: REPO_ROOT });
      const bootstrap = onLoopback(parse(stdout) as Json, Number(capture.grpc.split(':').pop()));
      const listeners = (bootstrap.static_resources.listeners as Json[]).map((l) => l.name as string);
      const envoy = await startEnvoy(binary, version, { bootstrap, listeners });
      try {
        const target = `http://127.0.0.1:${upstream.h1Port}/echo`;
        const curl = await run('curl', ['-sS', '--max-time', '10', '-x', `http://127.0.0.1:${envoy.ports.proxy}`, '-H', `x-test-id: ${testId}`, '-o', '/dev/null', '-w', '%{http_code}', target]);
        // Envoy tries the capture cluster while the request passes; its counters say how that went.
        await sleep(500);
        const stats = await envoy.stats(/^cluster\.capture\./);
        return { status: curl.stdout, stats: Object.fromEntries(Object.entries(stats).map(([name, value]) => [name.replace(/^cluster\.capture\./, ''), value])) };
      } finally {
        await envoy.stop();
      }
    }

    const TLS = (): string[] => ['--capture-tls-ca-file', pki.file('ca.pem'), '--capture-tls-server-name', 'localhost'];

    it('captures over mTLS when Envoy presents the client certificate the service trusts', async () => {
      const testId = `translated-mtls-${version}`;
      const { status, stats } = await proxyOnce(testId, [...TLS(), '--capture-tls-client-cert-dir', pki.file('envoy-client')]);
      expect(status).toBe('200');
      expect(stats['ssl.handshake']).toBeGreaterThanOrEqual(1);
      const deadline = Date.now() + 15_000;
      let rows: Json[] = [];
      while (rows.length === 0 && Date.now() < deadline) {
        rows = await adminQuery<Json>(capture.admin, `SELECT Path, StatusCode FROM http_exchanges WHERE RequestHeaders['x-test-id'] = ${sqlStringLiteral(testId)}`);
        if (rows.length === 0) await sleep(50);
      }
      expect(rows).toEqual([{ Path: '/echo', StatusCode: 200 }]);
    });

    it('keeps the traffic flowing, uncaptured, when the service refuses Envoy (no client certificate, or the wrong server name)', async () => {
      for (const [name, args] of [
        ['no-client-cert', TLS()],
        ['wrong-name', ['--capture-tls-ca-file', pki.file('ca.pem'), '--capture-tls-server-name', 'elsewhere.test', '--capture-tls-client-cert-dir', pki.file('envoy-client')]],
      ] as const) {
        const testId = `translated-tls-refused-${name}-${version}`;
        const { status, stats } = await proxyOnce(testId, [...args]);
        expect({ name, status }).toEqual({ name, status: '200' });
        expect({ name, handshakes: stats['ssl.handshake'] ?? 0 }).toEqual({ name, handshakes: 0 });
        expect((await upstream.received(testId)).method).toBe('GET');
        await sleep(300);
        expect(await adminQuery(capture.admin, `SELECT 1 FROM http_exchanges WHERE RequestHeaders['x-test-id'] = ${sqlStringLiteral(testId)}`)).toEqual([]);
      }
    });
  });
});
