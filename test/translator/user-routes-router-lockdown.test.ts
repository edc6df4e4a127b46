// The inputs a user brings besides EgressGateways: their own Gateway API routes, OpenShift
// EgressRouters, and --lockdown. Golden cases cover the common shapes; these cover the edges a
// user hits (kinds without a CRD here, input errors, flags).
import { parseAllDocuments } from 'yaml';
import { runTranslate } from './run-command';

const GATEWAY = `apiVersion: clrk.apoxy.dev/v1alpha1
kind: EgressGateway
metadata: {name: edge, namespace: team-a}
spec:
  defaultPolicy: deny-all
  listeners:
  - {name: web, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {egress: allowed}}}}}
  - {name: open, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}
`;

const objects = (text: string): any[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter(Boolean);

/** The gateway plus one route of `kind` in `namespace` whose only parent is `parent` (flow YAML). */
function withRoute(kind: string, name: string, namespace: string, parent: string, spec = 'rules: [{backendRefs: [{name: upstream, port: 80}]}]'): string {
  return `${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  parentRefs: [${parent}]
  ${spec}
`;
}

/** An EgressRouter ns/NAME with the given redirect (flow YAML). */
function router(name: string, redirect: string): string {
  return `apiVersion: network.operator.openshift.io/v1
kind: EgressRouter
metadata: {name: ${name}, namespace: ns}
spec:
  addresses: [{ip: 10.0.0.5/24}]
  mode: Redirect
  networkInterface: {macvlan: {mode: Bridge}}
  redirect: ${redirect}
`;
}

describe('user routes', () => {
  it('re-parents a GRPCRoute from another namespace onto the generated Gateway, and captures it with the Gateway-wide policy', async () => {
    const input = withRoute('GRPCRoute', 'rpc', 'team-b', '{group: clrk.apoxy.dev, kind: EgressGateway, name: edge, namespace: team-a, sectionName: open}');
    const run = await runTranslate(['-f', '-'], input);
    expect(run.code).toBe(0);
    const out = objects(run.stdout);
    const route = out.find((o) => o.kind === 'GRPCRoute');
    expect(route.metadata).toEqual({ name: 'rpc', namespace: 'team-b' });
    expect(route.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egc-edge', namespace: 'team-a', sectionName: 'open' }]);
    const capture = out.find((o) => o.kind === 'EnvoyExtensionPolicy' && o.metadata.name === 'egc-edge-capture');
    expect(capture.spec.targetRefs.map((t: any) => `${t.kind}/${t.name}/${t.sectionName}`)).toEqual(['Gateway/egc-edge/web', 'Gateway/egc-edge/open']);
  });

  it('accepts a route on a Selector listener with a warning, and copies the selector for Envoy Gateway to enforce', async () => {
    const input = withRoute('HTTPRoute', 'web', 'team-c', '{group: clrk.apoxy.dev, kind: EgressGateway, name: edge, namespace: team-a, sectionName: web}');
    const run = await runTranslate(['-f', '-'], input);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/HTTPRoute team-c\/web -> team-a\/edge\/web: allowedRoutes\.namespaces\.selector cannot be evaluated offline/);
    const gateway = objects(run.stdout).find((o) => o.kind === 'Gateway');
    expect(gateway.spec.listeners[0].allowedRoutes.namespaces).toEqual({ from: 'Selector', selector: { matchLabels: { egress: 'allowed' } } });
  });

  it('refuses, with exit 2 and the path, a route naming an EgressGateway that is not in the input', async () => {
    const input = withRoute('HTTPRoute', 'lost', 'team-a', '{group: clrk.apoxy.dev, kind: EgressGateway, name: nowhere}');
    const run = await runTranslate(['-f', '-'], input);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/HTTPRoute team-a\/lost\): spec\.parentRefs\[0\]\.name: EgressGateway team-a\/nowhere not found in the input/);
  });

  it('ignores, with a warning, a Gateway API route that names no EgressGateway', async () => {
    const input = withRoute('HTTPRoute', 'elsewhere', 'team-a', '{name: some-other-gateway}');
    const run = await runTranslate(['-f', '-'], input);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: ignoring gateway\.networking\.k8s\.io\/v1 HTTPRoute team-a\/elsewhere .*: no parentRef names an EgressGateway/);
    expect(objects(run.stdout).some((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'elsewhere')).toBe(false);
  });
});

describe('EgressRouter', () => {
  it('reports a malformed rule as an input error with its path (exit 2)', async () => {
    const input = router('r', '{redirectRules: [{destinationIP: not-an-ip, port: 70000, protocol: ICMP}]}');
    const run = await runTranslate(['-f', '-'], input);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/spec\.redirect\.redirectRules\[0\]\.destinationIP: "not-an-ip" is not an IPv4 or IPv6 address/);
    expect(run.stderr).toMatch(/spec\.redirect\.redirectRules\[0\]\.port: 70000 is above the maximum of 65535/);
    expect(run.stderr).toMatch(/spec\.redirect\.redirectRules\[0\]\.protocol: "ICMP" is not one of TCP, UDP, SCTP/);
  });

  it('with only SCTP rules and a fallback, emits nothing for it and says so in its conditions', async () => {
    const input = router('sctp-only', '{fallbackIP: 10.1.1.1, redirectRules: [{destinationIP: 10.1.1.2, port: 3868, protocol: SCTP}]}');
    const run = await runTranslate(['--status', '-f', '-'], input);
    expect(run.code).toBe(0);
    const [entry] = objects(run.stdout)[0];
    expect(entry).toMatchObject({ kind: 'EgressRouter', name: 'ns/sctp-only', state: 'NotAccepted' });
    expect(entry.conditions.map((c: any) => `${c.type}=${c.status}`)).toEqual(['Available=False', 'Progressing=False', 'Degraded=True']);
    expect(entry.conditions[2].message).toMatch(/redirectRules\[0\]: SCTP port 3868/);
    expect(run.stderr).toMatch(/spec\.redirect\.fallbackIP 10\.1\.1\.1/);
  });

  it('loses a name clash with an older EgressGateway, and says so instead of attaching its rules to that gateway', async () => {
    const gateway = `apiVersion: clrk.apoxy.dev/v1alpha1
kind: EgressGateway
metadata: {name: r, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  defaultPolicy: deny-all
  listeners: [{name: web, protocol: HTTP, port: 80}]
---
`;
    const run = await runTranslate(['--status', '-f', '-'], gateway + router('r', '{redirectRules: [{destinationIP: 10.1.1.2, port: 5432, protocol: TCP}]}'));
    expect(run.code).toBe(0);
    const entry = objects(run.stdout)[0].find((e: any) => e.kind === 'EgressRouter');
    expect(entry).toMatchObject({ state: 'Conflicted', reason: 'DuplicateName' });
    expect(entry.conditions[0]).toMatchObject({ type: 'Available', status: 'False' });
    expect(run.stderr).toMatch(/EgressRouter ns\/r: conflicted/);
  });

  it("refuses an input Backend that has a rule's Backend name (exit 2)", async () => {
    const backend = `---
apiVersion: core.apoxy.dev/v1alpha2
kind: Backend
metadata: {name: ns-r-rule-0}
spec: {protocol: "", endpoints: [{ip: 10.9.9.9}]}
`;
    const run = await runTranslate(['-f', '-'], router('r', '{redirectRules: [{destinationIP: 10.1.1.2, port: 5432, protocol: TCP}]}') + backend);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Backend ns-r-rule-0\): metadata\.name: "ns-r-rule-0" is the name given to a redirect rule of EgressRouter ns\/r; rename this Backend/);
  });

  it('translates for the standalone Envoy target too', async () => {
    const input = router('r', '{redirectRules: [{destinationIP: 10.1.1.2, port: 5432, protocol: TCP, targetPort: 15432}]}');
    const run = await runTranslate(['--target', 'envoy', '-f', '-'], input);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('10.1.1.2');
    expect(run.stdout).toContain('15432');
  });
});

describe('--lockdown', () => {
  it('warns that All and Selector listeners cannot be listed, and locks the named namespaces instead', async () => {
    const plain = await runTranslate(['--lockdown', '-f', '-'], GATEWAY);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/listener web admits routes from namespaces matching a selector, which cannot be listed offline; name the namespaces to lock down with --lockdown-namespace/);
    expect(objects(plain.stdout).filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    const named = await runTranslate(['--lockdown-namespace', 'team-b', '--lockdown-namespace=team-c', '-f', '-'], GATEWAY);
    expect(named.code).toBe(0);
    const policies = objects(named.stdout).filter((o) => o.kind === 'NetworkPolicy');
    expect(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['team-b/egc-edge-team-a-lockdown', 'team-c/egc-edge-team-a-lockdown']);
  });

  it('refuses a bad namespace and the standalone target, naming the flag', async () => {
    const bad = await runTranslate(['--lockdown-namespace', 'Team_B', '-f', '-'], GATEWAY);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--lockdown-namespace must be a namespace name .* got "Team_B"/);
    const envoy = await runTranslate(['--lockdown', '--target', 'envoy', '-f', '-'], GATEWAY);
    expect(envoy.code).toBe(2);
    expect(envoy.stderr).toMatch(/--lockdown emits Kubernetes NetworkPolicies and applies to --target envoy-gateway only/);
  });
});
