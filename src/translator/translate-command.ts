// `egress-capture translate -f FILE... [--target envoy-gateway|envoy]
//  [--capture-service NS/NAME:PORT] [--lockdown] [--lockdown-namespace NS]... [--capture-policy FILE] [--status]`
// Reads multi-document YAML (files, or "-" for stdin), writes YAML to stdout, warnings and
// errors to stderr. Exit 0 on success, 2 on invalid input or usage.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { emptyParsedResources, formatDocumentProblem, parseResourceDocuments } from '../gateway';
import { emitYaml } from './emit-yaml';
import { CERT_MINTER_TLS_FLAGS, CERT_MINTER_TLS_USAGE, completeCertMinterTls, readCertMinterTlsFlag, type CertMinterTls } from './cert-minter-tls';
import { CaptureTls, defaultTranslateOptions, parseCaptureServiceRef, TranslateOptions, TranslateTarget } from './options';
import { formatStatusEntry } from './status';
import { translate } from './translate';
import { policyRoutes } from './policy-routes';
import { parseCapturePolicy } from '../policy/capture-policy';
import { CAPTURE_POLICY_BESIDE_GATEWAY } from '../policy/policy-source';
import { CaptureError, describeError } from '../errors';

export const EXIT_OK = 0;
export const EXIT_INVALID = 2;

const USAGE = `usage: egress-capture translate -f FILE... [--target envoy-gateway|envoy] [--capture-service NS/NAME:PORT]
                           [TLS to the capture service] [--lockdown] [--lockdown-namespace NS]... [--capture-policy FILE] [--status]

  -f, --filename FILE        input YAML (EgressGateway, Backend, TCPRoute, EgressRouter, and Gateway API
                             routes parented on an EgressGateway listener); repeatable; "-" reads stdin
  --target TARGET            envoy-gateway (default): Envoy Gateway v1.9 / Gateway API v1.6 resources
                             envoy: a standalone Envoy bootstrap
  --capture-service REF      the capture service as NS/NAME:PORT (default egress-capture/egress-capture:9002)
  --lockdown                 envoy-gateway: also emit NetworkPolicies that let the pods of the namespaces the
                             listeners admit (allowedRoutes) reach only DNS and the gateway
  --lockdown-namespace NS    lock down NS instead (repeatable; implies --lockdown); needed for listeners
                             that admit All or Selector namespaces
  --capture-policy FILE      the capture service's policy: envoy: its leading rules that capture none on
                             authority, path and methods alone become routes with ext_proc disabled, so
                             those exchanges never reach the service (it decides every other rule)
  --status                   print the status summary (Accepted / Conflicted / NotAccepted, with reasons and
                             EgressRouter conditions) instead of resources

TLS to the capture service (serve --grpc-tls-cert-file ...; default: plaintext gRPC):
  --capture-tls-ca-configmap NAME   envoy-gateway: ConfigMap (key ca.crt) in the gateway's namespace with
                                    the CA that signed the capture service's certificate
  --capture-tls-client-secret NAME  envoy-gateway: kubernetes.io/tls Secret in the gateway's namespace,
                                    Envoy's client certificate (for serve --grpc-tls-client-ca-file)
  --capture-tls-ca-file PATH        envoy: PEM file with that CA, as Envoy sees it
  --capture-tls-client-cert-dir DIR envoy: directory with Envoy's client tls.crt and tls.key
  --capture-tls-server-name NAME    the name in the capture service's certificate (default
                                    NAME.NAMESPACE.svc for envoy-gateway, NAME for envoy)

${CERT_MINTER_TLS_USAGE}`;

/** The TLS flags, the CaptureTls field each sets, and the target it belongs to (undefined: both). */
export const CAPTURE_TLS_FLAGS: ReadonlyArray<{ flag: string; field: keyof CaptureTls; target?: TranslateTarget }> = [
  { flag: '--capture-tls-ca-configmap', field: 'caConfigMap', target: 'envoy-gateway' },
  { flag: '--capture-tls-client-secret', field: 'clientSecret', target: 'envoy-gateway' },
  { flag: '--capture-tls-ca-file', field: 'caFile', target: 'envoy' },
  { flag: '--capture-tls-client-cert-dir', field: 'clientCertDir', target: 'envoy' },
  { flag: '--capture-tls-server-name', field: 'serverName' },
];

export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface ParsedArgs {
  files: string[];
  options: TranslateOptions;
  status: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): ParsedArgs | string {
  const result: ParsedArgs = { files: [], options: defaultTranslateOptions(), status: false, help: false };
  const minterTls: Partial<CertMinterTls> = {};
  for (let i = 0; i < argv.length; i += 1) {
    let arg = argv[i];
    let value: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = (): string | undefined => {
      if (value !== undefined) return value;
      i += 1;
      return argv[i];
    };
    switch (arg) {
      case '-f':
      case '--filename': {
        const file = next();
        if (!file) return `${arg} needs a file name`;
        result.files.push(file);
        break;
      }
      case '--target': {
        const target = next();
        if (target !== 'envoy-gateway' && target !== 'envoy') return `--target must be envoy-gateway or envoy, got ${JSON.stringify(target ?? '')}`;
        result.options.target = target as TranslateTarget;
        break;
      }
      case '--capture-service': {
        const text = next() ?? '';
        const ref = parseCaptureServiceRef(text);
        if (!ref) return `--capture-service must look like NAMESPACE/NAME:PORT, got ${JSON.stringify(text)}`;
        result.options.captureService = ref;
        break;
      }
      case '--capture-policy': {
        const file = next();
        if (!file) return `${arg} needs a file name`;
        const problem = readCapturePolicy(file, result.options);
        if (problem !== undefined) return problem;
        break;
      }
      case '--status':
        result.status = true;
        break;
      case '--lockdown':
        result.options.lockdown ??= { namespaces: [] };
        break;
      case '--lockdown-namespace': {
        const namespace = next() ?? '';
        if (!NAMESPACE.test(namespace)) return `--lockdown-namespace must be a namespace name (lowercase RFC 1123 label), got ${JSON.stringify(namespace)}`;
        result.options.lockdown = { namespaces: [...(result.options.lockdown?.namespaces ?? []), namespace] };
        break;
      }
      case '--capture-tls-ca-configmap':
      case '--capture-tls-client-secret':
      case '--capture-tls-ca-file':
      case '--capture-tls-client-cert-dir':
      case '--capture-tls-server-name': {
        const text = next() ?? '';
        if (text.trim() === '') return `${arg} needs a value`;
        const spec = CAPTURE_TLS_FLAGS.find((candidate) => candidate.flag === arg)!;
        result.options.captureTls = { ...result.options.captureTls, [spec.field]: text.trim() };
        break;
      }
      case '--sds-tls-cert':
      case '--sds-tls-key':
      case '--sds-tls-ca': {
        const problem = readCertMinterTlsFlag(minterTls, arg as keyof typeof CERT_MINTER_TLS_FLAGS, next());
        if (problem) return problem;
        break;
      }
      case '-h':
      case '--help':
        result.help = true;
        break;
      default:
        return `unknown argument ${JSON.stringify(argv[i])}`;
    }
  }
  if (!result.help && result.files.length === 0) return 'at least one -f FILE is required';
  if (result.options.lockdown && result.options.target !== 'envoy-gateway') {
    return '--lockdown emits Kubernetes NetworkPolicies and applies to --target envoy-gateway only';
  }
  const tlsProblem = checkCaptureTls(result.options);
  if (tlsProblem !== undefined) return tlsProblem;
  const tls = completeCertMinterTls(minterTls);
  if (typeof tls === 'string') return tls;
  if (tls) result.options.certMinterTls = tls;
  return result;
}

/** TLS flags of the other target, client material without a CA, or no CA at all: each named with the fix. */
function checkCaptureTls(options: TranslateOptions): string | undefined {
  const tls = options.captureTls;
  if (tls === undefined) return undefined;
  for (const { flag, field, target } of CAPTURE_TLS_FLAGS) {
    if (tls[field] !== undefined && target !== undefined && target !== options.target) {
      return `${flag} ${JSON.stringify(tls[field])} applies to --target ${target}, not ${options.target}`;
    }
  }
  const caFlag = options.target === 'envoy' ? '--capture-tls-ca-file' : '--capture-tls-ca-configmap';
  const ca = options.target === 'envoy' ? tls.caFile : tls.caConfigMap;
  if (ca === undefined) return `TLS to the capture service needs ${caFlag} (the CA Envoy verifies the capture service's certificate with)`;
  if (options.target === 'envoy-gateway' && tls.caConfigMap !== undefined && !KUBERNETES_NAME.test(tls.caConfigMap)) {
    return `--capture-tls-ca-configmap ${JSON.stringify(tls.caConfigMap)} is not a Kubernetes object name`;
  }
  if (tls.clientSecret !== undefined && !KUBERNETES_NAME.test(tls.clientSecret)) {
    return `--capture-tls-client-secret ${JSON.stringify(tls.clientSecret)} is not a Kubernetes object name`;
  }
  return undefined;
}

/** A namespace name (DNS-1123 label). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A Kubernetes object name (DNS-1123 subdomain). */
const KUBERNETES_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** --capture-policy FILE: validated as `serve` validates it; the problem (file, rule and field named) or undefined. */
function readCapturePolicy(file: string, options: TranslateOptions): string | undefined {
  try {
    const text = readFileSync(file, 'utf8');
    options.capturePolicy = { text, policy: parseCapturePolicy(text, file) };
    return undefined;
  } catch (err) {
    const problems = err instanceof CaptureError && err.problems.length > 0 ? err.problems : [describeError(err)];
    return `--capture-policy ${file}: ${problems.join('; ')}`;
  }
}

/** Which policy rules Envoy applies and which the capture service decides, for the output's header. */
function capturePolicyNotes(options: TranslateOptions): string[] {
  if (options.capturePolicy === undefined) return [];
  if (options.target === 'envoy-gateway') {
    return [`Capture policy: in the capture service's ConfigMap as ${CAPTURE_POLICY_BESIDE_GATEWAY} beside gateway.yaml; the service decides every rule.`];
  }
  const { envoySide, serviceSide } = policyRoutes(options.capturePolicy.policy);
  return [
    `Capture policy: Envoy skips ext_proc for rule${envoySide.length === 1 ? '' : 's'} ${envoySide.length === 0 ? '(none: no leading rule captures none on authority, path and methods alone)' : envoySide.map((rule) => rule.name).join(', ')}`,
    ...(serviceSide.length > 0 ? [`the capture service decides the rest (${serviceSide.join(', ')}); run it with the same --capture-policy.`] : []),
  ];
}

export async function runTranslateCommand(argv: string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    io.stderr.write(`error: ${args}\n${USAGE}`);
    return EXIT_INVALID;
  }
  if (args.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }

  const parsed = emptyParsedResources();
  let stdinText: string | undefined;
  for (const file of args.files) {
    let text: string;
    try {
      if (file === '-') text = stdinText ??= await readStream(io.stdin);
      else text = await readFile(file, 'utf8');
    } catch (error) {
      io.stderr.write(`error: cannot read ${file}: ${(error as Error).message}\n`);
      return EXIT_INVALID;
    }
    parseResourceDocuments(text, file === '-' ? '<stdin>' : file, parsed);
  }
  for (const ignored of parsed.ignored) io.stderr.write(`warning: ignoring ${ignored}\n`);
  if (parsed.problems.length > 0) {
    for (const problem of parsed.problems) io.stderr.write(`error: ${formatDocumentProblem(problem)}\n`);
    return EXIT_INVALID;
  }
  if (parsed.gateways.length === 0 && parsed.egressRouters.length === 0) {
    io.stderr.write('error: no EgressGateway (apiVersion clrk.apoxy.dev/v1alpha1) or EgressRouter (network.operator.openshift.io/v1) in the input\n');
    return EXIT_INVALID;
  }

  const result = translate(parsed, args.options);
  if (result.problems.length > 0) {
    for (const problem of result.problems) io.stderr.write(`error: ${formatDocumentProblem(problem)}\n`);
    return EXIT_INVALID;
  }
  for (const warning of result.warnings) io.stderr.write(`warning: ${warning}\n`);

  if (args.status) {
    io.stdout.write(`# egress-capture translate status (oldest creationTimestamp wins, then namespace/name)\n`);
    io.stdout.write(stringify(result.status, { lineWidth: 0 }));
    return EXIT_OK;
  }
  const header = [
    `Generated by: egress-capture translate --target ${args.options.target}`,
    args.options.target === 'envoy-gateway' ? 'For Envoy Gateway v1.9 and Gateway API v1.6. Regenerate instead of editing.' : 'Standalone Envoy (>= 1.37) bootstrap. Regenerate instead of editing.',
    ...capturePolicyNotes(args.options),
    ...result.status.filter((s) => s.state !== 'Accepted').map((s) => `status: ${formatStatusEntry(s)}`),
  ];
  io.stdout.write(emitYaml(result.objects, header));
  return EXIT_OK;
}
