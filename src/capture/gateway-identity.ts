/**
 * Which gateway an exchange passed: the translator's standalone bootstrap
 * sends `<namespace>/<name>` of the EgressGateway as gRPC initial metadata on
 * every ext_proc call (and on the certificate minter's SDS stream), and the
 * service stores it in the row's Metadata, so rows of several gateways
 * sharing one capture service stay apart.
 */
export const GATEWAY_METADATA_HEADER = 'x-egress-capture-gateway';

/** The Metadata key the gateway is stored under, beside the forwarded `egress_capture.workload.*` keys. */
export const GATEWAY_METADATA_KEY = 'egress_capture.gateway';

/**
 * The dynamic metadata namespace the calling workload's identity arrives in
 * (the translator fills it from PROXY v2 TLVs); forwarded to ext_proc and
 * stored in Metadata as `egress_capture.workload.<field>`.
 */
export const WORKLOAD_METADATA_NAMESPACE = 'egress_capture.workload';

/** What a workload identity names, as Metadata keys. */
export type WorkloadField = 'namespace' | 'name' | 'kind' | 'uid';

export function workloadMetadataKey(field: WorkloadField): string {
  return `${WORKLOAD_METADATA_NAMESPACE}.${field}`;
}
