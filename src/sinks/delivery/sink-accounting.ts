/**
 * Per-sink record accounting. Every record that enters a sink's queue
 * (appended to the spool, or found there at start) is counted as captured
 * and ends in exactly one of delivered, dropped(reason) or — for now —
 * pending, so at any moment
 *
 *   captured = delivered + pending + sum(dropped)
 *
 * The counts are this process's; the spool cursors carry the lifetime
 * delivered count across restarts. Body drops are separate: the record is
 * still delivered, without its bodies.
 */
import type { CaptureMetrics } from '../../metrics';
import type { ConsumerHooks } from '../../spool/spool-consumer';

export interface SinkCounts {
  captured: number;
  recovered: number;
  delivered: number;
  dropped: Record<string, number>;
  bodiesDropped: Record<string, number>;
}

export class SinkAccounting implements ConsumerHooks {
  readonly counts: SinkCounts = { captured: 0, recovered: 0, delivered: 0, dropped: {}, bodiesDropped: {} };

  constructor(
    readonly sink: string,
    private readonly metrics?: CaptureMetrics,
  ) {}

  captured(count: number, source: 'appended' | 'recovered'): void {
    this.counts.captured += count;
    if (source === 'recovered') this.counts.recovered += count;
    this.metrics?.sinkRecords.inc({ sink: this.sink, state: 'captured' }, count);
  }

  delivered(count: number): void {
    this.counts.delivered += count;
    this.metrics?.sinkRecords.inc({ sink: this.sink, state: 'delivered' }, count);
  }

  dropped(count: number, reason: string): void {
    this.counts.dropped[reason] = (this.counts.dropped[reason] ?? 0) + count;
    this.metrics?.sinkDropped.inc({ sink: this.sink, reason }, count);
  }

  bodiesDropped(count: number, reason: string): void {
    this.counts.bodiesDropped[reason] = (this.counts.bodiesDropped[reason] ?? 0) + count;
    this.metrics?.sinkBodiesDropped.inc({ sink: this.sink, reason }, count);
  }

  get droppedTotal(): number {
    return Object.values(this.counts.dropped).reduce((sum, n) => sum + n, 0);
  }
}
