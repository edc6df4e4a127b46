// `translate --sds-tls-cert/--sds-tls-key/--sds-tls-ca`: the cert-minter cluster speaks mTLS in
// both outputs (Envoy Gateway's patch, the standalone bootstrap), decodes with Envoy's own protos,
// passes the CRD checks, and the three flags go together.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CrdValidator, REPO_ROOT, validateYamlText } from '../support/schema-validator';
import { addNewerEnvoyApis, EnvoyProtos, StrictDecoder } from './envoy-proto';
import { runTranslate } from './run-command';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'translator');
const TLS_FLAGS = ['--sds-tls-cert', '/etc/envoy/minter/tls.crt', '--sds-tls-key', '/etc/envoy/minter/tls.key', '--sds-tls-ca', '/etc/envoy/minter/ca.crt'];

function expectMinterTls(socket: any, host: string): void {
  expect(socket.name).toBe('envoy.transport_sockets.tls');
  const context = socket.typed_config;
  expect(context.sni).toBe(host);
  expect(context.common_tls_context.tls_certificates).toEqual([{ certificate_chain: { filename: '/etc/envoy/minter/tls.crt' }, private_key: { filename: '/etc/envoy/minter/tls.key' } }]);
  expect(context.common_tls_context.validation_context).toEqual({
    trusted_ca: { filename: '/etc/envoy/minter/ca.crt' },
    match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: host } }],
  });
}

describe('mTLS to the certificate minter', () => {
  it('Envoy Gateway: the cert-minter cluster patch carries the TLS socket and passes the CRD checks', async () => {
    const run = await runTranslate(['-f', path.join(FIXTURES, 'listener-kinds', 'in.yaml'), ...TLS_FLAGS]);
    expect(run.code).toBe(0);
    expect(validateYamlText(CrdValidator.load(), run.stdout).errors).toEqual([]);
    const patches = parseAllDocuments(run.stdout)
      .map((d) => d.toJS())
      .filter((o) => o?.kind === 'EnvoyPatchPolicy')
      .flatMap((o) => o.spec.jsonPatches);
    const clusters = patches.filter((p: any) => p.type.endsWith('Cluster') && String(p.name).endsWith('cert-sds'));
    expect(clusters.length).toBeGreaterThan(0);
    for (const patch of clusters) expectMinterTls(patch.operation.value.transport_socket, 'egress-capture.egress-capture.svc.cluster.local');
  });

  it('standalone: the cert-minter cluster is mTLS and the bootstrap decodes with Envoy protos', async () => {
    const run = await runTranslate(['-f', path.join(FIXTURES, 'standalone-envoy', 'in.yaml'), '--target', 'envoy', ...TLS_FLAGS]);
    expect(run.code).toBe(0);
    const bootstrap = parse(run.stdout);
    const minter = bootstrap.static_resources.clusters.find((c: any) => c.name === 'cert-minter');
    expectMinterTls(minter.transport_socket, 'egress-capture');
    const protos = new EnvoyProtos();
    addNewerEnvoyApis(protos);
    const decoder = new StrictDecoder(protos);
    decoder.decode('envoy.config.bootstrap.v3.Bootstrap', bootstrap);
    expect(decoder.errors).toEqual([]);
    expect(decoder.anyTypes).toContain('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
  });

  it('without the flags the cluster stays plaintext (the default)', async () => {
    const run = await runTranslate(['-f', path.join(FIXTURES, 'standalone-envoy', 'in.yaml'), '--target', 'envoy']);
    expect(parse(run.stdout).static_resources.clusters.find((c: any) => c.name === 'cert-minter').transport_socket).toBeUndefined();
  });

  it('the three flags go together', async () => {
    const run = await runTranslate(['-f', path.join(FIXTURES, 'standalone-envoy', 'in.yaml'), '--sds-tls-cert', '/x.crt']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--sds-tls-key, --sds-tls-ca needed with --sds-tls-cert: mTLS to the certificate minter takes all three');
    expect(readFileSync(path.join(FIXTURES, 'standalone-envoy', 'in.yaml'), 'utf8')).toContain('Terminate');
  });
});
