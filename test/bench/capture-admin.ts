/**
 * The capture service's admin endpoint as the bench uses it: Prometheus
 * counters (rows written/dropped, errors, exchanges by outcome) and SQL
 * through /query, which is the only way in while the server owns the data
 * directory.
 */

export class CaptureAdmin {
  constructor(private readonly baseUrl: string) {}

  /** Sum of every sample of each metric family, keyed `name` and `name{labels}`. */
  async metrics(): Promise<Map<string, number>> {
    const res = await fetch(`${this.baseUrl}/metrics`);
    if (!res.ok) throw new Error(`/metrics: HTTP ${res.status}`);
    const samples = new Map<string, number>();
    for (const line of (await res.text()).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!match) continue;
      const value = Number(match[3]);
      if (!Number.isFinite(value)) continue;
      samples.set(match[1], (samples.get(match[1]) ?? 0) + value);
      if (match[2]) samples.set(`${match[1]}${match[2]}`, value);
    }
    return samples;
  }

  /** Labelled samples of one family, e.g. errors by kind: { 'kind="stream_error"': 3 }. */
  static family(samples: Map<string, number>, name: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, value] of samples) {
      if (key.startsWith(`${name}{`)) out[key.slice(name.length + 1, -1)] = value;
    }
    return out;
  }

  /** The counters a bench report shows: errors and dropped rows by kind, exchanges by outcome, rows written, CPU. */
  async counters(): Promise<{
    errors: Record<string, number>;
    rowsDropped: Record<string, number>;
    exchanges: Record<string, number>;
    rowsWritten: number;
    serverReportedCpuSeconds: number;
  }> {
    const metrics = await this.metrics();
    return {
      errors: CaptureAdmin.family(metrics, 'egress_capture_errors_total'),
      rowsDropped: CaptureAdmin.family(metrics, 'egress_capture_rows_dropped_total'),
      exchanges: CaptureAdmin.family(metrics, 'egress_capture_exchanges_total'),
      rowsWritten: metrics.get('egress_capture_rows_written_total') ?? NaN,
      serverReportedCpuSeconds: metrics.get('egress_capture_process_cpu_seconds_total') ?? NaN,
    };
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const res = await fetch(`${this.baseUrl}/query`, { method: 'POST', body: sql });
    const text = await res.text();
    if (!res.ok) throw new Error(`/query: HTTP ${res.status}: ${text.trim()}`);
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as T);
  }

  /** Rows whose Authority is `authority` (every bench run carries its own). */
  async rowsFor(authority: string): Promise<number> {
    const rows = await this.query<{ n: string | number }>(`SELECT count() AS n FROM http_exchanges WHERE Authority = '${authority.replace(/'/g, "''")}'`);
    return Number(rows[0]?.n ?? 0);
  }

  /** Rows of one bench run: every exchange it sends has an Authority ending in `-<tag>.bench`. */
  async rowsOfRun(tag: string): Promise<number> {
    const rows = await this.query<{ n: string | number }>(`SELECT count() AS n FROM http_exchanges WHERE Authority LIKE '%-${tag.replace(/[^0-9a-z]/g, '')}.bench'`);
    return Number(rows[0]?.n ?? 0);
  }

  async totalRows(): Promise<number> {
    const rows = await this.query<{ n: string | number }>('SELECT count() AS n FROM http_exchanges');
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Waits until everything finished has been written: rows_pending is 0 and
   * rows written + dropped stop moving. Uses /metrics only, so the wait adds
   * no query work to the CPU being measured. Returns when stable or at the timeout.
   */
  async waitForFlush(timeoutMs: number, stableMs = 1500): Promise<{ settled: boolean; waitedMs: number }> {
    const start = Date.now();
    let last = '';
    let lastChange = Date.now();
    while (Date.now() - start < timeoutMs) {
      const m = await this.metrics();
      const pending = m.get('egress_capture_rows_pending') ?? 0;
      const active = m.get('egress_capture_active_streams') ?? 0;
      const key = `${m.get('egress_capture_rows_written_total') ?? 0}/${m.get('egress_capture_rows_dropped_total') ?? 0}/${m.get('egress_capture_exchanges_total') ?? 0}`;
      if (key !== last) {
        last = key;
        lastChange = Date.now();
      }
      // One batch interval (1 s by default) with nothing moving and nothing pending means the batcher is done.
      if (pending === 0 && active === 0 && Date.now() - lastChange >= stableMs) return { settled: true, waitedMs: Date.now() - start };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { settled: false, waitedMs: Date.now() - start };
  }

  /** Polls a row count until it stops changing (the batcher is time-bounded, so rows land up to a batch interval late). */
  async waitForStableCount(count: () => Promise<number>, timeoutMs: number, stableMs = 1500): Promise<number> {
    const start = Date.now();
    let last = await count();
    let lastChange = Date.now();
    while (Date.now() - start < timeoutMs && Date.now() - lastChange < stableMs) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = await count();
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      }
    }
    return last;
  }
}
