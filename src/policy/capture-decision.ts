/**
 * The level an exchange is captured at, decided once, when its request
 * headers arrive: everything a rule can match on is known then (authority,
 * path, method, the workload identity Envoy forwards as metadata, and the
 * provider detected from authority and path), and deciding that early is what
 * lets Envoy be told not to send bodies that would not be kept.
 */
import { keepsNoMoreThan, isCaptureLevel, type CaptureLevel } from './capture-level';
import type { CapturePolicy, PolicyRule } from './capture-policy';

/** The request header a workload may send to lower its own capture level, when the policy allows it. */
export const OPT_OUT_HEADER = 'x-egress-capture';

/** The rule name recorded when no rule matched. */
export const DEFAULT_RULE = 'default';

export interface PolicyRequest {
  authority: string;
  /** :path, query included (matched by prefix). */
  path: string;
  method: string;
  workload: { namespace?: string; name?: string; kind?: string };
  /** gen_ai.provider.name detected at request headers; '' for no model call. */
  provider: string;
  /** The opt-out header's value, undefined when absent. */
  optOut: string | undefined;
}

/** What became of a workload's opt-out header. */
export type OptOutOutcome = 'none' | 'applied' | 'refused_not_allowed' | 'ignored_not_lower' | 'ignored_invalid';

export interface CaptureDecision {
  level: CaptureLevel;
  /** The deciding rule's name, or DEFAULT_RULE. */
  rule: string;
  /** Body cap per direction for this exchange; undefined: the configured --max-bytes. */
  maxBytes: number | undefined;
  /** Days the row is kept; undefined: the store's --ttl-days. */
  retentionDays: number | undefined;
  optOut: OptOutOutcome;
}

/** The decision when no policy says otherwise: everything kept in full, for the store's --ttl-days. */
export const FULL_DEFAULT_DECISION: CaptureDecision = Object.freeze({ level: 'full', rule: DEFAULT_RULE, maxBytes: undefined, retentionDays: undefined, optOut: 'none' });

function ruleMatches(rule: PolicyRule, request: PolicyRequest): boolean {
  if (rule.authority !== undefined && !rule.authority.matches(request.authority)) return false;
  if (rule.pathPrefix !== undefined && !request.path.startsWith(rule.pathPrefix)) return false;
  if (rule.methods !== undefined && !rule.methods.has(request.method)) return false;
  if (rule.provider !== undefined && rule.provider !== request.provider) return false;
  const workload = rule.workload;
  if (workload !== undefined) {
    if (workload.namespace !== undefined && workload.namespace !== request.workload.namespace) return false;
    if (workload.name !== undefined && workload.name !== request.workload.name) return false;
    if (workload.kind !== undefined && workload.kind !== request.workload.kind) return false;
  }
  return true;
}

export function decideCapture(policy: CapturePolicy, request: PolicyRequest): CaptureDecision {
  const rule = policy.rules.find((candidate) => ruleMatches(candidate, request));
  let level = rule?.capture ?? policy.default;
  let optOut: OptOutOutcome = 'none';
  if (request.optOut !== undefined) {
    const asked = request.optOut.trim().toLowerCase();
    if (!isCaptureLevel(asked)) optOut = 'ignored_invalid';
    else if (!policy.allowRequestOptOut) optOut = 'refused_not_allowed';
    else if (asked === level || !keepsNoMoreThan(asked, level)) optOut = 'ignored_not_lower';
    else {
      level = asked;
      optOut = 'applied';
    }
  }
  return {
    level,
    rule: rule?.name ?? DEFAULT_RULE,
    maxBytes: level === 'full' ? rule?.maxBytes : undefined,
    retentionDays: level === 'none' ? undefined : ((rule?.capture === level ? rule.retentionDays : undefined) ?? policy.retentionDays[level]),
    optOut,
  };
}
