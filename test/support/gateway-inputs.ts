// EgressGateway inputs shared by the translator and deploy tests.

/** Two gateways in different namespaces sending to the default capture service; the second's OTLP endpoint can be made to differ. */
export function twoGateways(secondEndpoint = 'https://otel.example.com'): string {
  const gateway = (namespace: string, name: string, endpoint: string) => `apiVersion: clrk.apoxy.dev/v1alpha1
kind: EgressGateway
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  defaultPolicy: allow-all
  listeners:
  - name: proxy
    protocol: HTTP
    port: 3128
  otlp:
    endpoint: ${endpoint}
    headers:
      authorization: Bearer REPLACE-ME
`;
  return `${gateway('sandbox', 'agents', 'https://otel.example.com')}---\n${gateway('ci', 'builders', secondEndpoint)}`;
}
