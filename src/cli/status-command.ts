/**
 * `egress-capture status [--admin URL | --data-dir DIR] [--admin-user U --admin-password P] [--json]`: the
 * spool and every sink's accounting (captured = delivered + pending +
 * dropped by reason), readable.
 *
 * With a running server (--admin, or the server file in --data-dir) it reads
 * GET /status. With no server it reads the spool files themselves: what each
 * sink's cursor still has to deliver — what the next start will send.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULTS } from '../config/defaults';
import { describeError } from '../errors';
import type { DeliveryStatus } from '../sinks/delivery/delivery-hub';
import type { PolicySummary } from '../policy/policy-source';
import { spoolDir } from '../sinks/delivery/delivery-hub';
import { readJsonFile } from '../spool/atomic-file';
import { scanSegment } from '../spool/record-format';
import type { CursorState } from '../spool/spool-consumer';
import type { CommandIo } from './main';
import { AdminRefused, AdminUnreachable } from './admin-client';
import { readAdminAndConfig, splitCommandArgs } from './command-config';
import { commandError } from './command-error';
import { chooseAdmin } from './store-chooser';

const USAGE = `usage: egress-capture status [--admin URL | --data-dir DIR] [--admin-user U --admin-password P] [--json]

The spool and every sink's accounting: captured = delivered + pending + dropped (by reason).

  --admin URL     a running server's admin port, http://HOST:PORT
  --data-dir DIR  the data directory (default ${DEFAULTS.dataDir}, env EGRESS_CAPTURE_DATA_DIR): its server
                  when one runs, else the spool files on disk
  --admin-user U, --admin-password P
                  admin port credentials (also in the URL, or EGRESS_CAPTURE_ADMIN_USER/_PASSWORD, which
                  the server reads too)
  --json          the full status as JSON
`;

const OWN = { admin: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

export async function runStatusCommand(argv: string[], io: CommandIo): Promise<number> {
  let args: ReturnType<typeof splitCommandArgs<{ admin?: string; json?: boolean; help?: boolean }>>;
  try {
    args = splitCommandArgs(argv, OWN);
    if (args.positionals.length > 0) throw new TypeError(`"${args.positionals[0]}": unexpected argument`);
  } catch (err) {
    io.stderr.write(`egress-capture status: ${describeError(err)}\n${USAGE}`);
    return 2;
  }
  const { values } = args;
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  const inputs = readAdminAndConfig(values.admin, args.configArgv, io.env);
  if ('error' in inputs) {
    io.stderr.write(`egress-capture status: ${inputs.error}\n`);
    return 2;
  }
  const { config, admin: adminFlag } = inputs;
  const dataDir = config.dataDir;
  try {
    const admin = chooseAdmin(config, adminFlag);
    if (admin !== undefined) {
      let text: string | undefined;
      try {
        text = await admin.get('/status');
      } catch (err) {
        // The server the data directory names is gone while its pid lives on (unreaped, or another process's now): read the directory instead.
        if (!(admin.foundIn !== undefined && err instanceof AdminUnreachable)) throw err;
        io.stderr.write(`egress-capture status: the server recorded in ${path.resolve(dataDir)} does not answer at ${admin.origin}; reading the data directory\n`);
      }
      if (text !== undefined) {
        const status = JSON.parse(text) as ServerStatus;
        // The origin, never the --admin text: that may carry a password.
        io.stdout.write(values.json === true ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status, admin.origin));
        return status.balanced ? 0 : 1;
      }
    }
    const offline = readSpoolOffline(spoolDir(dataDir));
    if (offline === undefined) {
      io.stderr.write(`egress-capture status: no running server for ${path.resolve(dataDir)} and no spool there (pass --admin URL or --data-dir DIR)\n`);
      return 1;
    }
    io.stdout.write(values.json === true ? JSON.stringify(offline, null, 2) + '\n' : formatOffline(offline));
    return 0;
  } catch (err) {
    // A refusal (401 without credentials …) is not a failed query: its text says what the port answered.
    io.stderr.write(`egress-capture status: ${err instanceof AdminRefused ? describeError(err) : commandError(err)}\n`);
    return 1;
  }
}

/** GET /status: the delivery accounting and the capture policy in force (absent from servers older than the policy). */
export type ServerStatus = DeliveryStatus & { capturePolicy?: PolicySummary };

export function formatStatus(status: ServerStatus, source: string): string {
  const spool = status.spool;
  const lines = [
    `server   ${source}`,
    `spool    ${spool.dir}: ${bytes(spool.bytes)} of ${bytes(spool.maxBytes)} budget, ${spool.segments} segment(s), ${spool.records} record(s), fsync ${spool.fsyncIntervalMs === 0 ? 'every append' : `every ${spool.fsyncIntervalMs} ms at most`}`,
  ];
  const recovery = spool.recovery;
  if (recovery.records > 0 || recovery.tornTailRecords > 0 || recovery.corruptRegions > 0) {
    lines.push(`at start ${recovery.records} record(s) found, ${recovery.tornTailRecords} torn record(s) cut, ${recovery.corruptRegions} damaged region(s) skipped`);
  }
  // What a kill -9 left in the workers, brought back by the in-flight journal at this start.
  const crash = status.inflight.recovery;
  if (crash.unfinished > 0 || crash.tornRecords > 0) {
    lines.push(
      `crash    ${crash.unfinished} exchange(s) in flight at the last kill: ${crash.rebuilt} rebuilt without bodies (lost_in_crash), ${crash.alreadySpooled} already spooled, ${crash.lost} lost; ${crash.tornRecords} torn journal record(s)`,
    );
  }
  lines.push('');
  const header = ['sink', 'state', 'captured', 'delivered', 'pending', 'dropped', 'no bodies', 'last error'];
  const rows = status.sinks.map((sink) => [
    sink.sink,
    sink.state,
    String(sink.captured),
    String(sink.delivered),
    String(sink.pending),
    String(sum(sink.dropped)),
    String(sum(sink.bodiesDropped)),
    sink.lastError === undefined ? '-' : `${sink.lastError.slice(0, 80)}${sink.nextAttemptAt !== undefined && sink.state === 'retrying' ? ` (next try ${sink.nextAttemptAt})` : ''}`,
  ]);
  lines.push(...table([header, ...rows]));
  for (const sink of status.sinks) {
    const reasons = Object.entries(sink.dropped).map(([reason, n]) => `${reason}=${n}`);
    const bodies = Object.entries(sink.bodiesDropped).map(([reason, n]) => `${reason}=${n}`);
    if (reasons.length > 0) lines.push(`${sink.sink} dropped: ${reasons.join(', ')}`);
    if (bodies.length > 0) lines.push(`${sink.sink} delivered without bodies: ${bodies.join(', ')}`);
  }
  lines.push('', status.balanced ? 'balanced: captured = delivered + pending + dropped for every sink' : 'NOT BALANCED: some records are unaccounted for (see "unaccounted" in --json)');
  if (status.capturePolicy !== undefined) lines.push('', ...formatPolicy(status.capturePolicy));
  return lines.join('\n') + '\n';
}

/** The policy in force: its file and version, then one line per rule in the order they are tried. */
function formatPolicy(policy: PolicySummary): string[] {
  if (policy.file === '') return ['capture policy  none: every exchange kept in full (--capture-policy)'];
  const lines = [`capture policy  ${policy.file} (sha256 ${policy.digest}), default ${policy.default}, opt-out ${policy.allowRequestOptOut ? 'allowed' : 'refused'}, loaded ${policy.loadedAt}`];
  const retention = (days: number | undefined, level: string): string => (level === 'none' ? 'no row' : days === undefined ? 'retention --ttl-days' : `retention ${days} d`);
  const rows = policy.rules.map((rule) => [`rule ${rule.name}`, rule.capture, rule.match, retention(rule.retentionDays, rule.capture)]);
  rows.push(['default', policy.default, 'no rule matched', retention(policy.retentionDays[policy.default], policy.default)]);
  lines.push(...table(rows));
  return lines;
}

export interface OfflineSpoolStatus {
  dir: string;
  bytes: number;
  segments: number;
  records: number;
  sinks: Array<{ sink: string; pending: number; deliveredLifetime: number; cursor: { segment: number; record: number }; inflight: CursorState['inflight'] }>;
}

/** Reads the spool without changing it (no repair: a torn tail is simply not counted). */
export function readSpoolOffline(dir: string): OfflineSpoolStatus | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const meta = readJsonFile<{ spoolId: string }>(path.join(dir, 'spool.json'));
  const segments: Array<{ seq: number; count: number; size: number }> = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const match = /^(\d+)\.seg$/.exec(name);
    if (match === null) continue;
    const buffer = fs.readFileSync(path.join(dir, name));
    const scan = scanSegment(buffer);
    segments.push({ seq: Number(match[1]), count: scan?.offsets.length ?? 0, size: buffer.length });
  }
  const sinks: OfflineSpoolStatus['sinks'] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const match = /^cursor-(.+)\.json$/.exec(name);
    if (match === null) continue;
    const cursor = readJsonFile<CursorState>(path.join(dir, name));
    if (cursor === undefined) continue;
    const current = cursor.spoolId === meta?.spoolId;
    const start = current ? (cursor.inflight ?? cursor) : { segment: 0, record: 0 };
    const pending = segments.reduce((total, segment) => {
      if (segment.seq < start.segment) return total;
      return total + Math.max(0, segment.count - (segment.seq === start.segment ? start.record : 0));
    }, 0);
    sinks.push({ sink: match[1]!, pending, deliveredLifetime: cursor.delivered, cursor: { segment: cursor.segment, record: cursor.record }, inflight: cursor.inflight });
  }
  return {
    dir,
    bytes: segments.reduce((total, segment) => total + segment.size, 0),
    segments: segments.length,
    records: segments.reduce((total, segment) => total + segment.count, 0),
    sinks,
  };
}

function formatOffline(status: OfflineSpoolStatus): string {
  const lines = [
    `no server running; spool on disk: ${status.dir}`,
    `spool    ${bytes(status.bytes)}, ${status.segments} segment(s), ${status.records} record(s)`,
    '',
    ...table([
      ['sink', 'pending (sent at next start)', 'delivered (lifetime)', 'in flight'],
      ...status.sinks.map((sink) => [sink.sink, String(sink.pending), String(sink.deliveredLifetime), sink.inflight === null ? '-' : `${sink.inflight.count} record(s)`]),
    ]),
  ];
  return lines.join('\n') + '\n';
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '));
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
