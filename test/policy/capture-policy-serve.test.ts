/**
 * The capture policy as a user deploys it: `egress-capture serve --gateway
 * gateway.yaml` with capture-policy.yaml beside the manifest (one mounted
 * ConfigMap), OTLP export to a receiver written here, traffic through the
 * Envoy emulator. Everywhere a row goes (the store, the spool on disk, the
 * OTLP export) holds the markers of the full exchange and none of a lighter
 * one's; `egress-capture status` names the policy in force.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WORKLOAD_METADATA_NAMESPACE } from '../../src/capture/gateway-identity';
import { CAPTURE_POLICY_BESIDE_GATEWAY } from '../../src/policy/policy-source';
import { SPOOL_DIR_NAME } from '../../src/sinks/delivery/delivery-hub';
import { EnvoyEmulator } from '../emulator';
import { newRequestId } from '../scenarios/scenario-support';
import { OTLP_JSON_ENV, startReceiver, writeOtlpGateway, type Receiver } from '../service/otlp-receiver';
import { adminQuery, BIN, REPO_ROOT, sleep, startService, type ServiceProcess } from '../service/service-process';
import { absentAt, chat, EXAMPLE_POLICY, expectTrafficIntact, markers } from './policy-traffic';

let dir: string;
let receiver: Receiver;
let service: ServiceProcess;
let envoy: EnvoyEmulator;

beforeAll(async () => {
  receiver = await startReceiver();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-policy-serve-'));
  const gateway = writeOtlpGateway(dir, receiver.url);
  fs.writeFileSync(path.join(path.dirname(gateway), CAPTURE_POLICY_BESIDE_GATEWAY), EXAMPLE_POLICY);
  service = await startService(path.join(dir, 'data'), ['--gateway', gateway, '--batch-max-delay-ms', '50'], OTLP_JSON_ENV);
  envoy = new EnvoyEmulator({
    target: service.grpc,
    processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' },
    forwardingNamespaces: [WORKLOAD_METADATA_NAMESPACE],
    messageTimeoutMs: 2000,
  });
  await envoy.waitForReady();
}, 60_000);

afterAll(async () => {
  envoy?.close();
  if (service !== undefined && service.child.exitCode === null) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  await receiver?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('the store, the spool and the OTLP export keep the markers of full exchanges only', async () => {
  const full = newRequestId('serve-full');
  const usage = newRequestId('serve-usage');
  const headers = newRequestId('serve-headers');
  // No allow_mode_override here: Envoy sends every body, and the service keeps what the level says.
  for (const spec of [chat('api.openai.com', full, { namespace: 'eng' }), chat('api.openai.com', usage, { namespace: 'hr' }), chat('sqs.eu-west-1.amazonaws.com', headers)]) {
    expectTrafficIntact(await envoy.runExchange(spec), spec);
  }

  const ids = `'${full}', '${usage}', '${headers}'`;
  const deadline = Date.now() + 20_000;
  let stored: Array<Record<string, unknown>> = [];
  while (Date.now() < deadline) {
    stored = await adminQuery(service.admin, `SELECT * FROM http_exchanges WHERE RequestId IN (${ids}) ORDER BY RequestId`);
    if (stored.length === 3 && receiver.payloads.join('').includes(usage)) break;
    await sleep(100);
  }
  expect(stored.map((row) => [row['RequestId'], row['CaptureLevel'], row['CaptureRule']])).toEqual([
    [full, 'full', 'default'],
    [headers, 'headers', 'aws'],
    [usage, 'usage', 'hr-to-openai'],
  ]);

  // The active spool segment still holds every record (the OTLP sink read it just now).
  const spoolDir = path.join(dir, 'data', SPOOL_DIR_NAME);
  const spool = fs
    .readdirSync(spoolDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name), 'latin1'))
    .join('');
  for (const [where, text] of [
    ['store', JSON.stringify(stored)],
    ['spool', spool],
    ['OTLP export', receiver.payloads.join('')],
  ] as const) {
    expect({ where, fullKept: Object.values(markers(full)).every((marker) => text.includes(marker)) }).toEqual({ where, fullKept: true });
    for (const [id, level] of [
      [usage, 'usage'],
      [headers, 'headers'],
    ] as const) {
      expect({ where, id, found: absentAt(level, id).filter((marker) => text.includes(marker)) }).toEqual({ where, id, found: [] });
    }
  }
  const exported = receiver.payloads.join('');
  expect(exported).toContain('"egress_capture.capture.level"');
  expect(exported).toContain('"egress_capture.capture.rule"');
}, 60_000);

it('`egress-capture status` shows the policy in force', () => {
  const status = spawnSync(process.execPath, [BIN, 'status', '--admin', service.admin], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(status.stdout).toMatch(/capture policy\s+.*capture-policy\.yaml \(sha256 [0-9a-f]{12}\), default full, opt-out allowed/);
  expect(status.stdout).toMatch(/rule hr-to-openai\s+usage\s+authority=api\.openai\.com path=\/v1\/\* methods=POST provider=openai workload\.namespace=hr\s+retention 30 d/);
  expect(status.stdout).toMatch(/rule health\s+none\s+path=\/healthz\*/);
});
