/**
 * The part of a capture policy Envoy can apply itself (`translate --target
 * envoy --capture-policy FILE`): leading rules that capture `none` and match
 * only on what a route sees (authority, path prefix, methods) become routes
 * ahead of the catch-all with ext_proc disabled, so those exchanges never
 * reach the capture service at all.
 *
 * Only the leading run of such rules: the first rule wins, and a rule of
 * another level, or one matching on the workload or the provider (known only
 * to the service), may take traffic a later `none` rule also matches; from
 * that rule on the service decides (for `none` it ends the ext_proc call
 * after the request headers, the cheapest it can do).
 */
import type { CapturePolicy, PolicyRule } from '../policy/capture-policy';

export interface EnvoySideRule {
  name: string;
  /** An Envoy RouteMatch. */
  match: Record<string, unknown>;
}

export interface PolicyRoutes {
  /** Rules Envoy applies, in order. */
  envoySide: EnvoySideRule[];
  /** Rules left to the capture service, by name. */
  serviceSide: string[];
}

function envoyCanMatch(rule: PolicyRule): boolean {
  return rule.capture === 'none' && rule.workload === undefined && rule.provider === undefined;
}

function routeMatch(rule: PolicyRule): Record<string, unknown> {
  const headers: Array<Record<string, unknown>> = [];
  if (rule.authority !== undefined) headers.push({ name: ':authority', string_match: { safe_regex: { regex: rule.authority.authorityRegex } } });
  if (rule.methods !== undefined) headers.push({ name: ':method', string_match: { safe_regex: { regex: `^(${[...rule.methods].join('|')})$` } } });
  return { prefix: rule.pathPrefix ?? '/', ...(headers.length > 0 ? { headers } : {}) };
}

export function policyRoutes(policy: CapturePolicy | undefined): PolicyRoutes {
  const rules = policy?.rules ?? [];
  let leading = 0;
  while (leading < rules.length && envoyCanMatch(rules[leading]!)) leading += 1;
  return {
    envoySide: rules.slice(0, leading).map((rule) => ({ name: rule.name, match: routeMatch(rule) })),
    serviceSide: rules.slice(leading).map((rule) => rule.name),
  };
}
