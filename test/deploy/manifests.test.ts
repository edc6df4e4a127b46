/**
 * The shipped manifests as a user renders them: `helm lint`, `helm template`
 * with the default values and with every optional feature on, and `kustomize
 * build deploy/`; every object checked against the Kubernetes types and the
 * schemas in shared/crds; and the two renderings agree for the same settings.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CAPTURE_SERVICE } from '../../src/translator/options';
import { parseCapturePolicy } from '../../src/policy/capture-policy';
import { checkObjects, DEPLOY_DIR, find, helmLint, helmTemplate, kustomizeBuild, KubeObject, label } from './render';

/** Every optional value of the chart switched on. */
export const ALL_FEATURES = {
  image: { repository: 'registry.example.com/egress-capture', tag: '0.1.0-test', pullPolicy: 'Always' },
  imagePullSecrets: [{ name: 'registry-credentials' }],
  store: { mode: 'remote', remote: { existingSecret: 'clickhouse', urlKey: 'url', caKey: 'ca.crt' } },
  persistence: { enabled: true, size: '50Gi', storageClassName: 'fast' },
  admin: { existingSecret: 'my-admin' },
  otlp: { secretName: 'my-otlp' },
  gateway: { configMapName: 'my-gateway' },
  extraConfig: { EGRESS_CAPTURE_TTL_DAYS: 30, EGRESS_CAPTURE_LOG_LEVEL: 'debug' },
  capturePolicy: {
    default: 'full',
    retentionDays: { full: 7, usage: 90 },
    rules: [
      { name: 'health', match: { pathPrefix: '/healthz' }, capture: 'none' },
      { name: 'hr-to-openai', match: { authority: 'api.openai.com', workload: { namespace: 'hr' } }, capture: 'usage' },
    ],
  },
  tls: { grpc: { secretName: 'capture-grpc-tls', requireClientCertificate: true }, admin: { secretName: 'capture-admin-tls' } },
  certificateMinter: {
    enabled: true,
    caSecrets: [
      { namespace: 'sandbox', name: 'agents-mitm-ca' },
      { namespace: 'ci', name: 'builders-ca', secretName: 'ci-builders-ca' },
    ],
  },
  resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '4Gi' } },
  podAnnotations: { 'example.com/team': 'platform' },
  priorityClassName: 'system-cluster-critical',
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'egress', effect: 'NoSchedule' }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] }] } } },
  networkPolicy: {
    enabled: true,
    gateway: { namespaceSelector: { matchLabels: { team: 'platform' } }, podSelector: { matchLabels: { 'gateway.envoyproxy.io/owning-gateway-name': 'egc-agents' } } },
    adminNamespaces: ['analysts', 'oncall'],
    metricsNamespace: 'observability',
    probeCIDRs: ['10.0.0.0/16'],
  },
};

/** Several replicas on a remote store, named as deploy/components/replicated names its Secret. */
const REPLICATED = { replicaCount: 3, store: { mode: 'remote', remote: { existingSecret: 'egress-capture-clickhouse' } } };

function expectValid(objects: KubeObject[]): void {
  const check = checkObjects(objects);
  expect(check.errors).toEqual([]);
  expect(check.decoded).toEqual(objects.map(label));
  // NetworkPolicy has its OpenAPI document in shared/crds: it must have been checked against it.
  expect(check.schemaChecked).toContain('networking.k8s.io/v1 NetworkPolicy');
}

/** Ingress rules of a NetworkPolicy as {port: [peers]} to read what is allowed where. */
function peersByPort(policy: KubeObject): Record<number, unknown[]> {
  const byPort: Record<number, unknown[]> = {};
  for (const rule of policy.spec.ingress) for (const port of rule.ports) (byPort[port.port] ??= []).push(...rule.from);
  return byPort;
}

describe('object checks', () => {
  it('catch an unknown field and a wrong type, in built-in kinds and in the NetworkPolicy schema', () => {
    const objects = kustomizeBuild().objects;
    const deployment = structuredClone(find(objects, 'Deployment'));
    deployment.spec.template.spec.containers[0].readinesProbe = deployment.spec.template.spec.containers[0].readinessProbe;
    const service = structuredClone(find(objects, 'Service'));
    service.spec.ports[0].port = 'nine thousand';
    const policy = structuredClone(find(objects, 'NetworkPolicy'));
    policy.spec.ingress[0].ports[0].protocl = 'TCP';
    const check = checkObjects([deployment, service, policy]);
    expect(check.errors.join('\n')).toMatch(/Deployment\/egress-capture: .*readinesProbe/);
    expect(check.errors.join('\n')).toMatch(/Service\/egress-capture: .*port/);
    expect(check.errors.join('\n')).toMatch(/NetworkPolicy\/egress-capture: .*protocl/);
  });
});

describe('Helm chart', () => {
  it('passes helm lint --strict with the default values, with every feature on and replicated', () => {
    for (const values of [{}, ALL_FEATURES, REPLICATED]) {
      const lint = helmLint(values);
      expect({ code: lint.code, output: lint.stdout + lint.stderr }).toMatchObject({ code: 0 });
    }
  });

  it('renders valid objects with the default values', () => {
    const rendered = helmTemplate();
    expect(rendered.stderr).toBe('');
    expect(rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/egress-capture-config',
      'Deployment/egress-capture',
      'NetworkPolicy/egress-capture',
      'PersistentVolumeClaim/egress-capture-data',
      'Secret/egress-capture-admin',
      'Service/egress-capture',
    ]);
    expectValid(rendered.objects);
  });

  it('renders valid objects with every feature on, each where it belongs', () => {
    const rendered = helmTemplate(ALL_FEATURES);
    expect(rendered.stderr).toBe('');
    const objects = rendered.objects;
    expectValid(objects);
    // admin.existingSecret: the chart renders no admin Secret of its own and renders no OTLP Secret ever.
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const template = find(objects, 'Deployment').spec.template;
    const pod = template.spec;
    const container = pod.containers[0];
    expect(template.metadata.annotations).toEqual(ALL_FEATURES.podAnnotations);
    expect(pod).toMatchObject({
      automountServiceAccountToken: false,
      imagePullSecrets: ALL_FEATURES.imagePullSecrets,
      priorityClassName: ALL_FEATURES.priorityClassName,
      nodeSelector: ALL_FEATURES.nodeSelector,
      tolerations: ALL_FEATURES.tolerations,
      affinity: ALL_FEATURES.affinity,
    });
    expect(container.image).toBe('registry.example.com/egress-capture:0.1.0-test');
    expect(container.args).toEqual([
      'serve',
      '--ca-dir=/etc/egress-capture/ca',
      '--sds-listen=0.0.0.0:9443',
      '--grpc-tls-cert-file=/etc/egress-capture/tls/grpc/tls.crt',
      '--grpc-tls-key-file=/etc/egress-capture/tls/grpc/tls.key',
      '--grpc-tls-client-ca-file=/etc/egress-capture/tls/grpc/ca.crt',
      '--admin-tls-cert-file=/etc/egress-capture/tls/admin/tls.crt',
      '--admin-tls-key-file=/etc/egress-capture/tls/admin/tls.key',
      '--capture-policy=/etc/egress-capture/policy/capture-policy.yaml',
    ]);
    expect([container.readinessProbe.httpGet.scheme, container.livenessProbe.httpGet.scheme]).toEqual(['HTTPS', 'HTTPS']);
    expect(container.ports.map((p: any) => [p.name, p.containerPort])).toEqual([
      ['grpc', 9002],
      ['admin', 9003],
      ['sds', 9443],
    ]);
    expect(container.envFrom.map((e: any) => (e.configMapRef ?? e.secretRef).name)).toEqual(['egress-capture-config', 'my-otlp', 'my-admin']);
    expect(container.env).toEqual([
      ...['name', 'namespace', 'uid'].map((field) => ({ name: `POD_${field.toUpperCase()}`, valueFrom: { fieldRef: { fieldPath: `metadata.${field}` } } })),
      { name: 'EGRESS_CAPTURE_CLICKHOUSE_URL', valueFrom: { secretKeyRef: { name: 'clickhouse', key: 'url' } } },
    ]);
    expect(container.resources).toEqual(ALL_FEATURES.resources);
    // CA Secrets where the minter looks for them: <ca-dir>/<namespace>/<name>/tls.crt,tls.key.
    const mounts = Object.fromEntries(container.volumeMounts.map((m: any) => [m.mountPath, m.name]));
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    expect(volumes[mounts['/etc/egress-capture/ca/sandbox/agents-mitm-ca']].secret.secretName).toBe('agents-mitm-ca');
    expect(volumes[mounts['/etc/egress-capture/ca/ci/builders-ca']].secret).toEqual({
      secretName: 'ci-builders-ca',
      items: [
        { key: 'tls.crt', path: 'tls.crt' },
        { key: 'tls.key', path: 'tls.key' },
      ],
    });
    expect(volumes[mounts['/etc/egress-capture/gateway']].configMap.name).toBe('my-gateway');
    expect(volumes[mounts['/etc/egress-capture/tls/grpc']].secret).toEqual({ secretName: 'capture-grpc-tls' });
    expect(volumes[mounts['/etc/egress-capture/tls/admin']].secret).toEqual({ secretName: 'capture-admin-tls' });
    expect(volumes[mounts['/etc/egress-capture/clickhouse']].secret.secretName).toBe('clickhouse');
    // The policy from the values, mounted as a directory where --capture-policy names it, is one the service accepts as written.
    const policyMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'egress-capture-capture-policy')!;
    expect(volumes[mounts['/etc/egress-capture/policy']].configMap.name).toBe('egress-capture-capture-policy');
    const policy = parseCapturePolicy(policyMap.data['capture-policy.yaml'], 'values.capturePolicy');
    expect(policy.rules.map((rule) => [rule.name, rule.capture])).toEqual([
      ['health', 'none'],
      ['hr-to-openai', 'usage'],
    ]);
    expect(policy.retentionDays).toEqual({ full: 7, usage: 90 });
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'egress-capture-config')!.data;
    expect(config).toMatchObject({ EGRESS_CAPTURE_CLICKHOUSE_CA_FILE: '/etc/egress-capture/clickhouse/ca.crt', EGRESS_CAPTURE_TTL_DAYS: '30', EGRESS_CAPTURE_LOG_LEVEL: 'debug' });
    expect(find(objects, 'PersistentVolumeClaim').spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '50Gi' } } });
    expect(find(objects, 'Service').spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      ['grpc', 9002],
      ['admin', 9003],
      ['sds', 9443],
    ]);

    // Envoy pods reach ext_proc and SDS; the named namespaces, the monitoring one and the nodes reach admin; nothing else.
    const byPort = peersByPort(find(objects, 'NetworkPolicy'));
    const gateway = [{ namespaceSelector: ALL_FEATURES.networkPolicy.gateway.namespaceSelector, podSelector: ALL_FEATURES.networkPolicy.gateway.podSelector }];
    expect(byPort).toEqual({
      9002: gateway,
      9443: gateway,
      9003: [...['analysts', 'oncall', 'observability'].map((ns) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } })), { ipBlock: { cidr: '10.0.0.0/16' } }],
    });
  });

  it.each([
    [{ store: { mode: 'remote' } }, 'store.remote.existingSecret: required with store.mode=remote'],
    [{ store: { mode: 'chdb' } }, 'store.mode: "chdb" is not one of embedded, remote'],
    [{ persistence: { enabled: false } }, 'persistence.enabled: must be true with store.mode=embedded'],
    [{ admin: { password: 'secret' } }, 'admin.user and admin.password: set both or neither'],
    [{ extraConfig: { EGRESS_CAPTURE_DATA_DIR: '/elsewhere' } }, 'extraConfig.EGRESS_CAPTURE_DATA_DIR: set by the chart itself'],
    [{ extraConfig: { TTL_DAYS: '7' } }, 'extraConfig.TTL_DAYS: expected an EGRESS_CAPTURE_* setting'],
    [{ replicaCount: 3 }, "replicaCount: 3 needs store.mode=remote: the embedded store lives in one pod's volume and cannot be shared; run a ClickHouse server or ClickHouse Cloud"],
    [{ ...REPLICATED, persistence: { existingClaim: 'capture-data' } }, 'persistence.existingClaim: "capture-data" cannot serve 3 replicas'],
    [{ replicaCount: 0 }, 'replicaCount: 0 expected a whole number from 1'],
  ])('refuses %j with a message naming the value', (values, message) => {
    const rendered = helmTemplate(values);
    expect(rendered.code).not.toBe(0);
    expect(rendered.stderr).toContain(message);
  });
});

/** `kustomize build` of an overlay of deploy/ with the replicated component on, as a user writes it. */
function kustomizeReplicated(): ReturnType<typeof kustomizeBuild> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kustomize-replicated-'));
  try {
    // kustomize takes a base only by a relative path.
    const deploy = path.relative(dir, DEPLOY_DIR);
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), `resources:\n- ${deploy}\ncomponents:\n- ${deploy}/components/replicated\n`);
    return kustomizeBuild(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('replicated mode', () => {
  it('renders a StatefulSet with one spool volume per pod behind a headless Service, every replica on the remote store', () => {
    const rendered = helmTemplate(REPLICATED);
    expect(rendered.stderr).toBe('');
    expectValid(rendered.objects);
    expect(rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/egress-capture-config',
      'NetworkPolicy/egress-capture',
      'Secret/egress-capture-admin',
      'Service/egress-capture',
      'StatefulSet/egress-capture',
    ]);
    const set = find(rendered.objects, 'StatefulSet');
    const service = find(rendered.objects, 'Service');
    expect(set.spec).toMatchObject({ replicas: 3, serviceName: service.metadata.name, podManagementPolicy: 'Parallel' });
    expect(set.spec.volumeClaimTemplates).toEqual([{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } }]);
    const pod = set.spec.template.spec;
    const container = pod.containers[0];
    // The spool comes from the claim template, not from a shared volume of the pod.
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/egress-capture' });
    expect(pod.volumes.map((v: any) => v.name)).not.toContain('data');
    // Every replica writes to the remote store; an empty URL stops the pod instead of going embedded.
    expect(container.args).toEqual(['serve', '--clickhouse-url=$(EGRESS_CAPTURE_CLICKHOUSE_URL)']);
    expect(container.env).toContainEqual({ name: 'EGRESS_CAPTURE_CLICKHOUSE_URL', valueFrom: { secretKeyRef: { name: 'egress-capture-clickhouse', key: 'EGRESS_CAPTURE_CLICKHOUSE_URL' } } });
    // Rows name their replica: CapturedBy is the pod name.
    expect(container.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    // Headless: the name resolves to every ready pod, so a DNS-resolved Envoy cluster lists each replica.
    expect(service.spec.clusterIP).toBe('None');
  });

  it('the translator sends ext_proc to the Service the chart and deploy/ create', () => {
    for (const objects of [helmTemplate().objects, helmTemplate(REPLICATED).objects, kustomizeReplicated().objects]) {
      const service = find(objects, 'Service');
      const grpc = service.spec.ports.find((p: any) => p.name === 'grpc');
      expect({ namespace: service.metadata.namespace, name: service.metadata.name, port: grpc.port }).toEqual(DEFAULT_CAPTURE_SERVICE);
    }
  });

  it('kustomize with deploy/components/replicated renders what Helm does', () => {
    const fromKustomize = kustomizeReplicated();
    expect(fromKustomize.stderr).toBe('');
    expectValid(fromKustomize.objects);
    const byName = (objects: KubeObject[]) => Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, normalise(o)]));
    expect(byName(helmTemplate(REPLICATED).objects)).toEqual(byName(fromKustomize.objects.filter((o) => o.kind !== 'Namespace')));
  });
});

describe('kustomize tree deploy/', () => {
  const rendered = kustomizeBuild();

  it('builds valid objects, with the NetworkPolicy and admin Secret and without an OTLP placeholder', () => {
    expect(rendered.stderr).toBe('');
    expectValid(rendered.objects);
    expect(rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/egress-capture-config',
      'Deployment/egress-capture',
      'Namespace/egress-capture',
      'NetworkPolicy/egress-capture',
      'PersistentVolumeClaim/egress-capture-data',
      'Secret/egress-capture-admin',
      'Service/egress-capture',
    ]);
    // Re-applying deploy/ must not replace what `translate` wrote (egress-capture-otlp).
    expect(rendered.objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual(['egress-capture-admin']);
    const pod = find(rendered.objects, 'Deployment').spec.template.spec;
    expect(pod.containers[0].image).toBe('egress-capture:0.1.0');
    // Nothing in the pod talks to the Kubernetes API, so it gets no token to lose.
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('lets only the gateway pods reach ext_proc and only the monitoring namespace reach admin', () => {
    expect(peersByPort(find(rendered.objects, 'NetworkPolicy'))).toEqual({
      9002: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/managed-by': 'envoy-gateway', 'app.kubernetes.io/component': 'proxy' } },
        },
      ],
      9003: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    });
  });
});

/**
 * What Helm adds and kustomize does not, by design:
 * - the labels app.kubernetes.io/instance, version, managed-by and helm.sh/chart (the instance
 *   label is in Helm's selectors too, so two releases in one namespace stay apart; deploy/
 *   installs one copy per namespace and selects by name alone);
 * - no Namespace object (Helm installs into --namespace, created with --create-namespace);
 * - Secret data: kustomize's generator and the chart both write base64 `data`.
 */
const HELM_ONLY_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];

function normalise(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  const strip = (labels: Record<string, string> | undefined) => {
    if (!labels) return;
    for (const name of HELM_ONLY_LABELS) delete labels[name];
  };
  strip(copy.metadata.labels);
  strip(copy.spec?.selector?.matchLabels ?? (copy.kind === 'Service' ? copy.spec?.selector : undefined));
  strip(copy.spec?.template?.metadata?.labels);
  strip(copy.spec?.podSelector?.matchLabels);
  return copy;
}

describe('Helm and kustomize', () => {
  it('render the same objects for the same settings, Helm-only labels and the Namespace aside', () => {
    const fromKustomize = kustomizeBuild().objects.filter((o) => o.kind !== 'Namespace');
    const fromHelm = helmTemplate().objects;
    const byName = (objects: KubeObject[]) => Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, normalise(o)]));
    expect(byName(fromHelm)).toEqual(byName(fromKustomize));
  });
});
