// ReferenceGrant: lets objects in the gateway namespace point at the capture Service or a CA
// Secret in another namespace.
import { GATEWAY_API, output, OutputObject } from './output-object';

export function buildReferenceGrant(
  name: string,
  namespace: string,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; name: string },
  why: string,
): OutputObject {
  return output(
    {
      apiVersion: `${GATEWAY_API}/v1beta1`,
      kind: 'ReferenceGrant',
      metadata: { name, namespace },
      spec: { from: [{ ...from }], to: [{ ...to }] },
    },
    why,
  );
}
