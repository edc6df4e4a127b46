/**
 * An OpenShift EgressRouter, translated, through the real Envoy as Envoy Gateway configures it:
 * the egress-router golden case ─translate─▶ ─egctl x translate─▶ xDS ─▶ Envoy. A connection to
 * a redirected port reaches the rule's destinationIP on its targetPort (the rule's destination
 * moves to an echo server on loopback, nothing else does), and only the rules' ports listen:
 * no SCTP, and no fallback for other ports.
 * The UDP listener is left out of the bootstrap: the Envoy build from PyPI has no udp_proxy
 * filter (Envoy Gateway's proxy image has); egctl's acceptance of it is checked in
 * eg-translation.test.ts.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { newCa } from '../certificates/test-cas';
import { startEnvoy, type EnvoyProcess } from '../envoy/envoy-process';
import { describeEnvoy } from '../envoy/describe-envoy';
import { REPO_ROOT } from '../service/service-process';
import { runTranslate } from '../translator/run-command';
import { EGCTL_VERSIONS, requireEgctl } from './egctl-install';
import { staticBootstrap } from './eg-bootstrap';
import { CLUSTER_IP, egTranslate, type EgTranslation, type Json } from './eg-translation';
import { echo, listen, post, stopAll } from './echo-upstream';

const INPUT = path.join(REPO_ROOT, 'test', 'fixtures', 'translator', 'egress-router', 'in.yaml');
const version = EGCTL_VERSIONS[0]!;

describeEnvoy(`An EgressRouter through Envoy Gateway ${version}'s translation`, (envoyVersion, binary) => {
  let dir: string;
  let envoy: EnvoyProcess;
  let upstream: http.Server;
  let eg: EgTranslation;
  let rule: Json;
  const ca = newCa('Unused CA');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `eg-router-${envoyVersion}-`));
    const input = fs.readFileSync(INPUT, 'utf8');
    // The rule whose targetPort differs from its port: the translation must dial targetPort.
    rule = (parseAllDocuments(input)[0]!.toJS() as Json).spec.redirect.redirectRules.find((r: Json) => r.targetPort !== undefined && r.targetPort !== r.port);
    const translated = await runTranslate(['-f', INPUT]);
    expect(translated.code).toBe(0);
    eg = await egTranslate(requireEgctl(version), translated.stdout, { certificatePem: ca.certificatePem, keyPem: ca.keyPem, serviceIp: CLUSTER_IP });
    upstream = http.createServer(echo);
    const upstreamPort = await listen(upstream, '127.0.0.1');
    const tcpListeners = eg.listeners.filter((l) => l.address?.socketAddress?.protocol !== 'UDP');
    const bootstrap = staticBootstrap({
      listeners: tcpListeners,
      clusters: eg.clusters,
      routes: eg.routes,
      endpoints: eg.endpoints,
      secrets: [],
      moveEndpoint: (address, port) => (address === rule.destinationIP && port === rule.targetPort ? upstreamPort : undefined),
    });
    envoy = await startEnvoy(binary, envoyVersion, { bootstrap, listeners: tcpListeners.map((l) => l.name as string) });
  }, 120_000);

  afterAll(() => stopAll({ envoy, servers: [upstream], dir }));

  it('has one listener per TCP and UDP rule, none for SCTP and none for the fallback', () => {
    const prefix = 'billing/egc-legacy-dc/';
    const names = eg.listeners.map((l) => String(l.name)).filter((name) => name.startsWith(prefix));
    expect(names.map((name) => name.slice(prefix.length)).sort()).toEqual(['tcp-53', 'tcp-5432', 'tcp-8080', 'udp-53']);
  });

  it("forwards a connection to a redirected port to the rule's destination on its targetPort", async () => {
    const body = JSON.stringify({ through: 'egress router' });
    const answer = await post(envoy.ports[`billing/egc-legacy-dc/tcp-${rule.port}`]!, 'legacy.example.com', '/echo', 'eg-router', body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ echoed: body, testId: 'eg-router' });
  });
});
