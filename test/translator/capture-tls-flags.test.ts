// The translator's --capture-tls-* flags: each belongs to one target, a CA is required, and the
// standalone bootstrap's capture cluster carries exactly the TLS it was asked for.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/schema-validator';
import { runTranslate } from './run-command';

const INPUT = readFileSync(path.join(REPO_ROOT, 'deploy', 'examples', 'egress-gateway.yaml'), 'utf8');

describe('translate --capture-tls-*', () => {
  it.each([
    [['--target', 'envoy', '--capture-tls-ca-configmap', 'ca'], '--capture-tls-ca-configmap "ca" applies to --target envoy-gateway, not envoy'],
    [['--capture-tls-ca-file', '/etc/ca.pem'], '--capture-tls-ca-file "/etc/ca.pem" applies to --target envoy, not envoy-gateway'],
    [['--capture-tls-client-secret', 'envoy-client'], 'TLS to the capture service needs --capture-tls-ca-configmap'],
    [['--target', 'envoy', '--capture-tls-server-name', 'capture.internal'], 'TLS to the capture service needs --capture-tls-ca-file'],
    [['--capture-tls-ca-configmap', 'Not_A_Name'], '--capture-tls-ca-configmap "Not_A_Name" is not a Kubernetes object name'],
    [['--capture-tls-ca-configmap', ''], '--capture-tls-ca-configmap needs a value'],
  ])('%j is refused with a message naming the flag', async (args, message) => {
    const run = await runTranslate([...args, '-f', '-'], INPUT);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${message}`);
  });

  it('puts TLS, the server name, ALPN h2 and the client certificate on the capture cluster only', async () => {
    const run = await runTranslate(
      ['--target', 'envoy', '--capture-tls-ca-file', '/etc/egress-capture/ca/ca.crt', '--capture-tls-client-cert-dir', '/etc/egress-capture/envoy-client', '-f', '-'],
      INPUT,
    );
    expect(run.code).toBe(0);
    const clusters = parse(run.stdout).static_resources.clusters as Array<Record<string, any>>;
    const withTls = clusters.filter((c) => c.transport_socket?.typed_config?.['@type']?.endsWith('UpstreamTlsContext') && c.name !== 'dfp-tls');
    expect(withTls.map((c) => c.name)).toEqual(['capture']);
    expect(withTls[0]!.transport_socket.typed_config).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: 'egress-capture',
      common_tls_context: {
        alpn_protocols: ['h2'],
        validation_context: {
          trusted_ca: { filename: '/etc/egress-capture/ca/ca.crt' },
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'egress-capture' } }],
        },
        tls_certificates: [{ certificate_chain: { filename: '/etc/egress-capture/envoy-client/tls.crt' }, private_key: { filename: '/etc/egress-capture/envoy-client/tls.key' } }],
      },
    });
  });
});
