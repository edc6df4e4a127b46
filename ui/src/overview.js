// Charts over the chosen range (uPlot: small and fast; canvas, no markup
// from data): requests per second, error rate, p50/p99 duration, tokens by model.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { filterQuery, getJson } from './api.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#64748b'];

function Chart({ title, t, series, testid }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current) return undefined;
    const plot = new uPlot(
      {
        width: Math.max(320, box.current.clientWidth || 600),
        height: 200,
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false, points: { show: true, size: 4 } }))],
        axes: [{}, { size: 60 }],
        legend: { show: true },
      },
      [t, ...series.map((s) => s.values)],
      box.current,
    );
    return () => plot.destroy();
  }, [t, series]);
  return html`<figure class="chart" data-testid=${testid}>
    <figcaption>${title}</figcaption>
    <div ref=${box}></div>
  </figure>`;
}

export function Overview({ filters }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const query = filterQuery(filters);
  useEffect(() => {
    let stale = false;
    getJson(`../api/charts?${query}`).then(
      (body) => !stale && setData(body),
      (err) => !stale && setError(err.message),
    );
    return () => {
      stale = true;
    };
  }, [query]);
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!data) return html`<p class="muted">loading…</p>`;
  const models = Object.entries(data.tokensByModel);
  const total = data.requests.reduce((a, b) => a + b, 0);
  return html`<section class="overview" data-testid="overview">
    <p class="muted">${total} exchanges · one point per ${data.stepSeconds} s</p>
    <div class="charts">
      <${Chart} testid="chart-rps" title="requests per second" t=${data.t} series=${[{ label: 'req/s', values: data.requestsPerSecond }]} />
      <${Chart} testid="chart-errors" title="error rate" t=${data.t} series=${[{ label: 'errors', values: data.errorRate }]} />
      <${Chart}
        testid="chart-duration"
        title="duration (ms)"
        t=${data.t}
        series=${[
          { label: 'p50', values: data.p50DurationMs },
          { label: 'p99', values: data.p99DurationMs },
        ]}
      />
      <${Chart}
        testid="chart-tokens"
        title="tokens by model"
        t=${data.t}
        series=${models.length > 0 ? models.map(([label, values]) => ({ label, values })) : [{ label: 'no model calls', values: data.t.map(() => null) }]}
      />
    </div>
  </section>`;
}
