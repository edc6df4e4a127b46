// The status summary: one line per input resource (or route attachment) saying whether it was
// used, and if not, why. `translate --status` prints it; losers also produce warnings.

export type StatusState = 'Accepted' | 'Conflicted' | 'NotAccepted';

export interface StatusEntry {
  kind: string;
  /** "ns/name" or "name" for cluster-scoped kinds. */
  name: string;
  /** For route attachments: the EgressGateway listener, "ns/gateway/listener". */
  parent?: string;
  state: StatusState;
  reason: string;
  message: string;
  /** EgressRouter: the Available / Progressing / Degraded conditions its API defines. */
  conditions?: StatusCondition[];
}

export function formatStatusEntry(entry: StatusEntry): string {
  const parent = entry.parent ? ` -> ${entry.parent}` : '';
  return `${entry.kind} ${entry.name}${parent}: ${entry.state} (${entry.reason}) ${entry.message}`;
}

export function statusSortKey(entry: StatusEntry): string {
  return `${entry.kind}\u0000${entry.name}\u0000${entry.parent ?? ''}`;
}

/** A Kubernetes-style condition, for kinds whose API defines them (EgressRouter). */
export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}
