/**
 * A deny-all gateway with one user HTTPRoute, through the real Envoy as Envoy Gateway configures
 * it: the user-routes golden case ─translate─▶ ─egctl x translate─▶ xDS ─▶ Envoy ─ext_proc─▶
 * serve. The user's route reaches its Service and is captured, although the translator wrote
 * no route of its own there (the capture policy targets the listener); a request no route
 * allows is refused by Envoy and not forwarded.
 *
 * The Service's ClusterIP endpoint moves to the echo upstream on loopback, the capture
 * Service's to `serve` (see eg-bootstrap.ts for what else a static bootstrap changes).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { newCa } from '../certificates/test-cas';
import { startEnvoy, type EnvoyProcess } from '../envoy/envoy-process';
import { describeEnvoy } from '../envoy/describe-envoy';
import { rowByTestId } from '../envoy/translated-bootstrap';
import { startService, REPO_ROOT, type ServiceProcess } from '../service/service-process';
import { runTranslate } from '../translator/run-command';
import { EGCTL_VERSIONS, requireEgctl } from './egctl-install';
import { staticBootstrap } from './eg-bootstrap';
import { CLUSTER_IP, egTranslate, type Json } from './eg-translation';
import { echo, listen, post, stopAll } from './echo-upstream';

const INPUT = path.join(REPO_ROOT, 'test', 'fixtures', 'translator', 'user-routes', 'in.yaml');
const version = EGCTL_VERSIONS[0]!;

describeEnvoy(`A deny-all gateway with a user HTTPRoute, by Envoy Gateway ${version}`, (envoyVersion, binary) => {
  let dir: string;
  let capture: ServiceProcess;
  let envoy: EnvoyProcess;
  let upstream: http.Server;
  let route: Json;
  let listenerPort: number;
  const ca = newCa('Prod MITM CA');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `eg-user-route-${envoyVersion}-`));
    const translated = await runTranslate(['-f', INPUT]);
    expect(translated.code).toBe(0);
    const objects = parseAllDocuments(translated.stdout)
      .map((d) => d.toJS() as Json)
      .filter((o) => o && typeof o === 'object');
    route = objects.find((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'payments-api')!;
    const servicePort = route.spec.rules[0].backendRefs[0].port as number;
    const extProc = objects.find((o) => o.kind === 'EnvoyExtensionPolicy')!.spec.extProc[0].backendRefs[0];
    const eg = await egTranslate(requireEgctl(version), translated.stdout, { certificatePem: ca.certificatePem, keyPem: ca.keyPem, serviceIp: CLUSTER_IP });

    upstream = http.createServer(echo);
    const upstreamPort = await listen(upstream, '127.0.0.1');
    capture = await startService(path.join(dir, 'data'), ['--batch-max-delay-ms', '50']);
    const capturePort = Number(capture.grpc.split(':').pop());
    const bootstrap = staticBootstrap({
      listeners: eg.listeners,
      clusters: eg.clusters,
      routes: eg.routes,
      endpoints: eg.endpoints,
      // The Terminate listener's certificate Secret, as Envoy Gateway serves it over SDS.
      secrets: [{ name: 'prod/prod-ca', secret: { tlsCertificate: { certificateChain: { inlineString: ca.certificatePem }, privateKey: { inlineString: ca.keyPem } } } }],
      moveEndpoint: (address, port) => {
        if (address === CLUSTER_IP && port === extProc.port) return capturePort;
        if (address === CLUSTER_IP && port === servicePort) return upstreamPort;
        return undefined;
      },
    });
    envoy = await startEnvoy(binary, envoyVersion, { bootstrap, listeners: eg.listeners.map((l) => l.name as string) });
    listenerPort = envoy.ports[`prod/egc-locked/${route.spec.parentRefs[0].sectionName}`]!;
  }, 120_000);

  afterAll(() => stopAll({ envoy, capture, servers: [upstream], dir }));

  it("captures an exchange on the user's route, which the translator did not write", async () => {
    const testId = `eg-user-route-${envoyVersion}`;
    const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'through a user route' }] });
    const host = route.spec.hostnames[0] as string;
    const answer = await post(listenerPort, host, '/v1/chat/completions', testId, body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ echoed: body, testId });
    const stored = await rowByTestId(capture, envoy, testId);
    expect(stored).toMatchObject({ Method: 'POST', Authority: host, Path: '/v1/chat/completions', StatusCode: 200, RequestBody: body });
    expect(stored.ResponseBody).toContain('chatcmpl-eg');
  });

  it('refuses what no route allows (deny-all): another host, or a path outside the route', async () => {
    const host = route.spec.hostnames[0] as string;
    expect((await post(listenerPort, 'elsewhere.example.com', '/v1/chat/completions', 'eg-denied-host', '{}')).status).toBe(404);
    expect((await post(listenerPort, host, '/admin', 'eg-denied-path', '{}')).status).toBe(404);
  });
});
