/**
 * Builds the RuntimeConfig with the precedence flags > environment >
 * --gateway manifest > defaults, validating every value on the way: the
 * options through their parsers (src/config/options.ts), the files they name
 * (the --gateway manifest, the GenAI mapping and rule files) through one
 * loader each, read by the same validators the service uses. All problems
 * are collected and reported together, each naming the field (flag and env
 * twin, or file and path inside it) and the offending value, so one restart
 * fixes everything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CAPTURE_POLICY_BESIDE_GATEWAY, CapturePolicySource } from '../policy/policy-source';
import { BodyRedactor, type BodyRedactorOptions } from '../processing/redaction/body-redactor';
import { ProviderDetector, type ProviderMappingEntry } from '../processing/genai/provider-detection';
import { CaptureError, describeError } from '../errors';
import { FLAG_OPTIONS, OPTIONS, optionDefaults, type FlagEntry, type OptionKey, type OptionValues } from './options';
import { isParseError } from './option-parsers';
import { deriveConfig, noLoadedSettings, type ConfigInput, type RuntimeConfig } from './runtime-config';

export { formatListen } from '../listen-address';

type Source = 'flag' | 'env' | 'gateway';

/** Settings a gateway manifest contributes (below env and flags in precedence). */
export interface GatewayContribution {
  gatewayName: string;
  gatewayNamespace: string;
  maxBytes: number;
  includeContentTypes: string[];
  otlpEndpoint: string;
  otlpHeaders: Record<string, string>;
}

export type GatewayLoader = (file: string) => GatewayContribution;

export interface LoadConfigInput {
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Reads and validates the --gateway manifest; throws an error with a `problems` list when invalid. */
  loadGateway?: GatewayLoader;
}

/**
 * Returns the validated configuration or throws CaptureError
 * CAP_ERR_CONFIG_INVALID whose message lists every problem, one per line.
 */
export function loadConfig(input: LoadConfigInput): RuntimeConfig {
  const problems: string[] = [];
  const flagValues = readFlags(input.argv, problems);

  const values: OptionValues = optionDefaults();
  const explicit = new Map<OptionKey, Source>();

  const apply = (entry: FlagEntry, raw: string, source: Source): void => {
    const result = entry.spec.parse(raw);
    if (isParseError(result)) {
      const where = source === 'flag' ? `--${entry.spec.flag}` : `${entry.env} (env)`;
      problems.push(`${where}: "${raw}" ${result.error}`);
      return;
    }
    (values as unknown as Record<string, unknown>)[entry.key] = result;
    explicit.set(entry.key, source);
  };

  // Env first, flags second: the later write wins, which gives flags > env.
  for (const entry of FLAG_OPTIONS) {
    const raw = input.env[entry.env];
    if (raw !== undefined && raw !== '') apply(entry, raw, 'env');
  }
  for (const entry of FLAG_OPTIONS) {
    const raw = flagValues[entry.spec.flag];
    if (raw !== undefined) apply(entry, String(raw), 'flag');
  }

  checkAdminCredentials(values, explicit, problems);
  checkTlsFiles(
    { cert: ['grpc-tls-cert-file', values.grpcTlsCertFile], key: ['grpc-tls-key-file', values.grpcTlsKeyFile], clientCa: ['grpc-tls-client-ca-file', values.grpcTlsClientCaFile] },
    problems,
  );
  checkTlsFiles({ cert: ['admin-tls-cert-file', values.adminTlsCertFile], key: ['admin-tls-key-file', values.adminTlsKeyFile] }, problems);
  checkTlsFiles({ cert: ['sds-tls-cert', values.sdsTlsCertFile], key: ['sds-tls-key', values.sdsTlsKeyFile], clientCa: ['sds-client-ca', values.sdsClientCaFile] }, problems);
  checkCaSources(values, problems);
  checkStoreLayout(values, problems);

  const config: ConfigInput = { ...values, ...noLoadedSettings() };
  const loadGateway: GatewayLoader =
    input.loadGateway ??
    (() => {
      throw new Error('cannot be read: no gateway loader available');
    });
  const gateway = loadFile(OPTIONS.gatewayFile.flag, values.gatewayFile, loadGateway, problems);
  if (gateway !== undefined) {
    config.gatewayName = gateway.gatewayName;
    config.gatewayNamespace = gateway.gatewayNamespace;
    if (!explicit.has('maxBytes')) config.maxBytes = gateway.maxBytes;
    if (!explicit.has('includeContentTypes')) config.includeContentTypes = gateway.includeContentTypes.map((t) => t.toLowerCase());
    config.otlpEndpoint = gateway.otlpEndpoint;
    config.otlpHeaders = gateway.otlpHeaders;
  }
  config.providerMapping = loadFile(OPTIONS.providerMappingFile.flag, values.providerMappingFile, loadProviderMapping, problems) ?? [];
  config.bodyRedactionRules = loadFile(OPTIONS.bodyRedactionRulesFile.flag, values.bodyRedactionRulesFile, loadRedactionRules, problems) ?? {};
  config.capturePolicyPath = capturePolicyPath(values.capturePolicyFile, values.gatewayFile);
  // Validated here so a bad policy stops the start with the other problems; the service reads it again and watches it.
  loadFile(OPTIONS.capturePolicyFile.flag, config.capturePolicyPath, (file) => new CapturePolicySource(file), problems);

  if (problems.length > 0) {
    throw new CaptureError('CAP_ERR_CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  return deriveConfig(config);
}

/**
 * The one way a file named by an option is read and validated: the loader
 * throws an error whose `problems` (or `issues`) list says what is wrong
 * where in the file, and each becomes one line `--FLAG FILE: problem`.
 */
function loadFile<T>(flag: string, file: string, load: (file: string) => T, problems: string[]): T | undefined {
  if (file === '') return undefined;
  try {
    return load(file);
  } catch (err) {
    for (const problem of problemsOf(err)) problems.push(`--${flag} ${file}: ${problem}`);
    return undefined;
  }
}

function problemsOf(err: unknown): string[] {
  // Every validation error is a CaptureError listing its problems (the gateway manifest, the GenAI files).
  return err instanceof CaptureError && err.problems.length > 0 ? [...err.problems] : [describeError(err)];
}

/**
 * The policy file: the one --capture-policy names, else capture-policy.yaml
 * beside the --gateway manifest when that file exists (a ConfigMap holding
 * both is mounted as one directory), else none.
 */
function capturePolicyPath(explicit: string, gatewayFile: string): string {
  if (explicit !== '' || gatewayFile === '') return explicit;
  const beside = path.join(path.dirname(gatewayFile), CAPTURE_POLICY_BESIDE_GATEWAY);
  return fs.existsSync(beside) ? beside : '';
}

/** yaml is loaded only when one of these files is given. */
function readYaml(file: string): unknown {
  return (require('yaml') as typeof import('yaml')).parse(fs.readFileSync(file, 'utf8'));
}

/** --provider-mapping: validated by the ProviderDetector the workers build from it. */
function loadProviderMapping(file: string): ProviderMappingEntry[] {
  const parsed = readYaml(file);
  if (!Array.isArray(parsed)) throw new Error('expected a YAML list of {authority, pathPrefix, provider, api}');
  new ProviderDetector(parsed as ProviderMappingEntry[]);
  return parsed as ProviderMappingEntry[];
}

/** --body-redaction-rules: validated by the BodyRedactor the workers build from it. */
function loadRedactionRules(file: string): BodyRedactorOptions {
  const parsed = readYaml(file);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected a YAML mapping {remove: [...], add: [...]}');
  new BodyRedactor(parsed as BodyRedactorOptions);
  return parsed as BodyRedactorOptions;
}

/**
 * The flags as raw strings, by flag name; a later repeat wins. A string
 * option takes the next argument whatever it starts with (`--max-bytes -5`
 * is a bad number, reported by its parser with the range, not an
 * "ambiguous" argument); a switch stands alone or takes `=VALUE`. Every
 * problem names the flag, the value and the expected form.
 */
function readFlags(argv: string[], problems: string[]): Record<string, string> {
  const specs = new Map(FLAG_OPTIONS.map((entry) => [entry.spec.flag, entry]));
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (match === null) {
      const previous = i > 0 ? specs.get(argv[i - 1]!.replace(/^--/, '')) : undefined;
      problems.push(
        previous?.spec.switch === true
          ? `--${previous.spec.flag}: "${arg}" unexpected: a switch, expected --${previous.spec.flag} alone or --${previous.spec.flag}=true|false`
          : `"${arg}": unexpected argument, expected --OPTION VALUE (see egress-capture serve --help)`,
      );
      continue;
    }
    const [, name, inline] = match as unknown as [string, string, string | undefined];
    const entry = specs.get(name);
    if (entry === undefined) {
      problems.push(`--${name}: unknown option (see egress-capture serve --help)`);
      // Its value, if it had one, is not a second problem.
      if (inline === undefined && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) i++;
      continue;
    }
    if (entry.spec.switch === true) {
      values[name] = inline ?? 'true';
    } else if (inline !== undefined) {
      values[name] = inline;
    } else if (i + 1 < argv.length) {
      values[name] = argv[++i]!;
    } else {
      problems.push(`--${name}: value expected: ${entry.spec.doc}`);
    }
  }
  return values;
}

/**
 * The admin port asks for credentials only when a user is set, so a password
 * alone would silently leave it open (and a user alone would accept an empty
 * password): either half without the other is refused. The password's value
 * is never echoed.
 */
function checkAdminCredentials(config: OptionValues, explicit: Map<OptionKey, Source>, problems: string[]): void {
  const entry = (key: 'adminUser' | 'adminPassword'): FlagEntry => FLAG_OPTIONS.find((candidate) => candidate.key === key)!;
  const named = (key: 'adminUser' | 'adminPassword'): string => (explicit.get(key) === 'env' ? `${entry(key).env} (env)` : `--${entry(key).spec.flag}`);
  const both = (key: 'adminUser' | 'adminPassword'): string => `--${entry(key).spec.flag} (${entry(key).env})`;
  if (config.adminPassword !== '' && config.adminUser === '') {
    problems.push(`${named('adminPassword')}: "(hidden)" expected together with ${both('adminUser')}: without a user the admin port asks for no credentials at all`);
  }
  if (config.adminUser !== '' && config.adminPassword === '') {
    problems.push(`${named('adminUser')}: "${config.adminUser}" expected together with ${both('adminPassword')}: a user without a password would be accepted with an empty one`);
  }
}

/** A listener's TLS files as [flag, path] ('' = not given). */
interface TlsFiles {
  cert: readonly [string, string];
  key: readonly [string, string];
  clientCa?: readonly [string, string];
}

/**
 * A listener's TLS files (ext_proc, admin, SDS): certificate and key
 * together, a client CA only with them, and each one readable now rather
 * than at bind time.
 */
function checkTlsFiles(files: TlsFiles, problems: string[]): void {
  const { cert, key, clientCa } = files;
  if ((cert[1] === '') !== (key[1] === '')) {
    const [given, missing] = cert[1] === '' ? [key, cert] : [cert, key];
    problems.push(`--${given[0]}: "${given[1]}" expected together with --${missing[0]}`);
  }
  if (clientCa !== undefined && clientCa[1] !== '' && cert[1] === '') {
    problems.push(`--${clientCa[0]}: "${clientCa[1]}" needs --${cert[0]} and --${key[0]}: client certificates are asked for over TLS only`);
  }
  checkReadable(problems, [cert, key, ...(clientCa === undefined ? [] : [clientCa])]);
}

function checkReadable(problems: string[], files: ReadonlyArray<readonly [string, string]>): void {
  for (const [flag, file] of files) {
    if (file === '') continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      problems.push(`--${flag}: "${file}" cannot be read (${(err as NodeJS.ErrnoException).code ?? describeError(err)})`);
    }
  }
}

/**
 * The certificate minter's CA sources: the default pair together, a CA folder
 * that exists. What is inside them is checked when they load (and re-checked
 * on every change), each problem naming its file.
 */
function checkCaSources(config: OptionValues, problems: string[]): void {
  if ((config.caCertFile === '') !== (config.caKeyFile === '')) {
    const [given, missing] = config.caCertFile === '' ? [['ca-key', config.caKeyFile], ['ca-cert']] : [['ca-cert', config.caCertFile], ['ca-key']];
    problems.push(`--${given[0]}: "${given[1]}" expected together with --${missing[0]}`);
  }
  checkReadable(problems, [
    ['ca-cert', config.caCertFile],
    ['ca-key', config.caKeyFile],
  ]);
  if (config.caDir !== '') {
    let isDirectory = false;
    try {
      isDirectory = fs.statSync(config.caDir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDirectory) problems.push(`--ca-dir: "${config.caDir}" is not a readable directory (expected one folder per CA: <namespace>/<name>/tls.crt and tls.key)`);
  }
}

/** The options that shape the remote store's tables (`egress-capture schema` takes these). */
export const STORE_LAYOUT_KEYS = ['clickhouseCluster', 'clickhouseEngine', 'clickhouseReplicaPath', 'clickhouseReplicaName', 'clickhouseDistributed'] as const satisfies readonly OptionKey[];

/** Combinations of the layout options that cannot work. */
export function storeLayoutProblems(config: Pick<OptionValues, 'clickhouseCluster' | 'clickhouseEngine' | 'clickhouseDistributed'>): string[] {
  const problems: string[] = [];
  if (config.clickhouseDistributed && config.clickhouseCluster === '')
    problems.push('--clickhouse-distributed: "true" needs --clickhouse-cluster: a Distributed table spans the shards of a named cluster');
  if (config.clickhouseDistributed && config.clickhouseEngine === 'SharedMergeTree')
    problems.push('--clickhouse-distributed: "true" does not go with --clickhouse-engine SharedMergeTree: a ClickHouse Cloud service is one shard; write to its table directly');
  return problems;
}

/**
 * The remote store's layout options: each only where it means something, so
 * none is silently ignored.
 */
function checkStoreLayout(config: OptionValues, problems: string[]): void {
  problems.push(...storeLayoutProblems(config));
  if (config.clickhouseUrl !== '') return;
  for (const key of [...STORE_LAYOUT_KEYS, 'noCreateSchema'] as const) {
    if (config[key] === OPTIONS[key].default) continue;
    problems.push(`--${OPTIONS[key].flag}: "${String(config[key])}" applies to a remote store only (set --clickhouse-url; the embedded store is one MergeTree table)`);
  }
}
