// deploy/examples: the committed translated output must match what `translate` prints for the
// example (run with UPDATE_GOLDEN=1 to refresh it) and pass the CRD checks; the deploy
// manifests must keep the properties operators rely on.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadGatewayCaptureSettings } from '../../src/gateway';
import { CrdValidator, REPO_ROOT, validateYamlText } from '../support/schema-validator';
import { runTranslate } from './run-command';

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const EXAMPLE = path.join(DEPLOY, 'examples', 'egress-gateway.yaml');
const TRANSLATED = path.join(DEPLOY, 'examples', 'egress-gateway.envoy-gateway.yaml');

function docs(file: string): any[] {
  return parseAllDocuments(readFileSync(path.join(DEPLOY, file), 'utf8')).map((d) => d.toJS());
}

describe('deploy/examples', () => {
  it('translated output is in sync with translate', async () => {
    const run = await runTranslate(['-f', EXAMPLE]);
    expect(run.code).toBe(0);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(TRANSLATED, run.stdout);
    expect(run.stdout).toBe(readFileSync(TRANSLATED, 'utf8'));
    expect(validateYamlText(CrdValidator.load(), run.stdout).errors).toEqual([]);
  });

  it('keeps OTLP headers out of ConfigMaps', () => {
    const objects = parseAllDocuments(readFileSync(TRANSLATED, 'utf8')).map((d) => d.toJS());
    const configMap = objects.find((o) => o.kind === 'ConfigMap');
    expect(configMap.metadata).toEqual({ name: 'egress-capture-gateway', namespace: 'egress-capture' });
    expect(configMap.data['gateway.yaml']).not.toContain('REPLACE-ME');
    const secret = objects.find((o) => o.kind === 'Secret');
    expect(secret.metadata.name).toBe('egress-capture-otlp');
    expect(secret.stringData.OTEL_EXPORTER_OTLP_HEADERS).toBe('authorization=Bearer%20REPLACE-ME');
  });

  it('writes a gateway file the capture service accepts', () => {
    const objects = parseAllDocuments(readFileSync(TRANSLATED, 'utf8')).map((d) => d.toJS());
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'gateway-file-')), 'gateway.yaml');
    writeFileSync(file, objects.find((o) => o.kind === 'ConfigMap').data['gateway.yaml']);
    expect(loadGatewayCaptureSettings(file)).toMatchObject({ gatewayName: 'agents', gatewayNamespace: 'sandbox', otlp: { endpoint: 'https://otel.example.com', headers: {} } });
  });
});

describe('deploy manifests', () => {
  const [deployment] = docs('deployment.yaml');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('runs non-root with admin probes and a grace period longer than the 15 s drain', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(15);
    expect(container.ports).toEqual([
      { name: 'grpc', containerPort: 9002 },
      { name: 'admin', containerPort: 9003 },
    ]);
  });

  it('mounts the data directory from the PVC and reads the gateway file the translator writes', () => {
    const [pvc] = docs('pvc.yaml');
    const [config] = docs('configmap.yaml');
    const data = container.volumeMounts.find((m: any) => m.name === 'data');
    expect(data.mountPath).toBe(config.data.EGRESS_CAPTURE_DATA_DIR);
    expect(pod.volumes.find((v: any) => v.name === 'data').persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    expect(pod.volumes.find((v: any) => v.name === 'gateway').configMap.name).toBe('egress-capture-gateway');
    expect(config.data.EGRESS_CAPTURE_GATEWAY).toBe('/etc/egress-capture/gateway/gateway.yaml');
  });

  it('exposes gRPC 9002 and admin 9003', () => {
    const [service] = docs('service.yaml');
    expect(service.spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      ['grpc', 9002],
      ['admin', 9003],
    ]);
  });
});
