import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS } from '../../src/config/defaults';
import { loadConfig, type GatewayContribution } from '../../src/config/load-config';
import { CaptureError } from '../../src/errors';
import { gatewayContribution } from '../../src/cli/command-config';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).code).toBe('CAP_ERR_CONFIG_INVALID');
    return (err as Error).message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({ argv: [], env: {} });
    expect(config.grpcListen).toEqual({ host: '0.0.0.0', port: 9002 });
    expect(config.adminListen).toEqual({ host: '127.0.0.1', port: 9003 });
    expect(config.dataDir).toBe('./data');
    expect(config.maxBytes).toBe(65536);
    expect(config.includeContentTypes).toEqual(['application/json', 'application/x-ndjson', 'text/event-stream', 'application/vnd.amazon.eventstream']);
    expect(config.grpcMaxReceiveMessageBytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });

  it('gives flags precedence over env, and env over the gateway manifest', () => {
    const gateway: GatewayContribution = {
      gatewayName: 'gw',
      gatewayNamespace: 'ns',
      maxBytes: 1000,
      includeContentTypes: ['application/xml'],
      otlpEndpoint: 'http://collector:4318',
      otlpHeaders: {},
    };
    const fromGateway = loadConfig({ argv: ['--gateway', 'gw.yaml'], env: {}, loadGateway: () => gateway });
    expect(fromGateway.maxBytes).toBe(1000);
    expect(fromGateway.includeContentTypes).toEqual(['application/xml']);
    expect(fromGateway.gatewayName).toBe('gw');

    const fromEnv = loadConfig({ argv: ['--gateway', 'gw.yaml'], env: { EGRESS_CAPTURE_MAX_BYTES: '2000' }, loadGateway: () => gateway });
    expect(fromEnv.maxBytes).toBe(2000);
    expect(fromEnv.includeContentTypes).toEqual(['application/xml']);

    const fromFlag = loadConfig({ argv: ['--gateway', 'gw.yaml', '--max-bytes', '3000'], env: { EGRESS_CAPTURE_MAX_BYTES: '2000' }, loadGateway: () => gateway });
    expect(fromFlag.maxBytes).toBe(3000);
  });

  it('takes a Unix domain socket for the ext_proc listener, absolute paths only', () => {
    expect(loadConfig({ argv: ['--grpc-listen', 'unix:/run/egress/ext_proc.sock'], env: {} }).grpcListen).toEqual({ unixPath: '/run/egress/ext_proc.sock' });
    expect(loadConfig({ argv: [], env: { EGRESS_CAPTURE_GRPC_LISTEN: 'unix:///tmp/x.sock' } }).grpcListen).toEqual({ unixPath: '/tmp/x.sock' });
    expect(problemsOf(() => loadConfig({ argv: ['--grpc-listen', 'unix:relative.sock'], env: {} }))).toEqual(['--grpc-listen: "unix:relative.sock" expected HOST:PORT or unix:/ABSOLUTE/PATH']);
    // The admin port stays TCP: it serves people and dashboards, not a co-located Envoy.
    expect(problemsOf(() => loadConfig({ argv: ['--admin-listen', 'unix:/tmp/admin.sock'], env: {} }))).toEqual(['--admin-listen: "unix:/tmp/admin.sock" expected HOST:PORT']);
  });

  it('names every bad field and value in one error', () => {
    const problems = problemsOf(() =>
      loadConfig({
        argv: ['--max-bytes', '64k', '--grpc-listen', 'nowhere', '--include-content-types', 'json'],
        env: { EGRESS_CAPTURE_LOG_LEVEL: 'loud', EGRESS_CAPTURE_CLICKHOUSE_URL: 'ftp://x' },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        '--max-bytes: "64k" expected a whole number from 0 to 67108864',
        '--grpc-listen: "nowhere" expected HOST:PORT',
        '--include-content-types: "json" "json" is not a media type (type/subtype)',
        'EGRESS_CAPTURE_LOG_LEVEL (env): "loud" not one of fatal, error, warn, info, debug, trace, silent',
        'EGRESS_CAPTURE_CLICKHOUSE_URL (env): "ftp://x" expected an http:// or https:// URL',
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('refuses an admin password without a user, or a user without a password, naming both and never the password', () => {
    // A password alone used to turn authentication off without a word.
    const passwordOnly = problemsOf(() => loadConfig({ argv: ['--admin-password', 's3cret-value'], env: {} }));
    expect(passwordOnly).toEqual([expect.stringMatching(/^--admin-password: "\(hidden\)" expected together with --admin-user \(EGRESS_CAPTURE_ADMIN_USER\)/)]);
    const fromEnv = problemsOf(() => loadConfig({ argv: [], env: { EGRESS_CAPTURE_ADMIN_PASSWORD: 's3cret-value' } }));
    expect(fromEnv).toEqual([expect.stringMatching(/^EGRESS_CAPTURE_ADMIN_PASSWORD \(env\): "\(hidden\)" expected together with --admin-user/)]);
    for (const problem of [...passwordOnly, ...fromEnv]) expect(problem).not.toContain('s3cret-value');

    const userOnly = problemsOf(() => loadConfig({ argv: ['--admin-user', 'ops'], env: {} }));
    expect(userOnly).toEqual([expect.stringMatching(/^--admin-user: "ops" expected together with --admin-password \(EGRESS_CAPTURE_ADMIN_PASSWORD\)/)]);

    const both = loadConfig({ argv: ['--admin-user', 'ops'], env: { EGRESS_CAPTURE_ADMIN_PASSWORD: 's3cret-value' } });
    expect([both.adminUser, both.adminPassword]).toEqual(['ops', 's3cret-value']);
    expect(loadConfig({ argv: [], env: {} }).adminUser).toBe('');
  });

  it('names the flag, the value and the expected form for malformed arguments', () => {
    // These used to be the argument parser's "ambiguous" and "Unexpected argument 'yes'" texts.
    expect(problemsOf(() => loadConfig({ argv: ['--max-bytes', '-5'], env: {} }))).toEqual(['--max-bytes: "-5" expected a whole number from 0 to 67108864']);
    expect(problemsOf(() => loadConfig({ argv: ['--admin-allow-writes', 'yes'], env: {} }))).toEqual([
      '--admin-allow-writes: "yes" unexpected: a switch, expected --admin-allow-writes alone or --admin-allow-writes=true|false',
    ]);
    expect(problemsOf(() => loadConfig({ argv: ['--admin-allow-writes=maybe'], env: {} }))).toEqual(['--admin-allow-writes: "maybe" expected true or false']);
    expect(loadConfig({ argv: ['--admin-allow-writes=false'], env: {} }).adminAllowWrites).toBe(false);
    expect(loadConfig({ argv: ['--admin-allow-writes'], env: {} }).adminAllowWrites).toBe(true);
    expect(loadConfig({ argv: ['--max-bytes=100'], env: {} }).maxBytes).toBe(100);
    expect(problemsOf(() => loadConfig({ argv: ['--max-bytes'], env: {} }))).toEqual([expect.stringMatching(/^--max-bytes: value expected: /)]);
    expect(problemsOf(() => loadConfig({ argv: ['stray'], env: {} }))).toEqual([expect.stringMatching(/^"stray": unexpected argument, expected --OPTION VALUE/)]);
  });

  it('takes the remote store layout, and refuses layout options that would be ignored or cannot work', () => {
    const config = loadConfig({
      argv: ['--clickhouse-url', 'http://ch:8123/capture', '--clickhouse-cluster', 'c1', '--clickhouse-engine', 'ReplicatedMergeTree', '--clickhouse-distributed'],
      env: { EGRESS_CAPTURE_NO_CREATE_SCHEMA: 'true' },
    });
    expect(config).toMatchObject({ clickhouseCluster: 'c1', clickhouseEngine: 'ReplicatedMergeTree', clickhouseDistributed: true, noCreateSchema: true, clickhouseReplicaName: '{replica}' });
    expect(problemsOf(() => loadConfig({ argv: ['--clickhouse-cluster', 'c1', '--no-create-schema'], env: {} }))).toEqual([
      '--clickhouse-cluster: "c1" applies to a remote store only (set --clickhouse-url; the embedded store is one MergeTree table)',
      '--no-create-schema: "true" applies to a remote store only (set --clickhouse-url; the embedded store is one MergeTree table)',
    ]);
    expect(problemsOf(() => loadConfig({ argv: ['--clickhouse-url', 'http://ch:8123/', '--clickhouse-distributed', '--clickhouse-engine', 'SharedMergeTree'], env: {} }))).toEqual([
      '--clickhouse-distributed: "true" needs --clickhouse-cluster: a Distributed table spans the shards of a named cluster',
      '--clickhouse-distributed: "true" does not go with --clickhouse-engine SharedMergeTree: a ClickHouse Cloud service is one shard; write to its table directly',
    ]);
    // Given but empty (an unset variable in a manifest's args) is a mistake, not the embedded store.
    expect(problemsOf(() => loadConfig({ argv: ['--clickhouse-url='], env: {} }))).toEqual([
      '--clickhouse-url: "" is empty: expected http(s)://user:password@host:8123/database, or leave the option out for the embedded store',
    ]);
  });

  it('rejects unknown flags', () => {
    expect(problemsOf(() => loadConfig({ argv: ['--max-byte', '1'], env: {} }))).toEqual(['--max-byte: unknown option (see egress-capture serve --help)']);
  });

  it('adds --redact-headers to the built-in list instead of replacing it', () => {
    const config = loadConfig({ argv: ['--redact-headers', 'X-Internal-Token'], env: {} });
    expect(config.redactHeaders).toEqual([...DEFAULTS.redactHeaders, 'x-internal-token']);
  });

  it('reads captureBody from a real EgressGateway manifest and reports its problems by path', () => {
    const example = path.join(REPO_ROOT, 'deploy', 'examples', 'egress-gateway.yaml');
    const config = loadConfig({ argv: ['--gateway', example], env: {}, loadGateway: gatewayContribution });
    expect(config.gatewayName).not.toBe('');
    expect(config.maxBytes).toBeGreaterThan(0);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-config-'));
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, ['apiVersion: clrk.apoxy.dev/v1alpha1', 'kind: EgressGateway', 'metadata: {name: gw}', 'spec:', '  otlp:', '    captureBody:', '      maxBytes: -5'].join('\n'));
    const problems = problemsOf(() => loadConfig({ argv: ['--gateway', bad], env: {}, loadGateway: gatewayContribution }));
    expect(problems.some((problem) => problem.startsWith(`--gateway ${bad}:`) && problem.includes('maxBytes'))).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an invalid capture policy with each rule and field named, and finds a valid one beside the --gateway manifest', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-config-'));
    const policy = path.join(dir, 'policy.yaml');
    fs.writeFileSync(policy, ['default: most', 'rules:', '  - name: Health', '    match: { methods: [get] }', '    capture: usage', '    maxBytes: 10'].join('\n'));
    expect(problemsOf(() => loadConfig({ argv: ['--capture-policy', policy], env: {} }))).toEqual([
      `--capture-policy ${policy}: default: "most" is not one of full, headers, usage, none`,
      `--capture-policy ${policy}: rules[0].name: "Health" is not a rule name (lower-case letters, digits, ".", "_", "-"; at most 64)`,
      `--capture-policy ${policy}: rules[0].match.methods[0]: "get" is not an HTTP method in upper case (GET, POST, ...)`,
    ]);
    const gateway = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(
      gateway,
      [
        'apiVersion: clrk.apoxy.dev/v1alpha1',
        'kind: EgressGateway',
        'metadata: {name: gw, namespace: default}',
        'spec:',
        '  defaultPolicy: allow-all',
        '  listeners: [{name: web, protocol: HTTP, port: 80}]',
      ].join('\n'),
    );
    expect(loadConfig({ argv: ['--gateway', gateway], env: {}, loadGateway: gatewayContribution }).capturePolicyPath).toBe('');
    fs.writeFileSync(path.join(dir, 'capture-policy.yaml'), 'default: headers\n');
    expect(loadConfig({ argv: ['--gateway', gateway], env: {}, loadGateway: gatewayContribution }).capturePolicyPath).toBe(path.join(dir, 'capture-policy.yaml'));
    // The flag wins over the file beside the manifest.
    fs.writeFileSync(policy, 'default: usage\n');
    expect(loadConfig({ argv: ['--gateway', gateway, '--capture-policy', policy], env: {}, loadGateway: gatewayContribution }).capturePolicyPath).toBe(policy);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports the --gateway manifest and the GenAI files through one path, every problem as --FLAG FILE: problem', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-config-'));
    const gateway = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(gateway, ['apiVersion: clrk.apoxy.dev/v1alpha1', 'kind: EgressGateway', 'metadata: {name: gw}', 'spec:', '  otlp:', '    captureBody:', '      maxBytes: -5'].join('\n'));
    const mapping = path.join(dir, 'mapping.yaml');
    fs.writeFileSync(mapping, 'authority: not-a-list\n');
    const rules = path.join(dir, 'missing-rules.yaml');
    const problems = problemsOf(() => loadConfig({ argv: ['--gateway', gateway, '--provider-mapping', mapping, '--body-redaction-rules', rules], env: {}, loadGateway: gatewayContribution }));
    expect(problems.filter((problem) => problem.startsWith(`--gateway ${gateway}: `)).length).toBeGreaterThan(0);
    expect(problems).toContain(`--provider-mapping ${mapping}: expected a YAML list of {authority, pathPrefix, provider, api}`);
    expect(problems.filter((problem) => problem.startsWith(`--body-redaction-rules ${rules}: `) && problem.includes('ENOENT'))).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
