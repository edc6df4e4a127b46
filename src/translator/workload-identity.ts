// Workload identity from PROXY protocol v2.
//
// Workers that hand connections to the gateway prefix them with a PROXY v2 header whose
// custom TLVs (types 0xE0-0xE3, the range the PROXY protocol reserves for applications) name
// the calling workload. Envoy's proxy_protocol listener filter copies each TLV into the
// connection's dynamic metadata under one namespace; ext_proc forwards that namespace to the
// capture service (metadata_options.forwarding_namespaces falls back to connection metadata),
// which flattens it into the Metadata column as "egress_capture.workload.<key>".
//
//   namespace  egress_capture.workload
//   0xE0 -> namespace   Kubernetes namespace of the calling pod
//   0xE1 -> name        workload name (e.g. Deployment or sandbox name)
//   0xE2 -> kind        workload kind (e.g. Deployment, Pod, Sandbox)
//   0xE3 -> uid         workload UID

import { WORKLOAD_METADATA_NAMESPACE, type WorkloadField } from '../capture/gateway-identity';

export { WORKLOAD_METADATA_NAMESPACE };

export const WORKLOAD_TLVS: ReadonlyArray<{ type: number; key: WorkloadField }> = [
  { type: 0xe0, key: 'namespace' },
  { type: 0xe1, key: 'name' },
  { type: 0xe2, key: 'kind' },
  { type: 0xe3, key: 'uid' },
];

/** proxy_protocol listener filter `rules` (Envoy field names). */
export function proxyProtocolRules(): Array<Record<string, unknown>> {
  return WORKLOAD_TLVS.map((tlv) => ({
    tlv_type: tlv.type,
    on_tlv_present: { metadata_namespace: WORKLOAD_METADATA_NAMESPACE, key: tlv.key },
  }));
}
