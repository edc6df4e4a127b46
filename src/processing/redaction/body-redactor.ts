/**
 * Redacts secrets in decoded body text before it is stored or exported.
 *
 * Each match becomes `[REDACTED len=N hmac=<12 hex>]` (redaction-marker.ts),
 * where N is the secret's UTF-8 length and the keyed hash lets equal secrets
 * be correlated across rows of one installation without revealing them. The
 * marker holds no quote or backslash, so redacted JSON stays valid JSON.
 *
 * Built-in rules, applied in this order:
 *   json_secret_member  string values of JSON members named like api_key, apikey, password,
 *                       secret, token, access_token, client_secret (and *_api_key, *_password, ...)
 *   anthropic_key       sk-ant-…
 *   openai_key          sk-… (also sk-proj-…), only when the body holds a digit: "sk-learn-…" prose is left alone
 *   aws_access_key_id   AKIA… / ASIA… (20 characters)
 *   google_api_key      AIza… (39 characters)
 *   github_token        ghp_… gho_… ghu_… ghs_… ghr_…, github_pat_…
 *   slack_token         xoxa- xoxb- xoxp- xoxr- xoxs-
 *   jwt                 eyJ….eyJ….…
 * Callers can remove built-ins by name and add their own {name, pattern}; a
 * user pattern with a named group `secret` has only that group redacted.
 *
 * Linear time: every built-in pattern starts with a look-behind that fails
 * inside a token, so a failed attempt costs O(token) once per token, and no
 * pattern nests unbounded quantifiers. User patterns that nest them are
 * rejected, since V8's backtracking engine can take exponential time on them.
 */
import { redactionMarker } from './redaction-marker';
import { GenAiConfigError } from '../genai/errors';
import { describeError } from '../../errors';

export interface RedactionRule {
  /** Counter key; letters, digits, _ . - */
  name: string;
  /** JavaScript regular expression source. */
  pattern: string;
  /** Any of i, m, s, u; g and d are always added. */
  flags?: string;
}

export interface BodyRedactorOptions {
  /** Built-in rule names to switch off. */
  remove?: readonly string[];
  /** Rules to add after the built-ins; one with a built-in's name replaces it in place. */
  add?: readonly RedactionRule[];
}

export interface RedactionResult {
  text: string;
  /** Matches redacted per rule name; rules that matched nothing are absent. */
  redactions: Record<string, number>;
}

interface CompiledRule {
  name: string;
  regex: RegExp;
  /**
   * A cheap test that must pass for the rule to have any match; skips the
   * regex scan of bodies that cannot hold the secret (most of them).
   */
  mayMatch?: (text: string) => boolean;
  /** Built-ins can veto a match their pattern alone cannot rule out. */
  accept?: (m: RegExpExecArray) => boolean;
}

/** Normalised (lower case, no _ - .) member names that are secrets themselves. */
const SECRET_NAMES = new Set([
  'token',
  'secret',
  'password',
  'passwd',
  'pwd',
  'apikey',
  'authorization',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'sessiontoken',
  'bearertoken',
  'clientsecret',
  'secretkey',
  'privatekey',
  'accesskeysecret',
]);
/** Endings that make any member name a secret (openai_api_key, db_password, aws_secret_access_key). */
const SECRET_SUFFIXES = ['apikey', 'password', 'passwd', 'secret', 'accesstoken', 'refreshtoken', 'authtoken', 'sessiontoken', 'secretkey', 'secretaccesskey', 'privatekey'];

function isSecretName(name: string): boolean {
  const n = name.toLowerCase().replace(/[_.-]/g, '');
  return SECRET_NAMES.has(n) || SECRET_SUFFIXES.some((s) => n.endsWith(s));
}

/** A member name ending like a secret name, right before its colon: what json_secret_member needs to find. */
const SECRET_MEMBER_HINT = /(?:key|token|secret|pass(?:word|wd)?|pwd|authorization)[_.-]*"\s*:/i;

/**
 * One scan for anything any built-in rule could match: most bodies hold
 * none, and then no rule needs to look at all. It is the union of the
 * rules' own mayMatch tests: the key prefixes as they are written (those
 * tests are case-sensitive), and SECRET_MEMBER_HINT with its letters
 * spelled in both cases rather than with the i flag, which the engine scans
 * for more slowly (~15 % of this scan on a chat completion's bodies).
 */
const ANY_BUILT_IN_HINT =
  /sk-|AKIA|ASIA|AIza|gh[pousr]_|github_pat_|xox|eyJ|(?:[kK][eE][yY]|[tT][oO][kK][eE][nN]|[sS][eE][cC][rR][eE][tT]|[pP][aA][sS][sS](?:[wW][oO][rR][dD]|[wW][dD])?|[pP][wW][dD]|[aA][uU][tT][hH][oO][rR][iI][zZ][aA][tT][iI][oO][nN])[_.-]*"\s*:/;

const BUILT_IN: ReadonlyArray<{ name: string; source: string; flags?: string; accept?: (m: RegExpExecArray) => boolean; mayMatch?: (text: string) => boolean }> = [
  {
    name: 'json_secret_member',
    // "name" : "value" — value as the unrolled-loop JSON string body, which has exactly one parse per position.
    source: String.raw`"(?<name>[A-Za-z0-9_.\-]{1,64})"\s*:\s*"(?<secret>[^"\\]*(?:\\.[^"\\]*)*)"`,
    accept: (m) => isSecretName(m.groups?.['name'] ?? '') && (m.groups?.['secret'] ?? '') !== '',
    mayMatch: (text) => SECRET_MEMBER_HINT.test(text),
  },
  { name: 'anthropic_key', source: String.raw`(?<![A-Za-z0-9_\-])sk-ant-[A-Za-z0-9_\-]{20,}`, mayMatch: (text) => text.includes('sk-ant-') },
  {
    name: 'openai_key',
    source: String.raw`(?<![A-Za-z0-9_\-])sk-[A-Za-z0-9_\-]{20,}`,
    // Real keys are random: they always hold digits and letters. Hyphenated words ("sk-learn-...") do not.
    accept: (m) => /[0-9]/.test(m[0].slice(3)) && /[A-Za-z]/.test(m[0].slice(3)),
    mayMatch: (text) => text.includes('sk-'),
  },
  { name: 'aws_access_key_id', source: String.raw`(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`, mayMatch: (text) => text.includes('AKIA') || text.includes('ASIA') },
  { name: 'google_api_key', source: String.raw`(?<![A-Za-z0-9_\-])AIza[A-Za-z0-9_\-]{35}(?![A-Za-z0-9_\-])`, mayMatch: (text) => text.includes('AIza') },
  { name: 'github_token', source: String.raw`(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})`, mayMatch: (text) => /gh[pousr]_|github_pat_/.test(text) },
  { name: 'slack_token', source: String.raw`(?<![A-Za-z0-9\-])xox[abprs]-[A-Za-z0-9\-]{10,}`, mayMatch: (text) => text.includes('xox') },
  { name: 'jwt', source: String.raw`(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`, mayMatch: (text) => text.includes('eyJ') },
];

export const BUILT_IN_REDACTION_RULES: readonly string[] = BUILT_IN.map((r) => r.name);

/** The longest rule name accepted (characters): it becomes a map key in every row and a metric label. */
export const REDACTION_RULE_NAME_MAX_CHARS = 64;

const RULE_NAME = new RegExp(`^[A-Za-z0-9_.-]{1,${REDACTION_RULE_NAME_MAX_CHARS}}$`);

export class BodyRedactor {
  private readonly rules: CompiledRule[];

  /**
   * Throws GenAiConfigError (CAP_ERR_GENAI_REDACTION_RULE_INVALID) naming every bad rule and pattern.
   * `key`: the installation's redaction key (hex) the markers are made with.
   */
  constructor(
    options: BodyRedactorOptions = {},
    private readonly key?: string,
  ) {
    this.rules = compileRules(options);
  }

  get ruleNames(): string[] {
    return this.rules.map((r) => r.name);
  }

  redact(input: string): RedactionResult {
    let text = input;
    const redactions: Record<string, number> = {};
    const anyBuiltIn = ANY_BUILT_IN_HINT.test(text);
    for (const rule of this.rules) {
      if (rule.mayMatch !== undefined && (!anyBuiltIn || !rule.mayMatch(text))) continue;
      const out = applyRule(text, rule, this.key);
      if (out.count > 0) {
        redactions[rule.name] = out.count;
        text = out.text;
      }
    }
    return { text, redactions };
  }
}

function applyRule(text: string, rule: CompiledRule, key: string | undefined): { text: string; count: number } {
  const re = rule.regex;
  re.lastIndex = 0;
  const parts: string[] = [];
  let last = 0;
  let count = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex += 1;
      continue;
    }
    if (rule.accept !== undefined && !rule.accept(m)) continue;
    const span = m.indices?.groups?.['secret'] ?? m.indices?.[0];
    if (span === undefined || span[1] <= span[0]) continue;
    parts.push(text.slice(last, span[0]), redactionMarker(text.slice(span[0], span[1]), key));
    last = span[1];
    count += 1;
  }
  if (count === 0) return { text, count };
  parts.push(text.slice(last));
  return { text: parts.join(''), count };
}

function compileRules(options: BodyRedactorOptions): CompiledRule[] {
  const issues: string[] = [];
  const remove = options.remove ?? [];
  const add = options.add ?? [];
  if (!Array.isArray(remove)) issues.push(`remove must be a list of rule names, got ${JSON.stringify(remove)}`);
  if (!Array.isArray(add)) issues.push(`add must be a list of {name, pattern}, got ${JSON.stringify(add)}`);
  if (issues.length > 0) throw new GenAiConfigError('CAP_ERR_GENAI_REDACTION_RULE_INVALID', issues);

  const removed = new Set<string>();
  remove.forEach((name: unknown, i) => {
    if (typeof name !== 'string' || !BUILT_IN_REDACTION_RULES.includes(name)) {
      issues.push(`remove[${i}] ${JSON.stringify(name)} is not a built-in rule (${BUILT_IN_REDACTION_RULES.join(', ')})`);
    } else removed.add(name);
  });

  const user = new Map<string, CompiledRule>();
  add.forEach((raw: unknown, i) => {
    const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<RedactionRule>;
    const at = `add[${i}]`;
    if (typeof r.name !== 'string' || !RULE_NAME.test(r.name)) {
      issues.push(`${at}.name must be 1-${REDACTION_RULE_NAME_MAX_CHARS} of letters, digits, _ . -, got ${JSON.stringify(r.name)}`);
      return;
    }
    if (user.has(r.name)) {
      issues.push(`${at}.name ${JSON.stringify(r.name)} is used twice`);
      return;
    }
    const flags = r.flags ?? '';
    if (typeof flags !== 'string' || !/^[imsu]*$/.test(flags)) {
      issues.push(`rule ${JSON.stringify(r.name)}: flags must be any of i, m, s, u, got ${JSON.stringify(r.flags)}`);
      return;
    }
    if (typeof r.pattern !== 'string' || r.pattern === '') {
      issues.push(`rule ${JSON.stringify(r.name)}: pattern must be a non-empty regular expression, got ${JSON.stringify(r.pattern)}`);
      return;
    }
    let regex: RegExp;
    try {
      regex = new RegExp(r.pattern, `${flags}gd`);
    } catch (e) {
      issues.push(`rule ${JSON.stringify(r.name)}: pattern ${JSON.stringify(r.pattern)} is not a valid regular expression (${describeError(e)})`);
      return;
    }
    if (nestsUnboundedQuantifiers(r.pattern)) {
      issues.push(`rule ${JSON.stringify(r.name)}: pattern ${JSON.stringify(r.pattern)} repeats a group that itself repeats without bound, which can take exponential time`);
      return;
    }
    user.set(r.name, { name: r.name, regex });
  });
  if (issues.length > 0) throw new GenAiConfigError('CAP_ERR_GENAI_REDACTION_RULE_INVALID', issues);

  const rules: CompiledRule[] = [];
  for (const b of BUILT_IN) {
    if (removed.has(b.name)) continue;
    const replacement = user.get(b.name);
    if (replacement !== undefined) {
      rules.push(replacement);
      user.delete(b.name);
    } else {
      rules.push({ name: b.name, regex: new RegExp(b.source, `${b.flags ?? ''}gd`), accept: b.accept, mayMatch: b.mayMatch });
    }
  }
  rules.push(...user.values());
  return rules;
}

/**
 * Heuristic for the classic catastrophic shape: a group that contains an
 * unbounded quantifier (* + {n,}) and is itself quantified, e.g. (a+)+,
 * (\w+\s?)*, (?:x*y?){2,}. Escapes and character classes are skipped.
 */
export function nestsUnboundedQuantifiers(source: string): boolean {
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      i += 1;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c === '(') {
      stack.push(false);
      continue;
    }
    const unboundedHere = c === '*' || c === '+' || (c === '{' && /^\{\d*,\}/.test(source.slice(i, i + 12)));
    if (c === ')') {
      const inner = stack.pop() ?? false;
      const next = source[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      const repeats = next === '*' || next === '+' || (next === '{' && !/^\{(0|1)(,(0|1))?\}/.test(source.slice(i + 1, i + 8)));
      if (inner && quantified && repeats) return true;
      // A group containing an unbounded quantifier makes its parent contain one too.
      if (inner && stack.length > 0) stack[stack.length - 1] = true;
      continue;
    }
    if (unboundedHere && stack.length > 0) stack[stack.length - 1] = true;
  }
  return false;
}
