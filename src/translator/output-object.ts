// One generated object plus the comment printed above it (why it exists, what it cannot say).

export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } & Record<string, unknown> };

export interface OutputObject<T extends Record<string, unknown> = KubeObject> {
  object: T;
  /** Lines printed as "# ..." above the object. */
  comment: string[];
}

export function output(object: KubeObject, ...comment: string[]): OutputObject {
  return { object, comment };
}

export const GATEWAY_API = 'gateway.networking.k8s.io';
export const ENVOY_GATEWAY = 'gateway.envoyproxy.io';
export const ENVOY_GATEWAY_VERSION = 'gateway.envoyproxy.io/v1alpha1';

export function objectRef(group: string, kind: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { group, kind, name, ...extra };
}
