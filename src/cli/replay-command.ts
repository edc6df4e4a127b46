/**
 * `egress-capture replay --since TIME [--until TIME] [--endpoint URL]
 *   [--admin URL] [--batch-rows N] [--timeout DURATION] [--max-retries N] [serve options: --data-dir, --gateway, --clickhouse-url ...]`
 *
 * Re-exports stored exchanges from ClickHouse to the OTLP endpoint: the
 * backfill after a receiver outage longer than the spool kept. Rows are read
 * in pages ordered by (Timestamp, CaptureId) and paged by that key, so a
 * page boundary never skips or repeats a row; each page is one OTLP sink
 * write, retried with backoff (Retry-After honoured) until it is accepted,
 * or until --max-retries or --timeout says to give up (exit 1, with where to
 * resume).
 * The receiver may see records it already had: each carries
 * egress_capture.capture_id for deduplication.
 *
 * Where rows come from: store-chooser.ts decides (--admin URL, else the
 * running server that owns --data-dir, through its admin port with the
 * admin credentials, else --clickhouse-url, else the embedded store in
 * --data-dir opened here).
 *
 * TIME: ISO 8601 (2026-11-21T10:00:00Z; without a zone = UTC), or relative
 * to now: -90s, -30m, -1h, -2d, -1w; "now".
 */
import type { RuntimeConfig } from '../config/runtime-config';
import { describeError } from '../errors';
import { createLogger } from '../logger';
import { TABLE } from '../sinks/clickhouse/schema';
import { sqlStringLiteral } from '../sinks/clickhouse/sql-literal';
import { retryDelayMs } from '../sinks/delivery/backoff';
import { createOtlpSink, resolveOtlpSettings } from '../sinks/otlp';
import type { Sink } from '../sinks/sink';
import { DEFAULTS } from '../config/defaults';
import type { CommandIo } from './main';
import { parseAdminUrl } from './admin-client';
import { loadCommandConfig, splitCommandArgs } from './command-config';
import { commandError } from './command-error';
import { openStoreReader, type StoreReader } from './store-chooser';

const USAGE =
  'usage: egress-capture replay --since TIME [--until TIME] [--endpoint URL] [--admin URL] [--batch-rows N] [--timeout DURATION] [--max-retries N] [--data-dir DIR | --clickhouse-url URL] [--gateway FILE]\n';
/** Rows per OTLP write; the sink splits further by its request byte cap. */
const DEFAULT_BATCH_ROWS = 500;
const HELP = `${USAGE}
Re-exports stored exchanges as OTLP logs (the backfill after a receiver outage longer than the spool kept).

  --since TIME, --until TIME  ISO 8601 (2026-11-21T10:00:00Z; no zone = UTC) or relative (-90s, -30m, -1h, -2d, -1w, now);
                              --until defaults to now
  --endpoint URL              OTLP/HTTP base URL (default: the --gateway manifest's spec.otlp.endpoint, or OTEL_EXPORTER_OTLP_ENDPOINT)
  --admin URL                 read through a running server's admin port, http://HOST:PORT, with
                              --admin-user/--admin-password (or EGRESS_CAPTURE_ADMIN_USER/_PASSWORD) when it asks
  --batch-rows N              rows per OTLP write (${DEFAULT_BATCH_ROWS})
  --timeout DURATION          give up when one batch is still not accepted after this long, its attempts and the
                              waits between them included: 30s, 2m, 500ms; a bare number is seconds (${formatDuration(DEFAULTS.replayTimeoutMs)})
  --max-retries N             retries of a failing batch after its first attempt (${DEFAULTS.replayMaxRetries})
  serve options               --data-dir, --clickhouse-url, --gateway, ... choose the store and the OTLP settings
`;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;
const TIMEOUT_RANGE_MS = [100, 3_600_000] as const;
const MAX_RETRIES_LIMIT = 1000;

/** `--timeout`: 30s, 2m, 500ms, or a bare number of seconds, from 100 ms to 1 h; milliseconds or the problem. */
export function parseReplayTimeout(raw: string): number | { error: string } {
  const match = DURATION.exec(raw.trim());
  const ms = match === null ? NaN : Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1000);
  if (!(ms >= TIMEOUT_RANGE_MS[0] && ms <= TIMEOUT_RANGE_MS[1])) return { error: `--timeout: "${raw}" expected a duration from 100ms to 60m, like 30s, 2m or 500ms` };
  return Math.round(ms);
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const RELATIVE = /^-(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Parses ISO 8601 or a relative time; returns epoch milliseconds or an error text. */
export function parseReplayTime(raw: string, now = Date.now()): number | { error: string } {
  const text = raw.trim();
  if (text === 'now') return now;
  const relative = RELATIVE.exec(text);
  if (relative !== null) return now - Number(relative[1]) * UNIT_MS[relative[2]!]!;
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) {
    return { error: `"${raw}" is not ISO 8601 (2026-11-21T10:00:00Z) or relative (-30m, -1h, -2d)` };
  }
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text.replace(' ', 'T')}${text.length > 10 ? '' : 'T00:00:00'}Z`;
  const ms = Date.parse(zoned.replace(' ', 'T'));
  return Number.isNaN(ms) ? { error: `"${raw}" is not a valid date` } : ms;
}

/** ClickHouse DateTime64(3) literal in UTC. */
function chTime(ms: number): string {
  return `toDateTime64('${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}', 3, 'UTC')`;
}

export async function runReplayCommand(argv: string[], io: CommandIo): Promise<number> {
  const own = {
    since: { type: 'string' },
    until: { type: 'string' },
    endpoint: { type: 'string' },
    admin: { type: 'string' },
    'batch-rows': { type: 'string' },
    timeout: { type: 'string' },
    'max-retries': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  let values: {
    since?: string;
    until?: string;
    endpoint?: string;
    admin?: string;
    'batch-rows'?: string;
    timeout?: string;
    'max-retries'?: string;
    help?: boolean;
  };
  let rest: string[];
  try {
    const parsed = splitCommandArgs<typeof values>(argv, own);
    values = parsed.values;
    // Everything that is not a replay option goes to the usual configuration (--data-dir, --gateway, ...), which reports strays.
    rest = [...parsed.configArgv, ...parsed.positionals];
  } catch (err) {
    io.stderr.write(`egress-capture replay: ${describeError(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout.write(HELP);
    return 0;
  }
  const problems: string[] = [];
  const now = Date.now();
  const since = values.since === undefined ? { error: 'is required' } : parseReplayTime(values.since, now);
  const until = values.until === undefined ? now : parseReplayTime(values.until, now);
  if (typeof since !== 'number') problems.push(`--since ${since.error}`);
  if (typeof until !== 'number') problems.push(`--until ${until.error}`);
  const batchRows = values['batch-rows'] === undefined ? DEFAULT_BATCH_ROWS : Number(values['batch-rows']);
  if (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 100_000) problems.push(`--batch-rows "${values['batch-rows']}" expected a whole number from 1 to 100000`);
  const timeoutMs = values.timeout === undefined ? DEFAULTS.replayTimeoutMs : parseReplayTimeout(values.timeout);
  if (typeof timeoutMs !== 'number') problems.push(timeoutMs.error);
  const maxRetries = values['max-retries'] === undefined ? DEFAULTS.replayMaxRetries : Number(values['max-retries']);
  if (!/^\d+$/.test((values['max-retries'] ?? '0').trim()) || maxRetries > MAX_RETRIES_LIMIT) {
    problems.push(`--max-retries: "${values['max-retries']}" expected a whole number from 0 to ${MAX_RETRIES_LIMIT}`);
  }
  const admin = values.admin === undefined ? undefined : parseAdminUrl(values.admin);
  if (admin !== undefined && !(admin instanceof URL)) problems.push(admin.error);
  let config: RuntimeConfig | undefined;
  try {
    config = loadCommandConfig(rest, io.env);
  } catch (err) {
    problems.push(describeError(err));
  }
  const endpoint = values.endpoint ?? (config?.otlpEndpoint || io.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT || io.env.OTEL_EXPORTER_OTLP_ENDPOINT || '');
  if (endpoint.trim() === '') problems.push('no OTLP endpoint: pass --endpoint URL, --gateway FILE with spec.otlp.endpoint, or set OTEL_EXPORTER_OTLP_ENDPOINT');
  if (problems.length > 0 || config === undefined || typeof since !== 'number' || typeof until !== 'number' || typeof timeoutMs !== 'number') {
    io.stderr.write(`egress-capture replay:\n  ${problems.join('\n  ')}\n${USAGE}`);
    return 2;
  }
  if (until <= since) {
    io.stderr.write('egress-capture replay: --until must be later than --since\n');
    return 2;
  }

  const log = createLogger(config.logLevel === DEFAULTS.logLevel ? 'warn' : config.logLevel);
  let source: StoreReader | undefined;
  let sink: Sink | undefined;
  try {
    // Not read-only: the page query sets output_format_json_quote_64bit_integers, which readonly=1 refuses.
    source = await openStoreReader(config, admin instanceof URL ? admin : undefined, { readOnly: false });
    // No single attempt may outlast the batch's whole budget.
    const attemptTimeoutMs = Math.min(timeoutMs, resolveOtlpSettings(config, { endpoint }).timeoutMs);
    sink = createOtlpSink(config, { endpoint, timeoutMs: attemptTimeoutMs }, { log });
    await sink.open();
    io.stdout.write(`replaying exchanges from ${new Date(since).toISOString()} to ${new Date(until).toISOString()} (${source.describe}) to ${endpoint}\n`);
    let total = 0;
    let batches = 0;
    let last: { ts: string; id: string } | undefined;
    for (;;) {
      const after = last === undefined ? '' : ` AND (toString(Timestamp), CaptureId) > (${sqlStringLiteral(last.ts)}, ${sqlStringLiteral(last.id)})`;
      // The key is compared as text: DateTime64(9) prints fixed-width, so text order is time order.
      const sql =
        `SELECT * FROM ${TABLE} WHERE Timestamp >= ${chTime(since)} AND Timestamp < ${chTime(until)}${after} ` +
        `ORDER BY toString(Timestamp), CaptureId LIMIT ${batchRows} SETTINGS output_format_json_quote_64bit_integers = 0`;
      const text = await source.query(sql, 'JSONEachRow');
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      if (lines.length === 0) break;
      const lastRow = JSON.parse(lines[lines.length - 1]!) as { Timestamp: string; CaptureId: string };
      const jsonEachRow = lines.join('\n') + '\n';
      batches += 1;
      const batch = { jsonEachRow, rowCount: lines.length, byteLength: Buffer.byteLength(jsonEachRow), batchId: `replay-${since}-${batches}` };
      const batchStarted = Date.now();
      for (let attempt = 1; ; attempt++) {
        const result = await sink.write(batch);
        if (result.ok) break;
        const delay = retryDelayMs({ initialMs: DEFAULTS.replayRetryInitialMs, maxMs: DEFAULTS.replayRetryMaxMs, retryAfterMaxMs: timeoutMs }, attempt, result.retryAfterMs);
        // Retry only when the wait and a whole next attempt still fit in --timeout.
        const outOfTime = Date.now() - batchStarted + delay + attemptTimeoutMs > timeoutMs;
        const why = !result.retryable
          ? 'the endpoint refused it (not retryable)'
          : attempt > maxRetries
            ? `--max-retries ${maxRetries} reached`
            : outOfTime
              ? `another attempt would not end within --timeout ${formatDuration(timeoutMs)}`
              : undefined;
        if (why !== undefined) {
          const seconds = ((Date.now() - batchStarted) / 1000).toFixed(1);
          io.stderr.write(`egress-capture replay: batch ${batches} not accepted by ${endpoint} after ${attempt} attempt(s) in ${seconds} s, giving up (${why}): ${result.error.message}\n`);
          io.stdout.write(`exported ${total} exchange(s) in ${batches - 1} batch(es) before the failure; re-run with --since ${lastRowTime(last)} to continue\n`);
          return 1;
        }
        io.stderr.write(`egress-capture replay: batch ${batches}: ${result.error.message}; retrying in ${delay} ms\n`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      total += lines.length;
      io.stdout.write(`batch ${batches}: ${lines.length} exchange(s) exported (total ${total})\n`);
      last = { ts: lastRow.Timestamp, id: lastRow.CaptureId };
      if (lines.length < batchRows) break;
    }
    io.stdout.write(`replayed ${total} exchange(s) in ${batches} batch(es)\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`egress-capture replay: ${commandError(err)}\n`);
    return 1;
  } finally {
    await sink?.close().catch(() => undefined);
    await source?.close().catch(() => undefined);
    log.flush();
  }
}

function lastRowTime(last: { ts: string } | undefined): string {
  return last === undefined ? '(the same --since)' : `"${last.ts.replace(' ', 'T')}Z"`;
}
