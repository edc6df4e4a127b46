/**
 * The OTLP log export sink: a RowBatch (JSONEachRow lines from the spool) →
 * one OTLP log record per exchange → one or more OTLP/HTTP export requests.
 *
 * Delivery is driven by the caller (the spool cursor): `write()` resolves
 * {ok:true} only when the receiver accepted every request of the batch, so
 * the cursor advances only past records that arrived. The exporter is
 * called directly — never through BatchLogRecordProcessor, which drops
 * records silently when its queue is full or an export fails.
 *
 * What the exporter (otlp-exporter-base 0.301) does on its own, and what we
 * do about it:
 * - It retries 429/502/503/504, timeouts and connection errors internally
 *   (up to 5 retries, backoff 1 s ×1.5 ±20 %, Retry-After honoured) until its
 *   `timeoutMillis` budget would be exceeded. There is no switch to turn that
 *   off without also shortening the per-request timeout, so a failing
 *   write() takes up to `timeoutMs`; the spool's own backoff comes after.
 * - When it gives up on a retryable HTTP status it reports a bare
 *   "Export failed with retryable status": the status and Retry-After are
 *   gone. We observe our own requests' responses through Node's
 *   `http.client.response.finish` diagnostics channel, filtered to the
 *   http.Agent this sink created, and classify from the last response seen.
 * - A partial success (HTTP 200 with rejected records) is reported as
 *   success with only a diag.warn; the spec forbids retrying it, so it
 *   counts as delivered.
 * - `concurrencyLimit` frees its slot a microtask after the result
 *   callback: sequential exports with a limit of 1 fail every other call.
 *   The limit is 2 and a macrotask is yielded between requests.
 */
import * as diagnostics from 'node:diagnostics_channel';
import * as http from 'node:http';
import * as https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtobufLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Logger } from 'pino';
import type { ExchangeRow } from '../../row/exchange-row';
import { CaptureError, describeError, type ErrorCode } from '../../errors';
import type { RowBatch, Sink, WriteResult } from '../sink';
import { attributeBytes, cutValueToBytes, envelopeBytes, recordBytes } from './encoded-size';
import { buildResourceAttributes, createScope, createStaticResource, hrNow, mapExchangeRow, REQUEST_BODY_CONTENT, RESPONSE_BODY_CONTENT, type OtlpResource, type OtlpScope } from './log-record-mapper';
import { parseRetryAfter, resolveOtlpSettings, type OtlpConfig, type OtlpSinkOptions, type OtlpSinkSettings } from './otlp-settings';

type ExporterConfig = NonNullable<ConstructorParameters<typeof JsonLogExporter>[0]>;
type ExportResult = Parameters<Parameters<JsonLogExporter['export']>[1]>[0];
/** ExportResultCode.SUCCESS in @opentelemetry/core (not a direct dependency). */
const EXPORT_SUCCESS = 0;

/** Markers set when a record alone exceeded the request cap and its body content was cut to fit. */
export const REQUEST_BODY_EXPORT_CUT = 'egress_capture.request.body.export_cut';
export const RESPONSE_BODY_EXPORT_CUT = 'egress_capture.response.body.export_cut';

/**
 * HTTP statuses that mean "this data will never be accepted": retrying the
 * same records cannot help, so the caller may drop them (counted). Every
 * other failure status — 401/403/404 (configuration an operator fixes),
 * 408, 429, all 5xx — is reported retryable: the records are fine, the
 * endpoint is not, and the spool's disk budget bounds how long we keep them.
 * (The OTLP spec only retries 429/502/503/504 *immediately*; a 500 retried
 * with the spool's backoff is still a retry with backoff.)
 */
const NON_RETRYABLE_STATUS: ReadonlySet<number> = new Set([400, 413, 422]);

export interface OtlpSinkStats {
  /** Records the receiver accepted (a retry of a partly delivered batch does not count them twice). */
  recordsExported: number;
  /** Export requests that succeeded. */
  requestsSucceeded: number;
  requestsFailed: number;
  /** Lines in a batch that were not a JSON row; skipped, never exported. */
  rowsSkipped: number;
  /** Records whose body content was cut so that they fit the request cap alone. */
  recordsCut: number;
}

interface ObservedResponse {
  status: number;
  retryAfter: string | undefined;
  receivedAtMs: number;
}

interface ExportAttempt {
  /** Last HTTP response seen while this export ran (the exporter may have retried several times). */
  response?: ObservedResponse;
  /** Last request-level error (connection refused, reset, TLS...). */
  requestError?: Error;
}

export interface OtlpSinkDependencies {
  log?: Logger;
  /** Clock for the observed timestamp and Retry-After arithmetic (tests). */
  now?: () => number;
}

export class OtlpSink implements Sink {
  readonly name = 'otlp';
  readonly settings: OtlpSinkSettings;
  private readonly exporter: JsonLogExporter | ProtobufLogExporter;
  private readonly resource: OtlpResource;
  private readonly scope: OtlpScope;
  private readonly agents = new Set<http.Agent>();
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly envelope: number;
  private attempt: ExportAttempt | undefined;
  private subscribed = false;
  private closed = false;
  /** Writes run one at a time: the response observation assumes a single export in flight. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Capture ids already accepted from a batch whose write failed part-way: its retry skips them. */
  private deliveredOfFailedBatch = new Set<string>();
  private readonly statsValue: OtlpSinkStats = { recordsExported: 0, requestsSucceeded: 0, requestsFailed: 0, rowsSkipped: 0, recordsCut: 0 };

  private readonly onResponse = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    if (this.attempt === undefined || !this.ownsRequest(request)) return;
    const retryAfter = response.headers['retry-after'];
    this.attempt.response = {
      status: response.statusCode ?? 0,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      receivedAtMs: this.now(),
    };
  };

  private readonly onRequestError = (message: unknown): void => {
    const { request, error } = message as { request: ClientRequest; error: Error };
    if (this.attempt === undefined || !this.ownsRequest(request)) return;
    this.attempt.requestError = error;
    // A new connection attempt failed after an earlier response: the error is the latest word.
    delete this.attempt.response;
  };

  constructor(settings: OtlpSinkSettings, dependencies: OtlpSinkDependencies = {}) {
    this.settings = settings;
    this.log = dependencies.log;
    this.now = dependencies.now ?? Date.now;
    this.resource = createStaticResource(buildResourceAttributes({ gatewayName: settings.gatewayName, gatewayNamespace: settings.gatewayNamespace }, settings.env));
    this.scope = createScope();
    this.envelope = envelopeBytes(this.resource, this.scope, settings.encoding);
    const exporterConfig: ExporterConfig = {
      url: settings.url,
      headers: settings.headers,
      compression: settings.compression as ExporterConfig['compression'],
      timeoutMillis: settings.timeoutMs,
      concurrencyLimit: 2,
      userAgent: 'egress-capture',
      // Our own agent: it is how the diagnostics-channel listener recognises this sink's requests.
      httpAgentOptions: async (protocol: string) => {
        const agent = protocol === 'http:' ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true, ...settings.tls });
        this.agents.add(agent);
        return agent;
      },
    };
    this.exporter = settings.encoding === 'json' ? new JsonLogExporter(exporterConfig) : new ProtobufLogExporter(exporterConfig);
  }

  get stats(): Readonly<OtlpSinkStats> {
    return { ...this.statsValue };
  }

  /**
   * Nothing to prepare remotely: an unreachable receiver must not stop the
   * service from starting (records wait in the spool). Starts listening for
   * this sink's HTTP responses.
   */
  async open(): Promise<void> {
    this.subscribe();
  }

  write(batch: RowBatch): Promise<WriteResult> {
    const run = this.queue.then(() => this.writeNow(batch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    try {
      await this.exporter.shutdown();
    } finally {
      this.unsubscribe();
      for (const agent of this.agents) agent.destroy();
    }
  }

  private subscribe(): void {
    if (this.subscribed) return;
    diagnostics.subscribe('http.client.response.finish', this.onResponse);
    diagnostics.subscribe('http.client.request.error', this.onRequestError);
    this.subscribed = true;
  }

  private unsubscribe(): void {
    if (!this.subscribed) return;
    diagnostics.unsubscribe('http.client.response.finish', this.onResponse);
    diagnostics.unsubscribe('http.client.request.error', this.onRequestError);
    this.subscribed = false;
  }

  private ownsRequest(request: ClientRequest): boolean {
    const agent = (request as ClientRequest & { agent?: http.Agent }).agent;
    return agent !== undefined && this.agents.has(agent);
  }

  private async writeNow(batch: RowBatch): Promise<WriteResult> {
    if (this.closed) {
      return { ok: false, retryable: false, error: new CaptureError('CAP_ERR_OTLP_EXPORT', 'the OTLP sink is closed') };
    }
    this.subscribe();
    const rows = this.parseRows(batch);
    const pending = rows.filter((row) => !this.deliveredOfFailedBatch.has(row.CaptureId));
    if (pending.length === 0) {
      this.deliveredOfFailedBatch.clear();
      return { ok: true };
    }
    const observed = hrNow();
    const records = pending.map((row) => mapExchangeRow(row, { resource: this.resource, scope: this.scope, observed }));
    const parts = this.planRequests(records);
    for (let i = 0; i < parts.length; i += 1) {
      // Yield a macrotask: the exporter frees its concurrency slot only after our callback has run.
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const part = parts[i]!;
      const result = await this.exportPart(part, i, parts.length, batch);
      if (!result.ok) return result;
      for (const record of part) this.deliveredOfFailedBatch.add(String(record.attributes['egress_capture.capture_id']));
      this.statsValue.recordsExported += part.length;
    }
    this.deliveredOfFailedBatch.clear();
    return { ok: true };
  }

  private parseRows(batch: RowBatch): ExchangeRow[] {
    const rows: ExchangeRow[] = [];
    for (const line of batch.jsonEachRow.split('\n')) {
      if (line.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (err) {
        this.skipRow(batch, `not JSON: ${describeError(err)}`);
        continue;
      }
      if (row === null || typeof row !== 'object' || typeof (row as ExchangeRow).CaptureId !== 'string') {
        this.skipRow(batch, 'not an exchange row (no CaptureId)');
        continue;
      }
      rows.push(row as ExchangeRow);
    }
    return rows;
  }

  private skipRow(batch: RowBatch, reason: string): void {
    // One bad line must not hold back (or, if reported non-retryable, drop) the rest of its batch.
    this.statsValue.rowsSkipped += 1;
    this.log?.warn({ code: 'CAP_ERR_OTLP_ROW_INVALID' satisfies ErrorCode, batchId: batch.batchId, reason }, 'row skipped for OTLP export');
  }

  /**
   * Greedy packing into requests whose estimated encoded size (before
   * compression) stays within maxRequestBytes. A record that exceeds the
   * cap on its own has its body content cut first.
   */
  planRequests(records: ReadableLogRecord[]): ReadableLogRecord[][] {
    const encoding = this.settings.encoding;
    const budget = this.settings.maxRequestBytes - this.envelope;
    const parts: ReadableLogRecord[][] = [];
    let current: ReadableLogRecord[] = [];
    let currentBytes = 0;
    for (let record of records) {
      let size = recordBytes(record, encoding);
      if (size > budget) {
        record = this.fitRecord(record, budget);
        size = recordBytes(record, encoding);
      }
      if (current.length > 0 && currentBytes + size > budget) {
        parts.push(current);
        current = [];
        currentBytes = 0;
      }
      current.push(record);
      currentBytes += size;
    }
    if (current.length > 0) parts.push(current);
    return parts;
  }

  /**
   * Cuts http.*.body.content so the record fits `budget`. Each body gets
   * half of what is left after everything else; a body smaller than its
   * half leaves the rest to the other. If the record is still too large
   * (headers alone over the cap — only with a tiny cap) it is sent anyway:
   * the receiver decides, and a 413 comes back as a non-retryable failure.
   */
  private fitRecord(record: ReadableLogRecord, budget: number): ReadableLogRecord {
    const encoding = this.settings.encoding;
    const attributes: Record<string, unknown> = { ...record.attributes };
    const requestBody = attributes[REQUEST_BODY_CONTENT] as string | Uint8Array | undefined;
    const responseBody = attributes[RESPONSE_BODY_CONTENT] as string | Uint8Array | undefined;
    delete attributes[REQUEST_BODY_CONTENT];
    delete attributes[RESPONSE_BODY_CONTENT];
    if (requestBody !== undefined) {
      attributes[REQUEST_BODY_EXPORT_CUT] = true;
      attributes['egress_capture.request.body.truncated'] = true;
    }
    if (responseBody !== undefined) {
      attributes[RESPONSE_BODY_EXPORT_CUT] = true;
      attributes['egress_capture.response.body.truncated'] = true;
    }
    const without: ReadableLogRecord = { ...record, attributes };
    let available = budget - recordBytes(without, encoding);
    this.statsValue.recordsCut += 1;
    this.log?.warn({ captureId: record.attributes['egress_capture.capture_id'], maxRequestBytes: this.settings.maxRequestBytes }, 'record larger than the OTLP request cap: body content cut to fit');
    if (available <= 0) return without;
    const requestSize = requestBody === undefined ? 0 : attributeBytes(REQUEST_BODY_CONTENT, requestBody, encoding);
    const responseSize = responseBody === undefined ? 0 : attributeBytes(RESPONSE_BODY_CONTENT, responseBody, encoding);
    const half = Math.floor(available / 2);
    let requestShare = requestBody === undefined ? 0 : responseBody === undefined ? available : Math.min(requestSize, Math.max(half, available - responseSize));
    if (requestBody !== undefined) {
      const cut = cutValueToBytes(REQUEST_BODY_CONTENT, requestBody, requestShare, encoding);
      attributes[REQUEST_BODY_CONTENT] = cut;
      if (cut === requestBody) delete attributes[REQUEST_BODY_EXPORT_CUT];
      requestShare = attributeBytes(REQUEST_BODY_CONTENT, cut, encoding);
      available -= requestShare;
    }
    if (responseBody !== undefined && available > 0) {
      const cut = cutValueToBytes(RESPONSE_BODY_CONTENT, responseBody, available, encoding);
      attributes[RESPONSE_BODY_CONTENT] = cut;
      if (cut === responseBody) delete attributes[RESPONSE_BODY_EXPORT_CUT];
    }
    return { ...record, attributes };
  }

  private async exportPart(part: ReadableLogRecord[], index: number, count: number, batch: RowBatch): Promise<WriteResult> {
    const attempt: ExportAttempt = {};
    this.attempt = attempt;
    let result: ExportResult;
    try {
      result = await new Promise<ExportResult>((resolve) => this.exporter.export(part, resolve));
    } catch (err) {
      // export() throwing synchronously means serialization failed: the data itself is the problem.
      this.attempt = undefined;
      this.statsValue.requestsFailed += 1;
      const error = new CaptureError('CAP_ERR_OTLP_EXPORT', `OTLP export could not encode batch ${batch.batchId}: ${describeError(err)}`, { cause: err });
      return { ok: false, retryable: false, error };
    }
    this.attempt = undefined;
    if (result.code === EXPORT_SUCCESS) {
      this.statsValue.requestsSucceeded += 1;
      return { ok: true };
    }
    const response = attempt.response;
    if (response !== undefined && response.status >= 200 && response.status < 300) {
      // The receiver accepted the request (2xx); the exporter failed afterwards (e.g. an oversized response body). Re-sending would duplicate.
      this.statsValue.requestsSucceeded += 1;
      this.log?.warn({ error: describeError(result.error) }, 'OTLP receiver answered 2xx but the exporter reported a failure; counted as delivered');
      return { ok: true };
    }
    this.statsValue.requestsFailed += 1;
    return this.failure(result.error, attempt, `request ${index + 1}/${count} of batch ${batch.batchId} (${part.length} records)`);
  }

  private failure(cause: Error | undefined, attempt: ExportAttempt, what: string): WriteResult {
    const url = this.settings.url;
    const response = attempt.response;
    if (response !== undefined) {
      const retryable = !NON_RETRYABLE_STATUS.has(response.status);
      const retryAfterMs = retryable ? parseRetryAfter(response.retryAfter, response.receivedAtMs, this.now()) : undefined;
      const body = (cause as { data?: unknown } | undefined)?.data;
      const detail = typeof body === 'string' && body !== '' ? `: ${body.slice(0, 300)}` : '';
      const error = new CaptureError('CAP_ERR_OTLP_EXPORT', `OTLP receiver ${url} answered HTTP ${response.status} to ${what}${detail}`, { cause });
      return retryAfterMs === undefined ? { ok: false, retryable, error } : { ok: false, retryable, error, retryAfterMs };
    }
    // No HTTP answer: connection refused/reset, DNS, TLS, timeout. The records are fine; the path to the receiver is not.
    const reason = attempt.requestError ?? cause;
    const code = (reason as { code?: unknown } | undefined)?.code;
    const error = new CaptureError('CAP_ERR_OTLP_EXPORT', `OTLP export to ${url} failed for ${what}: ${describeError(reason)}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: reason });
    return { ok: false, retryable: true, error };
  }
}

/** The sink for the configuration's OTLP settings (the gateway's spec.otlp); throws CAP_ERR_OTLP_CONFIG when the settings are unusable. */
export function createOtlpSink(config: OtlpConfig, options: OtlpSinkOptions = {}, dependencies: OtlpSinkDependencies = {}): OtlpSink {
  return new OtlpSink(resolveOtlpSettings(config, options), dependencies);
}
