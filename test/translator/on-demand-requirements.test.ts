// Envoy accepts the on_demand_secret certificate selector only on a listener with stateless and
// stateful session resumption off, and never on QUIC (Envoy rejects the listener otherwise: "On
// demand certificates are not integrated with session resumption support", "Does not support QUIC
// listeners"). Both outputs must say so for every Terminate listener.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../support/schema-validator';
import { runTranslate } from './run-command';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'translator');
const SELECTOR = 'custom_tls_certificate_selector';

describe('on-demand certificate selector requirements', () => {
  it.each(['listener-kinds', 'worked-example', 'upstream-tls'])('Envoy Gateway output (%s): resumption off on every selector listener, no HTTP/3', async (fixture) => {
    const run = await runTranslate(['-f', path.join(FIXTURES, fixture, 'in.yaml')]);
    expect(run.code).toBe(0);
    const objects = parseAllDocuments(run.stdout).map((d) => d.toJS());
    const patches = objects.filter((o) => o?.kind === 'EnvoyPatchPolicy').flatMap((o) => o.spec.jsonPatches);
    const selectorListeners = patches.filter((p: any) => p.operation.path === SELECTOR).map((p: any) => p.name);
    expect(selectorListeners.length).toBeGreaterThan(0);
    for (const listener of selectorListeners) {
      for (const field of ['disable_stateless_session_resumption', 'disable_stateful_session_resumption']) {
        const patch = patches.find((p: any) => p.name === listener && p.operation.path === field);
        expect({ listener, field, op: patch?.operation.op, value: patch?.operation.value, at: patch?.operation.jsonPath }).toEqual({
          listener,
          field,
          op: 'add',
          value: true,
          at: expect.stringMatching(/\.transport_socket\.typed_config$/),
        });
      }
    }
    for (const policy of objects.filter((o) => o?.kind === 'ClientTrafficPolicy')) expect(policy.spec.http3).toBeUndefined();
  });

  it('standalone bootstrap: resumption off on every selector listener, no QUIC listener', () => {
    const bootstrap = parse(readFileSync(path.join(FIXTURES, 'standalone-envoy', 'out.yaml'), 'utf8'));
    const withSelector = bootstrap.static_resources.listeners.filter((l: any) => l.filter_chains?.some((c: any) => c.transport_socket?.typed_config?.common_tls_context?.[SELECTOR]));
    expect(withSelector.length).toBeGreaterThan(0);
    for (const listener of withSelector) {
      for (const chain of listener.filter_chains) {
        expect(chain.transport_socket.typed_config).toMatchObject({ disable_stateless_session_resumption: true, disable_stateful_session_resumption: true });
      }
      expect(listener.address.socket_address.protocol).toBeUndefined();
      expect(listener.udp_listener_config).toBeUndefined();
    }
  });
});
