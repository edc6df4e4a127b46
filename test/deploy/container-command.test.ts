/**
 * The container as the kubelet starts it, without a cluster or an image
 * builder, for each way the project ships it (`kustomize build deploy/` and
 * `helm template` of the chart): the command is derived from
 * deploy/Dockerfile's ENTRYPOINT/CMD and the rendered Deployment's
 * command/args by Kubernetes' own rules, then run from the repository (the
 * image's WORKDIR holds the same dist/ and protos/) with the environment of
 * the ConfigMap and Secrets its envFrom names, the files of the gateway
 * ConfigMap `translate` writes where its volume mounts them, as the pod's
 * non-root user when the test runs as root, and the Deployment's probes are
 * asked what the kubelet would ask.
 *
 * Only what cannot exist outside a pod is replaced, and the test says which:
 * the mount paths become temporary directories, and the listeners bind
 * 127.0.0.1 on free ports instead of 0.0.0.0:9002/9003.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../support/listen-port';
import { twoGateways } from '../support/gateway-inputs';
import { runTranslate } from '../translator/run-command';
import { DOCKERFILE, imageCommand, imageNodeFlags } from '../support/image-command';
import { DEPLOY_DIR, find, helmTemplate, KubeObject, kustomizeBuild, parseObjects } from './render';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLE = path.join(DEPLOY_DIR, 'examples', 'egress-gateway.yaml');

type Json = Record<string, any>;

/** Kubernetes: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD. */
function effectiveArgv(image: { entrypoint: string[]; cmd: string[] }, container: { command?: string[]; args?: string[] }): string[] {
  if (container.command) return [...container.command, ...(container.args ?? [])];
  return [...image.entrypoint, ...(container.args ?? image.cmd)];
}

const image = imageCommand();
const NODE_FLAGS = imageNodeFlags(image);

/** What the kubelet would get from the API server: the rendered objects. */
const RENDERINGS: Array<[string, () => KubeObject[]]> = [
  ['kustomize build deploy/', () => kustomizeBuild().objects],
  ['helm template', () => helmTemplate().objects],
];

/** `translate`'s output for the capture service a rendering runs (the objects a user applies next). */
async function translated(input: { file?: string; text?: string }): Promise<KubeObject[]> {
  const run = input.file ? await runTranslate(['-f', input.file]) : await runTranslate(['-f', '-'], input.text);
  if (run.code !== 0) throw new Error(`translate failed: ${run.stderr}`);
  return parseObjects(run.stdout);
}

interface Pod {
  gatewayDir: string;
  dataDir: string;
  /** The pod's runAsUser when the test could switch to it (it runs as root), else undefined. */
  runAsUser: number | undefined;
  child: ReturnType<typeof spawn>;
  stderr(): string;
  probe(probePath: string): Promise<number>;
  /** Writes the gateway ConfigMap's files into its volume, as the kubelet does once it exists. */
  applyGateway(): void;
  /** SIGTERM (what the kubelet sends), then the exit code; with the log's last lines when it is not 0, so a failure says why. */
  stop(): Promise<{ code: number | null; log?: string }>;
}

function secretEnv(secret: KubeObject | undefined): Record<string, string> {
  if (!secret) return {};
  const data = Object.entries((secret.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]);
  return { ...Object.fromEntries(data), ...(secret.stringData ?? {}) };
}

/** Starts the container's command as the rendered pod spec says; the gateway volume is filled only if asked. */
async function startPod(objects: KubeObject[], captureObjects: KubeObject[], options: { gatewayApplied: boolean }): Promise<Pod> {
  const deployment = find(objects, 'Deployment');
  const podSpec = deployment.spec.template.spec as Json;
  const container = podSpec.containers[0] as Json;
  const argv = effectiveArgv(image, container);
  const all = [...objects, ...captureObjects];

  // envFrom in order, later sources winning, optional ones skipped when absent, as the kubelet does.
  const env: Record<string, string> = {};
  for (const source of container.envFrom as Json[]) {
    if (source.configMapRef) Object.assign(env, find(all, 'ConfigMap', source.configMapRef.name).data);
    if (source.secretRef) {
      const secret = all.find((o) => o.kind === 'Secret' && o.metadata.name === source.secretRef.name);
      if (!secret && !source.secretRef.optional) throw new Error(`Secret ${source.secretRef.name} is required by the Deployment and not rendered`);
      Object.assign(env, secretEnv(secret));
    }
  }

  // Then env, over envFrom: values, and the downward API's fields of this pod.
  const pod = { 'metadata.name': `${deployment.metadata.name}-7d9f-abc12`, 'metadata.namespace': deployment.metadata.namespace, 'metadata.uid': '5f0c3f7e-0000-4000-8000-0000000000aa' } as Record<
    string,
    string
  >;
  for (const entry of (container.env ?? []) as Json[]) {
    if (entry.value !== undefined) env[entry.name] = entry.value;
    else if (entry.valueFrom?.fieldRef) env[entry.name] = pod[entry.valueFrom.fieldRef.fieldPath]!;
  }
  // Every pod gets the API server's address from the kubelet.
  env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
  expect({ POD_NAME: env.POD_NAME, POD_NAMESPACE: env.POD_NAMESPACE }).toEqual({ POD_NAME: pod['metadata.name'], POD_NAMESPACE: pod['metadata.namespace'] });

  // The mounts: the data volume and the gateway ConfigMap's files, each where the Deployment mounts it.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-pod-'));
  const mount = (podPath: string): string => path.join(root, podPath);
  const mounts = container.volumeMounts as Array<{ name: string; mountPath: string }>;
  const dataMount = mounts.find((m) => m.name === 'data')!.mountPath;
  const gatewayMount = mounts.find((m) => m.name === 'gateway')!.mountPath;
  expect(env.EGRESS_CAPTURE_DATA_DIR).toBe(dataMount);
  expect(path.dirname(env.EGRESS_CAPTURE_GATEWAY!)).toBe(gatewayMount);
  const gatewayVolume = (podSpec.volumes as Json[]).find((v) => v.name === 'gateway')!;
  // The ConfigMap translate wrote is the one the Deployment mounts: same name, same namespace.
  const gatewayConfigMap = captureObjects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === gatewayVolume.configMap.name && o.metadata.namespace === deployment.metadata.namespace);
  if (!gatewayConfigMap) throw new Error(`translate wrote no ConfigMap ${deployment.metadata.namespace}/${gatewayVolume.configMap.name}, which the Deployment mounts`);
  const gatewayFiles = gatewayConfigMap.data as Record<string, string>;

  fs.mkdirSync(mount(dataMount), { recursive: true });
  fs.mkdirSync(mount(gatewayMount), { recursive: true });
  // The kubelet swaps a ConfigMap's files in whole (a symlink flip), so a reader never sees one half-written.
  const applyGateway = (): void => {
    for (const [file, text] of Object.entries(gatewayFiles)) {
      const target = path.join(mount(gatewayMount), file);
      fs.writeFileSync(`${target}.partial`, text);
      fs.renameSync(`${target}.partial`, target);
    }
  };
  if (options.gatewayApplied) applyGateway();
  env.EGRESS_CAPTURE_DATA_DIR = mount(dataMount);
  env.EGRESS_CAPTURE_GATEWAY = mount(env.EGRESS_CAPTURE_GATEWAY!);
  const adminPort = await freePort();
  env.EGRESS_CAPTURE_GRPC_LISTEN = `127.0.0.1:${await freePort()}`;
  env.EGRESS_CAPTURE_ADMIN_LISTEN = `127.0.0.1:${adminPort}`;

  // The pod's user: runAsUser/runAsGroup, and fsGroup owning the data volume. Only root can switch.
  const security = podSpec.securityContext as Json;
  expect(security.runAsNonRoot).toBe(true);
  const asPodUser = process.getuid?.() === 0;
  if (asPodUser) {
    fs.chownSync(root, security.runAsUser, security.fsGroup);
    fs.chownSync(mount(dataMount), security.runAsUser, security.fsGroup);
  }

  // `node` in the image is its Node 24; here, the project's pinned one.
  const child = spawn(process.execPath, argv.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(asPodUser ? { uid: security.runAsUser, gid: security.runAsGroup } : {}),
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    gatewayDir: mount(gatewayMount),
    dataDir: mount(dataMount),
    runAsUser: asPodUser ? security.runAsUser : undefined,
    child,
    stderr: () => stderr,
    applyGateway,
    async probe(probePath: string): Promise<number> {
      try {
        return (await fetch(`http://127.0.0.1:${adminPort}${probePath}`)).status;
      } catch {
        return 0;
      }
    },
    async stop(): Promise<{ code: number | null; log?: string }> {
      child.kill('SIGTERM');
      const code = await exited;
      fs.rmSync(root, { recursive: true, force: true });
      return code === 0 ? { code } : { code, log: stderr.split('\n').slice(-40).join('\n') };
    },
  };
}

/**
 * Runs `body` against the pod, then stops it and expects exit 0. When `body`
 * fails, that failure is the one reported: the pod's exit code that follows
 * from it (e.g. a service that could not start) would otherwise replace it.
 */
async function withPod(pod: Pod, body: () => Promise<void>): Promise<void> {
  let failure: unknown;
  try {
    await body();
  } catch (err) {
    failure = err;
  }
  const stopped = await pod.stop();
  if (failure !== undefined) throw failure;
  expect(stopped).toEqual({ code: 0 });
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

test('the image carries one Node runtime, the pinned one, and production dependencies only', () => {
  const stages = fs
    .readFileSync(DOCKERFILE, 'utf8')
    .split(/^FROM /m)
    .slice(1);
  const runtime = stages[stages.length - 1]!;
  // The runtime base has no Node of its own; `node` on its PATH is the npm package's binary.
  expect(runtime.split('\n', 1)[0]).not.toMatch(/node/);
  expect(runtime).toMatch(/^COPY --from=(\S+) \/node \/usr\/local\/bin\/node$/m);
  const from = /^COPY --from=(\S+) \/node /m.exec(runtime)![1]!;
  const deps = stages.find((stage) => stage.split('\n', 1)[0]!.endsWith(` AS ${from}`))!;
  expect(deps).toContain('npm ci --omit=dev');
  expect(deps).toContain('cp node_modules/node/bin/node /node');
  expect(deps).toContain('rm -rf node_modules/node ');
  // The package the image takes its Node from is the one the project pins.
  const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
  expect(lock.packages['node_modules/node'].version).toBe(process.versions.node);
});

describe.each(RENDERINGS)('the Deployment from %s', (_name, render) => {
  const objects = render();
  const container = find(objects, 'Deployment').spec.template.spec.containers[0] as Json;
  const READINESS = container.readinessProbe.httpGet.path as string;
  const LIVENESS = container.livenessProbe.httpGet.path as string;

  test('runs a container command that starts the service', () => {
    const argv = effectiveArgv(image, container);
    // `node <flags> <script> serve`: the script exists where the image puts it (WORKDIR /app holds dist/).
    expect(argv[0]).toBe('node');
    expect(argv.slice(1, 1 + NODE_FLAGS.length)).toEqual(NODE_FLAGS);
    // The event loop's young generation is capped and its old generation starts with room (README "Memory").
    expect(NODE_FLAGS).toEqual(expect.arrayContaining(['--max-semi-space-size=8', '--initial-old-space-size=64']));
    expect(image.workdir).toBe('/app');
    const script = argv[1 + NODE_FLAGS.length]!;
    expect(fs.existsSync(path.join(REPO_ROOT, script))).toBe(true);
    expect(argv.slice(2 + NODE_FLAGS.length)).toEqual(['serve']);
  });

  test.each([
    ['one gateway (deploy/examples)', { file: EXAMPLE }],
    ['two gateways sharing the capture service', { text: twoGateways() }],
  ])('with the translated ConfigMap of %s, passes its probes and stops on SIGTERM', async (_gateways, input) => {
    const pod = await startPod(objects, await translated(input), { gatewayApplied: true });
    await withPod(pod, async () => {
      await until(async () => (await pod.probe(READINESS)) === 200 || pod.child.exitCode !== null, 30_000);
      expect({ readiness: await pod.probe(READINESS), exited: pod.child.exitCode, stderr: pod.child.exitCode === null ? '' : pod.stderr() }).toEqual({
        readiness: 200,
        exited: null,
        stderr: '',
      });
      expect(await pod.probe(LIVENESS)).toBe(200);
      expect(pod.stderr()).toContain('egress-capture serving');
      // It ran as the pod's user: what it made in the data volume is that user's.
      if (pod.runAsUser !== undefined) expect(fs.statSync(path.join(pod.dataDir, 'redaction.key')).uid).toBe(pod.runAsUser);
    });
  });

  test('before the gateway ConfigMap is applied it stays live and not ready, then starts when the file appears', async () => {
    const pod = await startPod(objects, await translated({ file: EXAMPLE }), { gatewayApplied: false });
    await withPod(pod, async () => {
      await until(async () => (await pod.probe(LIVENESS)) === 200 || pod.child.exitCode !== null, 30_000);
      expect(await pod.probe(LIVENESS)).toBe(200);
      expect(await pod.probe(READINESS)).toBe(503);
      // Longer than a few liveness periods' worth of polling: no crash, still waiting.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(pod.child.exitCode).toBeNull();
      expect(await pod.probe(READINESS)).toBe(503);

      // `kubectl apply` of translate's output: the ConfigMap's file shows up in the volume.
      pod.applyGateway();
      await until(async () => (await pod.probe(READINESS)) === 200 || pod.child.exitCode !== null, 30_000);
      expect({ readiness: await pod.probe(READINESS), exited: pod.child.exitCode, stderr: pod.child.exitCode === null ? '' : pod.stderr() }).toEqual({
        readiness: 200,
        exited: null,
        stderr: '',
      });
      expect(pod.stderr()).toContain('egress-capture serving');
    });
  });

  test('stopped while it waits for the gateway file, it exits 0 at once', async () => {
    const pod = await startPod(objects, await translated({ file: EXAMPLE }), { gatewayApplied: false });
    await until(async () => (await pod.probe(LIVENESS)) === 200 || pod.child.exitCode !== null, 30_000);
    const started = Date.now();
    expect(await pod.stop()).toEqual({ code: 0 });
    // Well inside the kubelet's 30 s grace period; exit code 0 says SIGTERM was handled, not fatal.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
