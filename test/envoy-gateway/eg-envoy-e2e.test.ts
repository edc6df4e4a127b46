/**
 * The whole product path without Kubernetes, through Envoy Gateway's own output:
 *
 *   deploy/examples/egress-gateway.yaml ─translate─▶ Envoy Gateway resources
 *     ─egctl x translate─▶ xDS ─(static bootstrap, eg-bootstrap.ts)─▶ the real Envoy
 *     ─ext_proc─▶ serve ─▶ the store
 *
 * Plain HTTP through the `proxy` listener, and HTTPS through the `intercept`
 * (Terminate) listener, where Envoy asks `serve --ca-dir` for a leaf per SNI
 * over the on-demand SDS selector that the EnvoyPatchPolicy put there.
 *
 * The upstreams listen on 127.0.0.2: Envoy Gateway's dynamic forward proxy
 * refuses 127.0.0.1 and localhost authorities (its dfp_loopback_deny RBAC), and
 * the test keeps that as Envoy Gateway made it.
 *
 * Changed from Envoy Gateway's xDS, and checked that nothing else is: what it
 * serves over ADS is inlined (routes, endpoints, the listener's certificate
 * Secret), addresses move to loopback, and `system_ca_certificates` (the trust
 * store Envoy Gateway's proxy pod has) is the upstream's test CA.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CertificateAuthority } from '../../src/certificates/certificate-authority';
import { mintLeaf } from '../../src/certificates/leaf-minter';
import { CERT_SDS_PORT } from '../../src/translator/options';
import { caFiles, newCa, writeSecretVolume } from '../certificates/test-cas';
import { startEnvoy, type EnvoyProcess } from '../envoy/envoy-process';
import { describeEnvoy } from '../envoy/describe-envoy';
import { requestThrough } from '../envoy/http-clients';
import { changedPaths, rowByTestId } from '../envoy/translated-bootstrap';
import { startService, REPO_ROOT, type ServiceProcess } from '../service/service-process';
import { freePort } from '../support/listen-port';
import { runTranslate } from '../translator/run-command';
import { EGCTL_VERSIONS, requireEgctl } from './egctl-install';
import { staticBootstrap } from './eg-bootstrap';
import { findAll } from './eg-xds';
import { CLUSTER_IP, egTranslate, type EgTranslation, type Json } from './eg-translation';
import { echo, listen, post, stopAll } from './echo-upstream';

const EXAMPLE = path.join(REPO_ROOT, 'deploy', 'examples', 'egress-gateway.yaml');
const UPSTREAM_HOST = '127.0.0.2';
const DAY_MS = 24 * 3600 * 1000;

const version = EGCTL_VERSIONS[0]!;

describeEnvoy(`Envoy configured by Envoy Gateway ${version}'s own translation`, (envoyVersion, binary) => {
  let dir: string;
  let eg: EgTranslation;
  let objects: Json[];
  let bootstrap: Json;
  let capture: ServiceProcess;
  let envoy: EnvoyProcess;
  let plain: http.Server;
  let secure: https.Server;
  let plainPort: number;
  let securePort: number;
  const interceptionCa = newCa('Agents MITM CA');
  const upstreamCa = newCa('Upstream Test CA');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `eg-e2e-${envoyVersion}-`));
    const translated = await runTranslate(['-f', EXAMPLE]);
    expect(translated.code).toBe(0);
    objects = parseAllDocuments(translated.stdout)
      .map((d) => d.toJS() as Json)
      .filter((o) => o && typeof o === 'object');
    // The cluster's Secrets hold the interception CA, as the listener's caCertRef names it.
    eg = await egTranslate(requireEgctl(version), translated.stdout, { certificatePem: interceptionCa.certificatePem, keyPem: interceptionCa.keyPem, serviceIp: CLUSTER_IP });

    plain = http.createServer(echo);
    plainPort = await listen(plain, UPSTREAM_HOST);
    const leaf = mintLeaf(CertificateAuthority.fromPem(Buffer.from(upstreamCa.certificatePem), Buffer.from(upstreamCa.keyPem), { certFile: 'u.crt', keyFile: 'u.key' }), UPSTREAM_HOST, 'ip', DAY_MS);
    secure = https.createServer({ key: leaf.keyPem, cert: leaf.chainPem }, echo);
    securePort = await listen(secure, UPSTREAM_HOST);
    fs.writeFileSync(path.join(dir, 'upstream-ca.crt'), upstreamCa.certificatePem);

    const caRef = objects.find((o) => o.kind === 'Gateway')!.spec.listeners.find((l: Json) => l.name === 'intercept').tls.certificateRefs[0];
    writeSecretVolume(path.join(dir, 'ca', caRef.namespace ?? 'sandbox', caRef.name), caFiles(interceptionCa));
    const sdsPort = await freePort();
    capture = await startService(path.join(dir, 'data'), ['--batch-max-delay-ms', '50', '--ca-dir', path.join(dir, 'ca'), '--sds-listen', `127.0.0.1:${sdsPort}`]);
    const capturePort = Number(capture.grpc.split(':').pop());
    const extProc = objects.find((o) => o.kind === 'EnvoyExtensionPolicy')!.spec.extProc[0].backendRefs[0];

    bootstrap = staticBootstrap({
      listeners: eg.listeners,
      clusters: eg.clusters,
      routes: eg.routes,
      endpoints: eg.endpoints,
      secrets: [
        // What Envoy Gateway serves over SDS: the listener's certificate Secret, and the proxy pod's trust store.
        {
          name: `${caRef.namespace ?? 'sandbox'}/${caRef.name}`,
          secret: { tlsCertificate: { certificateChain: { inlineString: interceptionCa.certificatePem }, privateKey: { inlineString: interceptionCa.keyPem } } },
        },
        { name: 'system_ca_certificates', secret: { validationContext: { trustedCa: { filename: path.join(dir, 'upstream-ca.crt') } } } },
      ],
      moveEndpoint: (address, port) => {
        if (address === CLUSTER_IP && port === extProc.port) return capturePort;
        if (address.endsWith('.svc.cluster.local') && port === CERT_SDS_PORT) return sdsPort;
        return undefined;
      },
    });
    envoy = await startEnvoy(binary, envoyVersion, { bootstrap, listeners: eg.listeners.map((l) => l.name as string) });
  }, 120_000);

  afterAll(() => stopAll({ envoy, capture, servers: [plain, secure], dir }));

  it('runs every listener and cluster Envoy Gateway generated', () => {
    expect(bootstrap.staticResources.listeners.map((l: Json) => l.name)).toEqual(eg.listeners.map((l) => l.name));
    expect(bootstrap.staticResources.clusters.map((c: Json) => c.name)).toEqual(eg.clusters.map((c) => c.name));
    expect(Object.keys(envoy.ports).sort()).toEqual(eg.listeners.map((l) => l.name as string).sort());
  });

  it('changes only what a static bootstrap on loopback needs', () => {
    const changed = (before: Json[], after: Json[]): string[] => before.flatMap((resource, i) => changedPaths(resource, after[i]).map((p) => `${resource.name} ${p}`));
    const listenerChanges = changed(eg.listeners, bootstrap.staticResources.listeners);
    const allowedListener = /^\S+ (@type|address\.socketAddress\.(address|portValue)|.*\.(rds|routeConfig|sdsConfig)(\..*)?)$/;
    expect(listenerChanges.filter((p) => !allowedListener.test(p))).toEqual([]);
    // Each inlined route configuration is Envoy Gateway's, whole.
    const rds = findAll(eg.listeners, (n) => n.rds !== undefined).map((n) => n.rds.routeConfigName as string);
    const inlined = findAll(bootstrap.staticResources.listeners, (n) => n.routeConfig !== undefined)
      .map((n) => n.routeConfig)
      .filter((c) => rds.includes(c.name));
    expect(inlined.map((c) => c.name)).toEqual(rds);
    for (const config of inlined) expect({ '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', ...config }).toEqual(eg.routes.find((r) => r.name === config.name));
    const clusterChanges = changed(eg.clusters, bootstrap.staticResources.clusters);
    const allowedCluster = /^\S+ (@type|type|(edsClusterConfig|loadAssignment)(\..*)?|.*\.sdsConfig(\..*)?)$/;
    expect(clusterChanges.filter((p) => !allowedCluster.test(p))).toEqual([]);
    // Endpoints move only for the capture service and the certificate minter.
    const moved = (bootstrap.staticResources.clusters as Json[])
      .filter((c) => JSON.stringify(c.loadAssignment ?? {}).includes('"127.0.0.1"'))
      .map((c) => c.name as string)
      .sort();
    expect(moved).toEqual(
      eg.clusters
        .filter((c) => c.name.startsWith('envoyextensionpolicy/') || c.name.endsWith('-cert-sds'))
        .map((c) => c.name)
        .sort(),
    );
  });

  it('captures a plain HTTP exchange through the proxy listener', async () => {
    const testId = `eg-http-${envoyVersion}`;
    const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'through Envoy Gateway' }] });
    const answer = await post(envoy.ports['sandbox/egc-agents/proxy']!, `${UPSTREAM_HOST}:${plainPort}`, `http://${UPSTREAM_HOST}:${plainPort}/v1/chat/completions`, testId, body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ echoed: body, testId });
    const stored = await rowByTestId(capture, envoy, testId);
    expect(stored).toMatchObject({ Method: 'POST', Scheme: 'http', Authority: `${UPSTREAM_HOST}:${plainPort}`, Path: '/v1/chat/completions', StatusCode: 200, RequestBody: body });
    expect(stored.ResponseBody).toContain('chatcmpl-eg');
  });

  it('captures an HTTPS exchange through the Terminate listener with a leaf the minter made for the SNI', async () => {
    const testId = `eg-https-${envoyVersion}`;
    const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'intercepted' }] });
    const answer = await requestThrough(envoy.ports['sandbox/egc-agents/intercept']!, 'api.upstream.test', `${UPSTREAM_HOST}:${securePort}`, testId, interceptionCa.certificatePem, body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ echoed: body, testId });
    // Not the CA itself (which Envoy Gateway also put on the listener), but a leaf for the SNI it signed.
    expect(answer.peer.subjectAltName).toBe('DNS:api.upstream.test');
    expect(answer.peer.ca).toBe(false);
    expect(answer.peer.verify(new crypto.X509Certificate(interceptionCa.certificatePem).publicKey)).toBe(true);
    const stored = await rowByTestId(capture, envoy, testId);
    expect(stored).toMatchObject({ Method: 'POST', Scheme: 'https', Authority: `${UPSTREAM_HOST}:${securePort}`, Path: '/v1/chat/completions', StatusCode: 200, RequestBody: body });
    expect(stored.ResponseBody).toContain('chatcmpl-eg');
  });
});
