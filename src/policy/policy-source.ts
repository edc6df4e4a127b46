/**
 * The capture policy in force and the file it comes from.
 *
 * The file is read at start, where an invalid one stops the service like any
 * bad option. It is then polled (FilePoller, every `intervalMs`): Kubernetes
 * updates a mounted ConfigMap by swapping a symlink, which an inotify watch
 * on the file misses and a stat of the path sees. A changed file that is
 * valid takes effect for every exchange whose request headers arrive after
 * it (an exchange keeps the decision it started with); an invalid one is
 * logged with its problems and counted, and the policy in force stays, so a
 * typo in a ConfigMap never turns capture off or up.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { FilePoller } from '../file-poller';
import { CAPTURE_LEVELS } from './capture-level';
import { FULL_CAPTURE_POLICY, parseCapturePolicy, type CapturePolicy } from './capture-policy';

/**
 * The policy's file name beside the --gateway manifest, where `serve` looks
 * when --capture-policy is not given: `translate --capture-policy` puts it in
 * the capture service's gateway ConfigMap, which the manifests mount as one
 * directory.
 */
export const CAPTURE_POLICY_BESIDE_GATEWAY = 'capture-policy.yaml';

/** What `status` and the admin port show of the policy in force. */
export interface PolicySummary {
  /** The file, or '' when none is configured (everything kept in full). */
  file: string;
  /** First 12 hex digits of the file's SHA-256: which version is in force. */
  digest: string;
  loadedAt: string;
  default: string;
  allowRequestOptOut: boolean;
  retentionDays: Record<string, number>;
  /** In the order they are tried; retentionDays is what the rule's rows get (its own, else its level's; absent: --ttl-days). */
  rules: Array<{ name: string; capture: string; match: string; retentionDays?: number; maxBytes?: number }>;
}

export interface PolicyReloadEvents {
  applied(summary: PolicySummary): void;
  invalid(file: string, err: unknown): void;
}

export class CapturePolicySource {
  private policy: CapturePolicy;
  private digest: string;
  private loadedAt = new Date();
  private lastText: string;
  /** Made before the first read, so a change written after it is seen once watch() starts. */
  private readonly poller: FilePoller | undefined;

  /** Reads and validates the file; throws CapturePolicyError (CAP_ERR_POLICY_INVALID) naming every problem. */
  constructor(readonly file: string) {
    if (file === '') {
      this.policy = FULL_CAPTURE_POLICY;
      this.lastText = '';
      this.digest = '';
      return;
    }
    this.poller = new FilePoller([file]);
    this.lastText = fs.readFileSync(file, 'utf8');
    this.policy = parseCapturePolicy(this.lastText, file);
    this.digest = digestOf(this.lastText);
  }

  current(): CapturePolicy {
    return this.policy;
  }

  /** Polls the file for changes until close(); nothing to watch without a file. */
  watch(intervalMs: number, events: PolicyReloadEvents): void {
    this.poller?.start(intervalMs, () => this.reload(events));
  }

  /** Re-reads the file now (the poller calls it; so can a signal handler). */
  reload(events: PolicyReloadEvents): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      events.invalid(this.file, err);
      return;
    }
    if (text === this.lastText) return;
    try {
      this.policy = parseCapturePolicy(text, this.file);
    } catch (err) {
      // Remembered, so the same broken text is reported once, not at every poll.
      this.lastText = text;
      events.invalid(this.file, err);
      return;
    }
    this.lastText = text;
    this.digest = digestOf(text);
    this.loadedAt = new Date();
    events.applied(this.summary());
  }

  close(): void {
    this.poller?.close();
  }

  summary(): PolicySummary {
    const policy = this.policy;
    const retentionDays: Record<string, number> = {};
    for (const level of CAPTURE_LEVELS) {
      const days = policy.retentionDays[level];
      if (days !== undefined) retentionDays[level] = days;
    }
    return {
      file: this.file,
      digest: this.digest,
      loadedAt: this.loadedAt.toISOString(),
      default: policy.default,
      allowRequestOptOut: policy.allowRequestOptOut,
      retentionDays,
      rules: policy.rules.map((rule) => ({
        name: rule.name,
        capture: rule.capture,
        match: describeMatch(rule),
        ...((rule.retentionDays ?? retentionDays[rule.capture]) !== undefined ? { retentionDays: rule.retentionDays ?? retentionDays[rule.capture] } : {}),
        ...(rule.maxBytes !== undefined ? { maxBytes: rule.maxBytes } : {}),
      })),
    };
  }
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** One line per rule's match, as an operator would write it: `authority=*.amazonaws.com path=/v1/ methods=POST`. */
function describeMatch(rule: CapturePolicy['rules'][number]): string {
  const parts: string[] = [];
  if (rule.authority !== undefined) parts.push(`authority=${rule.authority.source}`);
  if (rule.pathPrefix !== undefined) parts.push(`path=${rule.pathPrefix}*`);
  if (rule.methods !== undefined) parts.push(`methods=${[...rule.methods].join(',')}`);
  if (rule.provider !== undefined) parts.push(`provider=${rule.provider}`);
  const workload = rule.workload;
  if (workload !== undefined) {
    for (const key of ['namespace', 'name', 'kind'] as const) if (workload[key] !== undefined) parts.push(`workload.${key}=${workload[key]}`);
  }
  return parts.length === 0 ? 'everything' : parts.join(' ');
}
