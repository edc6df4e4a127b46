// The standalone bootstrap must decode as envoy.config.bootstrap.v3.Bootstrap with Envoy's own
// protos, every typed Any resolved, so a misspelt field or a wrong enum fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/schema-validator';
import { addNewerEnvoyApis, EnvoyProtos, StrictDecoder } from './envoy-proto';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'translator');
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';

describe('standalone Envoy bootstrap', () => {
  const protos = new EnvoyProtos();
  addNewerEnvoyApis(protos);

  it.each(['standalone-envoy', 'standalone-envoy-deny-all'])('%s decodes with Envoy protos', (name) => {
    const config = parse(readFileSync(path.join(FIXTURES, name, 'out.yaml'), 'utf8'));
    const decoder = new StrictDecoder(protos);
    const bytes = decoder.decode(BOOTSTRAP, config);
    expect(decoder.errors).toEqual([]);
    expect(bytes?.length).toBeGreaterThan(100);
    expect(decoder.anyTypes).toContain('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  });

  it('resolves the ext_proc, forward proxy and certificate selector configs', () => {
    const config = parse(readFileSync(path.join(FIXTURES, 'standalone-envoy', 'out.yaml'), 'utf8'));
    const decoder = new StrictDecoder(protos);
    decoder.decode(BOOTSTRAP, config);
    for (const type of [
      'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute',
      'envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig',
      'envoy.extensions.filters.network.sni_dynamic_forward_proxy.v3.FilterConfig',
      'envoy.extensions.transport_sockets.tls.cert_selectors.on_demand_secret.v3.Config',
      'envoy.extensions.transport_sockets.tls.cert_mappers.sni.v3.SNI',
    ]) {
      expect(decoder.anyTypes).toContain(type);
    }
  });

  it.each([
    ['a misspelt field inside a typed Any', (c: any) => (c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefx = 'x'), /stat_prefx: unknown field/],
    ['a wrong enum', (c: any) => (c.static_resources.clusters[0].lb_policy = 'ROUND_ROBINN'), /ROUND_ROBINN/],
    ['an unknown @type', (c: any) => (c.static_resources.listeners[0].listener_filters[0].typed_config['@type'] = 'type.googleapis.com/envoy.Nope'), /unknown @type/],
    ['a bad duration', (c: any) => (c.static_resources.clusters[0].connect_timeout = '10 seconds'), /not a protobuf Duration/],
  ])('fails on %s', (_name, change, expected) => {
    const config = parse(readFileSync(path.join(FIXTURES, 'standalone-envoy', 'out.yaml'), 'utf8'));
    change(config);
    const decoder = new StrictDecoder(protos);
    expect(decoder.decode(BOOTSTRAP, config)).toBeUndefined();
    expect(decoder.errors.join('\n')).toMatch(expected);
  });
});
