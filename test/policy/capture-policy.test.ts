import { DEFAULT_RULE, decideCapture, type PolicyRequest } from '../../src/policy/capture-decision';
import { CapturePolicyError, DEFAULT_USAGE_HEADERS, parseCapturePolicy } from '../../src/policy/capture-policy';
import { compileHostPattern } from '../../src/policy/host-pattern';
import { EXAMPLE_POLICY } from './policy-traffic';

const policy = parseCapturePolicy(EXAMPLE_POLICY, 'policy.yaml');

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    authority: 'api.openai.com',
    path: '/v1/chat/completions',
    method: 'POST',
    workload: { namespace: 'hr', name: 'payroll', kind: 'Deployment' },
    provider: 'openai',
    optOut: undefined,
    ...overrides,
  };
}

describe('capture decision', () => {
  it('applies the first matching rule, with its retention over the level default', () => {
    expect(decideCapture(policy, request())).toEqual({ level: 'usage', rule: 'hr-to-openai', maxBytes: undefined, retentionDays: 30, optOut: 'none' });
  });

  it('needs every match field to match', () => {
    for (const change of [{ authority: 'api.anthropic.com' }, { path: '/v2/x' }, { method: 'GET' }, { workload: { namespace: 'sales' } }, { provider: 'anthropic' }]) {
      expect(decideCapture(policy, request(change))).toMatchObject({ level: 'full', rule: DEFAULT_RULE, retentionDays: 7 });
    }
  });

  it('matches workload name and kind when the rule names them', () => {
    const named = parseCapturePolicy('rules: [{ name: one, match: { workload: { name: payroll, kind: Deployment } }, capture: headers }]', 'p');
    expect(decideCapture(named, request()).level).toBe('headers');
    expect(decideCapture(named, request({ workload: { namespace: 'hr', name: 'payroll', kind: 'Pod' } })).level).toBe('full');
    expect(decideCapture(named, request({ workload: {} })).level).toBe('full');
  });

  it('lets an earlier, narrower rule carve an exception out of a later glob', () => {
    expect(decideCapture(policy, request({ authority: 'bedrock-runtime.us-east-1.amazonaws.com', provider: 'aws.bedrock' }))).toMatchObject({ level: 'full', rule: 'bedrock', maxBytes: 1024 });
    expect(decideCapture(policy, request({ authority: 's3.eu-west-1.amazonaws.com:443', provider: '' }))).toMatchObject({
      level: 'headers',
      rule: 'aws',
      maxBytes: undefined,
      retentionDays: undefined,
    });
  });

  it('keeps nothing and retains nothing at none', () => {
    expect(decideCapture(policy, request({ path: '/healthz/live' }))).toEqual({ level: 'none', rule: 'health', maxBytes: undefined, retentionDays: undefined, optOut: 'none' });
  });

  it('lets a workload lower its level when the policy allows it, never raise it', () => {
    expect(decideCapture(policy, request({ optOut: 'none' }))).toMatchObject({ level: 'none', optOut: 'applied' });
    expect(decideCapture(policy, request({ optOut: 'Full' }))).toMatchObject({ level: 'usage', optOut: 'ignored_not_lower' });
    expect(decideCapture(policy, request({ optOut: 'usage' }))).toMatchObject({ level: 'usage', optOut: 'ignored_not_lower' });
    expect(decideCapture(policy, request({ optOut: 'everything' }))).toMatchObject({ level: 'usage', optOut: 'ignored_invalid' });
    const strict = parseCapturePolicy('default: full', 'p');
    expect(decideCapture(strict, request({ optOut: 'none' }))).toMatchObject({ level: 'full', optOut: 'refused_not_allowed' });
  });

  it('defaults to full capture with the usage header allow-list', () => {
    const empty = parseCapturePolicy('{}', 'p');
    expect(empty).toMatchObject({ default: 'full', allowRequestOptOut: false, usageHeaders: DEFAULT_USAGE_HEADERS, rules: [] });
  });
});

describe('authority patterns', () => {
  it('match whole labels, ignore case and port unless the pattern has one', () => {
    const aws = compileHostPattern('*.amazonaws.com');
    expect(aws.matches('S3.AmazonAWS.com')).toBe(true);
    expect(aws.matches('a.b.amazonaws.com:443')).toBe(true);
    expect(aws.matches('amazonaws.com')).toBe(false);
    expect(aws.matches('evilamazonaws.com')).toBe(false);
    const withPort = compileHostPattern('llm.internal:8443');
    expect(withPort.matches('llm.internal:8443')).toBe(true);
    expect(withPort.matches('llm.internal')).toBe(false);
    expect(compileHostPattern('api.openai.com').matches('api.openai.com.evil.test')).toBe(false);
  });
});

describe('an invalid policy', () => {
  const problemsOf = (text: string): readonly string[] => {
    try {
      parseCapturePolicy(text, 'policy.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(CapturePolicyError);
      expect((err as Error).message).toMatch(/^policy\.yaml: invalid capture policy:/);
      return (err as CapturePolicyError).problems;
    }
    throw new Error('the policy was accepted');
  };

  it('is refused with every problem, each naming the rule and field', () => {
    expect(
      problemsOf(`
default: most
rules:
  - name: a
    match: { methods: [post], host: x }
    capture: usage
  - name: b
    capture: full
    retentionDays: 0
`),
    ).toEqual([
      'default: "most" is not one of full, headers, usage, none',
      'rules[0].match.methods[0]: "post" is not an HTTP method in upper case (GET, POST, ...)',
      expect.stringMatching(/^rules\[0\]\.match\.host: /),
      'rules[1].retentionDays: 0 is below the minimum of 1',
    ]);
  });

  it('is refused for what only the whole file shows', () => {
    expect(
      problemsOf(`
rules:
  - { name: a, capture: usage, maxBytes: 10 }
  - { name: a, capture: none, retentionDays: 5 }
  - { name: c, match: { authority: "api*.openai.com" }, capture: full }
`),
    ).toEqual([
      'rules[0].maxBytes: applies to capture: full only (this rule captures usage)',
      'rules[1].name: "a" is already the name of rules[0]',
      'rules[1].retentionDays: a rule that captures none keeps no row to retain',
      'rules[2].match.authority: "api*.openai.com": "*" must stand for whole labels (like *.example.com)',
    ]);
  });

  it('is refused when it is not YAML or is empty', () => {
    expect(problemsOf('rules: [')).toEqual([expect.stringMatching(/^not YAML: /)]);
    expect(problemsOf('')).toEqual(['the file is empty']);
  });
});
