/**
 * The bench's capture policy section: what each capture level costs the
 * capture service per exchange, against full, under the main run's load
 * (the realistic chat completion, recognised as an OpenAI call through a
 * provider mapping for the section's hosts, so usage folds the answer as it
 * would in production).
 *
 * One capture service, its policy file rewritten between levels (the service
 * reloads it without a restart), each level measured twice: with Envoy
 * sending every body (the translator's observability mode, or a filter
 * without allow_mode_override: the service drops what the level does not
 * keep) and with overrides allowed (Envoy stops sending what will not be
 * kept). Level none ends each call after the request headers either way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CaptureAdmin } from './capture-admin';
import { measureEmulatorRun, summarizeEmulatorRun, type EmulatorServerResult } from './emulator-measure';
import { ratio, table } from './report';
import type { ServerProcess } from './server-process';

export const POLICY_LEVELS = ['full', 'headers', 'usage', 'none'] as const;

/** Hosts of the section's exchanges: declared as OpenAI endpoints, and matched by the policy's one rule. */
const POLICY_HOSTS = '*.policy.bench';

/** The policy file and provider mapping the capture service starts with: full for everything, so the other sections are unaffected. */
export function writePolicyBenchFiles(dir: string): { policyFile: string; mappingFile: string } {
  fs.mkdirSync(dir, { recursive: true });
  const policyFile = path.join(dir, 'bench-capture-policy.yaml');
  const mappingFile = path.join(dir, 'bench-provider-mapping.yaml');
  fs.writeFileSync(policyFile, 'default: full\n');
  fs.writeFileSync(mappingFile, `- authority: "${POLICY_HOSTS}"\n  provider: openai\n`);
  return { policyFile, mappingFile };
}

export interface PolicyRun {
  level: (typeof POLICY_LEVELS)[number];
  /** Envoy honoured the service's mode_override (allow_mode_override). */
  overrides: boolean;
  result: EmulatorServerResult;
  /** Rows the level should have stored: every exchange, or none. */
  expectedRows: number;
}

const RELOAD_METRIC = 'egress_capture_policy_reloads_total{result="applied"}';

async function applyLevel(admin: CaptureAdmin, policyFile: string, level: string): Promise<void> {
  const before = (await admin.metrics()).get(RELOAD_METRIC) ?? 0;
  fs.writeFileSync(policyFile, `default: full\nrules:\n  - name: bench\n    match: { authority: "${POLICY_HOSTS}" }\n    capture: ${level}\n`);
  const deadline = Date.now() + 30_000;
  while (((await admin.metrics()).get(RELOAD_METRIC) ?? 0) === before) {
    if (Date.now() > deadline) throw new Error(`the capture service did not reload ${policyFile} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function runPolicyBench(options: {
  capture: ServerProcess;
  admin: CaptureAdmin;
  policyFile: string;
  tag: string;
  exchanges: number;
  concurrency: number;
  log: (line: string) => void;
}): Promise<PolicyRun[]> {
  const { capture, admin, log } = options;
  const runs: PolicyRun[] = [];
  for (const overrides of [false, true]) {
    for (const level of POLICY_LEVELS) {
      await applyLevel(admin, options.policyFile, level);
      const label = `${level}-${overrides ? 'override' : 'all'}`;
      log(`\n[policy] level ${level}, Envoy ${overrides ? 'honours mode_override' : 'sends every body'}: ${options.exchanges} exchanges at concurrency ${options.concurrency}`);
      const result = await measureEmulatorRun({
        name: 'capture',
        server: capture,
        admin,
        serverPids: [capture.pid],
        load: {
          total: options.exchanges,
          concurrency: options.concurrency,
          allowModeOverride: overrides,
          authority: `${label}-${options.tag}.policy.bench`,
          idPrefix: `policy-${label}-${options.tag}`,
        },
      });
      log(summarizeEmulatorRun(result));
      runs.push({ level, overrides, result, expectedRows: level === 'none' ? 0 : result.exchanges });
    }
  }
  // Back to full, so whatever runs next is captured as before.
  await applyLevel(admin, options.policyFile, 'full');
  return runs;
}

export const POLICY_TITLE =
  'Capture levels (emulator, STREAMED/STREAMED, the realistic chat completion recognised as an OpenAI call; CPU per exchange of the capture service; ' +
  '"all bodies": Envoy sends every body and the service drops what the level does not keep; "override": Envoy honours mode_override)';

export function policyTable(runs: PolicyRun[]): string {
  const full = (overrides: boolean): number => runs.find((run) => run.level === 'full' && run.overrides === overrides)!.result.cpuMicrosPerExchange;
  return table(
    ['level', 'Envoy sends', 'CPU µs/ex', 'vs full', 'ex/s', 'p99 ms', 'failed', 'rows', 'expected'],
    runs.map(({ level, overrides, result, expectedRows }) => [
      level,
      overrides ? 'override' : 'all bodies',
      result.cpuMicrosPerExchange,
      ratio(result.cpuMicrosPerExchange, full(overrides)),
      result.exchangesPerSecond,
      result.p99Ms,
      result.failed,
      result.rowsLanded ?? '-',
      expectedRows,
    ]),
  );
}
