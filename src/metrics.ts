/**
 * Prometheus metrics (prom-client: the standard Node exposition library, with
 * correct text format and process metrics for free). One registry per
 * service instance so tests can run several instances in one process.
 */
import * as prom from 'prom-client';

/** One label value's running count; `inc` is a plain addition. */
export class TallyCell {
  value = 0;
  reported = 0;

  inc(by = 1): void {
    this.value += by;
  }
}

/**
 * Counts that move on every ext_proc message or exchange, kept as plain
 * numbers and handed to the prom-client counter only when /metrics is read
 * (from its collect hook). prom-client hashes the label set and allocates
 * on every labelled inc(), even through a child from labels(), which at 44
 * messages per exchange was a visible share of the event loop's work.
 */
class LabelTally {
  private readonly cells = new Map<string, TallyCell>();

  constructor(private readonly labelName: string) {}

  cell(labelValue: string): TallyCell {
    let cell = this.cells.get(labelValue);
    if (cell === undefined) {
      cell = new TallyCell();
      this.cells.set(labelValue, cell);
    }
    return cell;
  }

  /** Adds what was counted since the last read to the exported counter. */
  flushTo(counter: prom.Counter<string>): void {
    for (const [labelValue, cell] of this.cells) {
      if (cell.value === cell.reported) continue;
      counter.inc({ [this.labelName]: labelValue }, cell.value - cell.reported);
      cell.reported = cell.value;
    }
  }
}

export class CaptureMetrics {
  readonly registry = new prom.Registry();

  readonly tlsCertificateNotAfter = new prom.Gauge({
    name: 'egress_capture_tls_certificate_not_after_seconds',
    help: 'the notAfter of the certificate a listener serves, Unix seconds (alert well before it passes)',
    labelNames: ['listener'],
    registers: [this.registry],
  });
  readonly tlsReloadFailures = new prom.Counter({
    name: 'egress_capture_tls_reload_failures_total',
    help: 'changed TLS certificate/key files that could not be loaded (the previous pair stayed in use)',
    labelNames: ['listener'],
    registers: [this.registry],
  });
  readonly activeStreams = new prom.Gauge({ name: 'egress_capture_active_streams', help: 'ext_proc streams currently open', registers: [this.registry] });
  private readonly messageTally = new LabelTally('type');
  private readonly exchangeTally = new LabelTally('outcome');
  private readonly bodySeenTally = new LabelTally('direction');
  private readonly bodyCapturedTally = new LabelTally('direction');
  private readonly bodyTruncatedTally = new LabelTally('direction');
  readonly messages: prom.Counter<string> = new prom.Counter({
    name: 'egress_capture_extproc_messages_total',
    help: 'ext_proc messages received, by part',
    labelNames: ['type'],
    registers: [this.registry],
    collect: () => this.messageTally.flushTo(this.messages),
  });
  readonly exchanges: prom.Counter<string> = new prom.Counter({
    name: 'egress_capture_exchanges_total',
    help: 'exchanges finished, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
    collect: () => this.exchangeTally.flushTo(this.exchanges),
  });
  readonly bodyBytesSeen: prom.Counter<string> = new prom.Counter({
    name: 'egress_capture_body_bytes_seen_total',
    help: 'body bytes seen on the wire',
    labelNames: ['direction'],
    registers: [this.registry],
    collect: () => this.bodySeenTally.flushTo(this.bodyBytesSeen),
  });
  readonly bodyBytesCaptured: prom.Counter<string> = new prom.Counter({
    name: 'egress_capture_body_bytes_captured_total',
    help: 'decoded body bytes stored',
    labelNames: ['direction'],
    registers: [this.registry],
    collect: () => this.bodyCapturedTally.flushTo(this.bodyBytesCaptured),
  });
  readonly bodiesTruncated: prom.Counter<string> = new prom.Counter({
    name: 'egress_capture_bodies_truncated_total',
    help: 'bodies cut at max bytes',
    labelNames: ['direction'],
    registers: [this.registry],
    collect: () => this.bodyTruncatedTally.flushTo(this.bodiesTruncated),
  });
  readonly bodyNotes = new prom.Counter({ name: 'egress_capture_body_notes_total', help: 'bodies not stored as plain text, by reason', labelNames: ['direction', 'note'], registers: [this.registry] });
  readonly bodyRedactions = new prom.Counter({
    name: 'egress_capture_body_redactions_total',
    help: 'secrets redacted from stored bodies and folded text, by rule',
    labelNames: ['rule'],
    registers: [this.registry],
  });
  readonly policyExchanges = new prom.Counter({
    name: 'egress_capture_policy_exchanges_total',
    help: 'exchanges by the capture level the policy decided and the rule that decided it ("default": no rule matched); level none stores no row',
    labelNames: ['level', 'rule'],
    registers: [this.registry],
  });
  readonly policyOptOuts = new prom.Counter({
    name: 'egress_capture_policy_opt_outs_total',
    help: 'requests that carried the x-egress-capture header, by what became of it (applied, refused_not_allowed, ignored_not_lower, ignored_invalid)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly policyReloads = new prom.Counter({
    name: 'egress_capture_policy_reloads_total',
    help: 'changes of the --capture-policy file: applied, or invalid (the policy in force stayed)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly genAiExchanges = new prom.Counter({ name: 'egress_capture_genai_exchanges_total', help: 'exchanges recognised as model calls and folded', registers: [this.registry] });
  readonly processingBacklogBytes = new prom.Gauge({ name: 'egress_capture_processing_backlog_bytes', help: 'body bytes handed to workers and not yet processed', registers: [this.registry] });
  readonly workerMemory = new prom.Gauge({
    name: 'egress_capture_worker_memory_bytes',
    help: 'memory a body worker holds, after its last batch: V8 heap in use and external memory (body buffers)',
    labelNames: ['worker', 'kind'],
    registers: [this.registry],
  });
  readonly rowsWritten = new prom.Counter({ name: 'egress_capture_rows_written_total', help: 'rows written to storage', labelNames: ['sink'], registers: [this.registry] });
  readonly rowsDropped = new prom.Counter({ name: 'egress_capture_rows_dropped_total', help: 'exchanges that will never be stored, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly inflightRecovered = new prom.Counter({
    name: 'egress_capture_inflight_recovered_total',
    help: 'exchanges a killed run left in the in-flight journal, at start: rebuilt (row without bodies, note lost_in_crash), already_spooled, or lost (counted as dropped)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly rowsPending = new prom.Gauge({ name: 'egress_capture_rows_pending', help: 'rows built or being built but not yet stored', registers: [this.registry] });
  readonly batchSeconds = new prom.Histogram({
    name: 'egress_capture_batch_write_seconds',
    help: 'time to write one batch',
    labelNames: ['sink'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly errors = new prom.Counter({ name: 'egress_capture_errors_total', help: 'errors, by kind', labelNames: ['kind'], registers: [this.registry] });

  // Spool and per-sink delivery (src/spool, src/sinks/delivery). Per sink:
  // captured = delivered + pending + sum(dropped by reason).
  /** Set by the service: fills the spool/pending gauges from live state when they are read. */
  spoolGaugeSource: (() => { spoolBytes: number; spoolSegments: number; pending: Record<string, number> }) | undefined;
  readonly sinkRecords = new prom.Counter({
    name: 'egress_capture_sink_records_total',
    help: 'records per sink: captured (entered its queue, incl. found in the spool at start) and delivered',
    labelNames: ['sink', 'state'],
    registers: [this.registry],
  });
  readonly sinkDropped = new prom.Counter({ name: 'egress_capture_sink_dropped_total', help: 'records a sink will never get, by reason', labelNames: ['sink', 'reason'], registers: [this.registry] });
  readonly sinkBodiesDropped = new prom.Counter({
    name: 'egress_capture_sink_bodies_dropped_total',
    help: 'records a sink gets without their bodies, by reason',
    labelNames: ['sink', 'reason'],
    registers: [this.registry],
  });
  readonly sinkPending: prom.Gauge<'sink'> = new prom.Gauge({
    name: 'egress_capture_sink_pending_records',
    help: 'records in the spool not yet delivered to a sink',
    labelNames: ['sink'],
    registers: [this.registry],
    collect: (): void => {
      for (const [sink, pending] of Object.entries(this.spoolGaugeSource?.().pending ?? {})) this.sinkPending.set({ sink }, pending);
    },
  });
  readonly spoolBytes: prom.Gauge = new prom.Gauge({
    name: 'egress_capture_spool_bytes',
    help: 'bytes of spool segment files on disk',
    registers: [this.registry],
    collect: (): void => this.spoolBytes.set(this.spoolGaugeSource?.().spoolBytes ?? 0),
  });
  readonly spoolSegments: prom.Gauge = new prom.Gauge({
    name: 'egress_capture_spool_segments',
    help: 'spool segment files on disk',
    registers: [this.registry],
    collect: (): void => this.spoolSegments.set(this.spoolGaugeSource?.().spoolSegments ?? 0),
  });

  /** Per-direction body counters (tallies): they move for every exchange. */
  readonly bodyCounters = {
    request: { seen: this.bodySeenTally.cell('request'), captured: this.bodyCapturedTally.cell('request'), truncated: this.bodyTruncatedTally.cell('request') },
    response: { seen: this.bodySeenTally.cell('response'), captured: this.bodyCapturedTally.cell('response'), truncated: this.bodyTruncatedTally.cell('response') },
  };

  /** The per-part message count (a tally: this runs for every ext_proc message). */
  messageCounter(type: string): TallyCell {
    return this.messageTally.cell(type);
  }

  /** The exchanges-by-outcome count (a tally). */
  exchangeCounter(outcome: string): TallyCell {
    return this.exchangeTally.cell(outcome);
  }

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) prom.collectDefaultMetrics({ register: this.registry, prefix: 'egress_capture_' });
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
