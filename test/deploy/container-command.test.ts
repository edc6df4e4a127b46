/**
 * The container as the kubelet starts it, without a cluster or an image
 * builder: the command is derived from deploy/Dockerfile's ENTRYPOINT/CMD and
 * the Deployment's command/args by Kubernetes' own rules, then run from the
 * repository (the image's WORKDIR holds the same dist/ and protos/) with the
 * ConfigMap's environment and the translated gateway file where its volume
 * mounts, and the Deployment's probes are asked what the kubelet would ask.
 *
 * Only what cannot exist outside a pod is replaced, and the test says which:
 * the data and gateway mount paths become temporary directories, and the
 * listeners bind 127.0.0.1 on free ports instead of 0.0.0.0:9002/9003.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../support/listen-port';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPLOY = path.join(REPO_ROOT, 'deploy');

type Json = Record<string, any>;

function yamlDocuments(file: string): Json[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((doc) => doc.toJS() as Json).filter((doc) => doc !== null);
}

/** ENTRYPOINT and CMD of the Dockerfile's final stage, in exec (JSON) form. */
function imageCommand(dockerfile: string): { workdir: string; entrypoint: string[]; cmd: string[] } {
  const stages = fs.readFileSync(dockerfile, 'utf8').split(/^FROM /m);
  const last = stages[stages.length - 1]!;
  const instruction = (name: string): string[] => {
    const match = new RegExp(`^${name}\\s+(\\[.*\\])\\s*$`, 'm').exec(last);
    return match ? (JSON.parse(match[1]!) as string[]) : [];
  };
  const workdir = /^WORKDIR\s+(\S+)/m.exec(last)?.[1] ?? '/';
  return { workdir, entrypoint: instruction('ENTRYPOINT'), cmd: instruction('CMD') };
}

/** Kubernetes: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD. */
function effectiveArgv(image: { entrypoint: string[]; cmd: string[] }, container: { command?: string[]; args?: string[] }): string[] {
  if (container.command) return [...container.command, ...(container.args ?? [])];
  return [...image.entrypoint, ...(container.args ?? image.cmd)];
}

const deployment = yamlDocuments(path.join(DEPLOY, 'deployment.yaml')).find((doc) => doc.kind === 'Deployment')!;
const container = deployment.spec.template.spec.containers[0] as Json;
const image = imageCommand(path.join(DEPLOY, 'Dockerfile'));

test('the container command the kubelet runs starts the service', () => {
  const argv = effectiveArgv(image, container);
  // `node <script> serve`: the script exists where the image puts it (WORKDIR /app holds dist/).
  expect(argv[0]).toBe('node');
  expect(image.workdir).toBe('/app');
  expect(fs.existsSync(path.join(REPO_ROOT, argv[1]!))).toBe(true);
  expect(argv.slice(2)).toEqual(['serve']);
});

interface Pod {
  adminPort: number;
  gatewayDir: string;
  gatewayFiles: Record<string, string>;
  exited: Promise<number | null>;
  child: ReturnType<typeof spawn>;
  stderr(): string;
  probe(probePath: string): Promise<number>;
  /** SIGTERM (what the kubelet sends), then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the container's command with the ConfigMap's environment; the gateway volume is filled only if asked. */
async function startPod(options: { gatewayApplied: boolean }): Promise<Pod> {
  const argv = effectiveArgv(image, container);
  const configMap = yamlDocuments(path.join(DEPLOY, 'configmap.yaml')).find((doc) => doc.kind === 'ConfigMap')!;
  const env: Record<string, string> = { ...(configMap.data as Record<string, string>) };
  const gatewayConfigMap = yamlDocuments(path.join(DEPLOY, 'examples', 'egress-gateway.envoy-gateway.yaml')).find(
    (doc) => doc.kind === 'ConfigMap' && doc.metadata.name === 'egress-capture-gateway',
  )!;

  // The mounts: the data volume and the gateway ConfigMap's file, each where the Deployment mounts it.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-pod-'));
  const mount = (podPath: string): string => path.join(root, podPath);
  const mounts = container.volumeMounts as Array<{ name: string; mountPath: string }>;
  const dataMount = mounts.find((m) => m.name === 'data')!.mountPath;
  const gatewayMount = mounts.find((m) => m.name === 'gateway')!.mountPath;
  expect(env.EGRESS_CAPTURE_DATA_DIR).toBe(dataMount);
  expect(path.dirname(env.EGRESS_CAPTURE_GATEWAY!)).toBe(gatewayMount);
  fs.mkdirSync(mount(dataMount), { recursive: true });
  fs.mkdirSync(mount(gatewayMount), { recursive: true });
  const gatewayFiles = gatewayConfigMap.data as Record<string, string>;
  if (options.gatewayApplied) for (const [file, text] of Object.entries(gatewayFiles)) fs.writeFileSync(path.join(mount(gatewayMount), file), text);
  env.EGRESS_CAPTURE_DATA_DIR = mount(dataMount);
  env.EGRESS_CAPTURE_GATEWAY = mount(env.EGRESS_CAPTURE_GATEWAY!);
  const adminPort = await freePort();
  env.EGRESS_CAPTURE_GRPC_LISTEN = `127.0.0.1:${await freePort()}`;
  env.EGRESS_CAPTURE_ADMIN_LISTEN = `127.0.0.1:${adminPort}`;

  // `node` in the image is the base image's Node 24; here, the project's pinned one.
  const child = spawn(process.execPath, argv.slice(1), { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    adminPort,
    gatewayDir: mount(gatewayMount),
    gatewayFiles,
    exited,
    child,
    stderr: () => stderr,
    async probe(probePath: string): Promise<number> {
      try {
        return (await fetch(`http://127.0.0.1:${adminPort}${probePath}`)).status;
      } catch {
        return 0;
      }
    },
    async stop(): Promise<number | null> {
      child.kill('SIGTERM');
      const code = await exited;
      fs.rmSync(root, { recursive: true, force: true });
      return code;
    },
  };
}

const READINESS = container.readinessProbe.httpGet.path as string;
const LIVENESS = container.livenessProbe.httpGet.path as string;

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

test('started that way with the ConfigMap and the translated gateway file, it passes its probes and stops on SIGTERM', async () => {
  const pod = await startPod({ gatewayApplied: true });
  try {
    await until(async () => (await pod.probe(READINESS)) === 200 || pod.child.exitCode !== null, 30_000);
    expect({ readiness: await pod.probe(READINESS), exited: pod.child.exitCode }).toEqual({ readiness: 200, exited: null });
    expect(await pod.probe(LIVENESS)).toBe(200);
    expect(pod.stderr()).toContain('egress-capture serving');
  } finally {
    expect(await pod.stop()).toBe(0);
  }
});

test('before the gateway ConfigMap is applied it stays live and not ready, then starts when the file appears', async () => {
  const pod = await startPod({ gatewayApplied: false });
  try {
    await until(async () => (await pod.probe(LIVENESS)) === 200 || pod.child.exitCode !== null, 30_000);
    expect(await pod.probe(LIVENESS)).toBe(200);
    expect(await pod.probe(READINESS)).toBe(503);
    // Longer than a few liveness periods' worth of polling: no crash, still waiting.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(pod.child.exitCode).toBeNull();
    expect(await pod.probe(READINESS)).toBe(503);

    // `kubectl apply` of translate's output: the ConfigMap's file shows up in the volume.
    for (const [file, text] of Object.entries(pod.gatewayFiles)) fs.writeFileSync(path.join(pod.gatewayDir, file), text);
    await until(async () => (await pod.probe(READINESS)) === 200 || pod.child.exitCode !== null, 30_000);
    expect({ readiness: await pod.probe(READINESS), exited: pod.child.exitCode }).toEqual({ readiness: 200, exited: null });
    expect(pod.stderr()).toContain('egress-capture serving');
  } finally {
    expect(await pod.stop()).toBe(0);
  }
});

test('stopped while it waits for the gateway file, it exits 0 at once', async () => {
  const pod = await startPod({ gatewayApplied: false });
  await until(async () => (await pod.probe(LIVENESS)) === 200 || pod.child.exitCode !== null, 30_000);
  const started = Date.now();
  expect(await pod.stop()).toBe(0);
  // Well inside the kubelet's 30 s grace period; exit code 0 says SIGTERM was handled, not fatal.
  expect(Date.now() - started).toBeLessThan(10_000);
});
