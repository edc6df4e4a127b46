// Two gateways translated together send to one capture service: they get one ConfigMap and one
// Secret under the names its Deployment mounts (deploy/, the Helm chart), the service accepts
// the file, and gateways that would need different capture settings are refused.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadGatewayCaptureSettings } from '../../src/gateway';
import { twoGateways } from '../support/gateway-inputs';
import { runTranslate } from './run-command';

describe('two gateways, one capture service', () => {
  it('get one ConfigMap and one Secret, named as the capture service Deployment mounts them', async () => {
    const run = await runTranslate(['-f', '-'], twoGateways());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const objects = parseAllDocuments(run.stdout).map((doc) => doc.toJS());
    const configMaps = objects.filter((o) => o.kind === 'ConfigMap');
    const secrets = objects.filter((o) => o.kind === 'Secret');
    expect(configMaps.map((o) => o.metadata)).toEqual([{ name: 'egress-capture-gateway', namespace: 'egress-capture' }]);
    expect(secrets.map((o) => o.metadata)).toEqual([{ name: 'egress-capture-otlp', namespace: 'egress-capture' }]);

    const file = path.join(mkdtempSync(path.join(tmpdir(), 'two-gateways-')), 'gateway.yaml');
    writeFileSync(file, configMaps[0].data['gateway.yaml']);
    const settings = loadGatewayCaptureSettings(file);
    // Several gateways: no single name for the OTLP resource; rows carry the gateway Envoy names.
    expect(settings).toMatchObject({ gatewayName: '', gatewayNamespace: '', otlp: { endpoint: 'https://otel.example.com' } });
  });

  it('are refused when they need different capture settings, naming both and the way out', async () => {
    const run = await runTranslate(['-f', '-'], twoGateways('https://other.example.com'));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('(EgressGateway sandbox/agents): spec.otlp: differs from EgressGateway ci/builders');
    expect(run.stderr).toContain('--capture-service');
  });

  it('are refused by the capture service too when a hand-written file mixes them', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'two-gateways-')), 'gateway.yaml');
    writeFileSync(file, twoGateways('https://other.example.com'));
    expect(() => loadGatewayCaptureSettings(file)).toThrow(/ci\/builders: spec.otlp differs from EgressGateway sandbox\/agents/);
  });
});
