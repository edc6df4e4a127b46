/**
 * The capture policy file: which exchanges are kept at which level, for how
 * long. Rules are tried in order and the first that matches decides; an
 * exchange no rule matches gets `default`. The file is validated whole, and
 * every problem is reported with its path (`rules[2].match.methods[0]: ...`).
 *
 *   default: full                  # full | headers | usage | none
 *   allowRequestOptOut: false      # honour `x-egress-capture: <level>`, only ever lowering the level
 *   retentionDays: { full: 7, usage: 90 }   # per level; a level left out keeps --ttl-days
 *   usageHeaders: [content-type]   # header values kept at the usage level
 *   rules:
 *     - name: hr-to-openai
 *       match:                     # every field given must match; none given matches everything
 *         authority: api.openai.com          # exact, host:port, or *.example.com
 *         pathPrefix: /v1/
 *         methods: [POST]
 *         workload: { namespace: hr }        # from the gateway's workload identity (namespace, name, kind)
 *         provider: openai                   # the detected gen_ai.provider.name
 *       capture: usage
 *       maxBytes: 16384                      # body cap per direction (full only)
 *       retentionDays: 90
 */
import { parse as parseYaml } from 'yaml';
import { CaptureError } from '../errors';
import { arr, bool, checkValue, int, obj, str, type FieldSchema } from '../gateway/field-schema';
import type { Problem } from '../gateway/problems';
import { CAPTURE_LEVELS, type CaptureLevel } from './capture-level';
import { compileHostPattern, hostPatternProblem, type HostPattern } from './host-pattern';

/** Longest retention a rule may ask for (days): ten years, far past any audit requirement, short of overflow in TTL arithmetic. */
export const MAX_RETENTION_DAYS = 3650;
/** Rule names become metric labels and a LowCardinality column: keep them short and plain. */
const RULE_NAME = { regex: /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/, describe: 'a rule name (lower-case letters, digits, ".", "_", "-"; at most 64)' };
const METHOD = { regex: /^[A-Z]{1,20}$/, describe: 'an HTTP method in upper case (GET, POST, ...)' };
const HEADER_NAME = { regex: /^[a-z0-9!#$%&'*+.^_`|~-]+$/, describe: 'a lower-case header name' };

const level = (): FieldSchema => str({ enum: CAPTURE_LEVELS });
const days = (): FieldSchema => int(1, MAX_RETENTION_DAYS);

const POLICY_SCHEMA = obj({
  default: level(),
  allowRequestOptOut: bool(),
  retentionDays: obj(Object.fromEntries(CAPTURE_LEVELS.filter((name) => name !== 'none').map((name) => [name, days()]))),
  usageHeaders: arr(str({ pattern: HEADER_NAME })),
  rules: arr(
    obj(
      {
        name: str({ pattern: RULE_NAME }),
        match: obj({
          authority: str({ minLength: 1 }),
          pathPrefix: str({ pattern: { regex: /^\//, describe: 'a path starting with "/"' } }),
          methods: arr(str({ pattern: METHOD }), 1),
          workload: obj({ namespace: str({ minLength: 1 }), name: str({ minLength: 1 }), kind: str({ minLength: 1 }) }),
          provider: str({ minLength: 1 }),
        }),
        capture: level(),
        maxBytes: int(0),
        retentionDays: days(),
      },
      ['name', 'capture'],
    ),
  ),
});

export interface WorkloadMatch {
  namespace?: string;
  name?: string;
  kind?: string;
}

export interface PolicyRule {
  name: string;
  authority?: HostPattern;
  pathPrefix?: string;
  methods?: ReadonlySet<string>;
  workload?: WorkloadMatch;
  provider?: string;
  capture: CaptureLevel;
  maxBytes?: number;
  retentionDays?: number;
}

export interface CapturePolicy {
  default: CaptureLevel;
  allowRequestOptOut: boolean;
  /** Per level; a level absent here keeps the store's --ttl-days. */
  retentionDays: Partial<Record<CaptureLevel, number>>;
  /** Lower-case header names whose values a usage-level row keeps. */
  usageHeaders: readonly string[];
  rules: readonly PolicyRule[];
  /**
   * Whether deciding needs the model provider: a rule matches on it, or the
   * usage level can be reached (it keeps the answer of a model call only).
   * Without it the event loop never runs provider detection.
   */
  needsProvider: boolean;
}

/** What applies when no policy file is given: today's behaviour, everything kept in full. */
export const FULL_CAPTURE_POLICY: CapturePolicy = Object.freeze({
  default: 'full',
  allowRequestOptOut: false,
  retentionDays: {},
  usageHeaders: [],
  rules: [],
  needsProvider: false,
});

/** Header values kept at the usage level when the file names none: enough to correlate a row, nothing a secret hides in. */
export const DEFAULT_USAGE_HEADERS: readonly string[] = ['content-type', 'x-request-id', 'traceparent', 'user-agent'];

/** An invalid policy file: every problem, each with the rule and field it is about. */
export class CapturePolicyError extends CaptureError {
  constructor(
    readonly source: string,
    problems: readonly string[],
  ) {
    super('CAP_ERR_POLICY_INVALID', `${source}: invalid capture policy:\n  ${problems.join('\n  ')}`, { problems });
    this.name = 'CapturePolicyError';
  }
}

interface RawRule {
  name: string;
  match?: { authority?: string; pathPrefix?: string; methods?: string[]; workload?: WorkloadMatch; provider?: string };
  capture: CaptureLevel;
  maxBytes?: number;
  retentionDays?: number;
}

interface RawPolicy {
  default?: CaptureLevel;
  allowRequestOptOut?: boolean;
  retentionDays?: Partial<Record<CaptureLevel, number>>;
  usageHeaders?: string[];
  rules?: RawRule[];
}

/** Checks that the schema cannot express: unique names, host patterns, maxBytes only where it means something. */
function ruleProblems(rules: readonly RawRule[]): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  rules.forEach((rule, index) => {
    const path = `rules[${index}]`;
    const earlier = seen.get(rule.name);
    if (earlier !== undefined) problems.push({ path: `${path}.name`, message: `${JSON.stringify(rule.name)} is already the name of rules[${earlier}]` });
    else seen.set(rule.name, index);
    const authority = rule.match?.authority;
    if (authority !== undefined) {
      const problem = hostPatternProblem(authority);
      if (problem !== undefined) problems.push({ path: `${path}.match.authority`, message: problem });
    }
    if (rule.maxBytes !== undefined && rule.capture !== 'full') {
      problems.push({ path: `${path}.maxBytes`, message: `applies to capture: full only (this rule captures ${rule.capture})` });
    }
    if (rule.retentionDays !== undefined && rule.capture === 'none') {
      problems.push({ path: `${path}.retentionDays`, message: 'a rule that captures none keeps no row to retain' });
    }
  });
  return problems;
}

function compileRule(rule: RawRule): PolicyRule {
  const match = rule.match ?? {};
  return {
    name: rule.name,
    ...(match.authority !== undefined ? { authority: compileHostPattern(match.authority) } : {}),
    ...(match.pathPrefix !== undefined ? { pathPrefix: match.pathPrefix } : {}),
    ...(match.methods !== undefined ? { methods: new Set(match.methods) } : {}),
    ...(match.workload !== undefined ? { workload: match.workload } : {}),
    ...(match.provider !== undefined ? { provider: match.provider } : {}),
    capture: rule.capture,
    ...(rule.maxBytes !== undefined ? { maxBytes: rule.maxBytes } : {}),
    ...(rule.retentionDays !== undefined ? { retentionDays: rule.retentionDays } : {}),
  };
}

/** Parses and validates a policy file's text; throws CapturePolicyError listing every problem. */
export function parseCapturePolicy(text: string, source: string): CapturePolicy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new CapturePolicyError(source, [`not YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`]);
  }
  if (document === null || document === undefined) throw new CapturePolicyError(source, ['the file is empty']);
  const problems: Problem[] = [];
  checkValue(document, POLICY_SCHEMA, '', problems);
  if (problems.length === 0) problems.push(...ruleProblems((document as RawPolicy).rules ?? []));
  if (problems.length > 0)
    throw new CapturePolicyError(
      source,
      problems.map((p) => (p.path === '' ? p.message : `${p.path}: ${p.message}`)),
    );
  const raw = document as RawPolicy;
  const rules = (raw.rules ?? []).map(compileRule);
  const level = raw.default ?? 'full';
  const allowRequestOptOut = raw.allowRequestOptOut ?? false;
  return {
    default: level,
    allowRequestOptOut,
    retentionDays: raw.retentionDays ?? {},
    usageHeaders: (raw.usageHeaders ?? DEFAULT_USAGE_HEADERS).map((name) => name.toLowerCase()),
    rules,
    needsProvider: allowRequestOptOut || level === 'usage' || rules.some((rule) => rule.provider !== undefined || rule.capture === 'usage'),
  };
}
