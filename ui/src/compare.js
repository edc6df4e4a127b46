// Two exchanges side by side: a diff of their headers and bodies.
import { html } from 'htm/preact';
import { presentBody } from './body.js';
import { useExchange } from './detail.js';
import { diffHeaders, diffLines } from './diff.js';
import { time } from './format.js';

function comparable(row, side) {
  const presented = presentBody(row[`${side}Body`] ?? '', row[`${side}ContentType`]);
  return presented.kind === 'events' ? presented.events.map((event) => event.data).join('\n') : presented.text;
}

function HeaderDiff({ a, b, title }) {
  const rows = diffHeaders(a, b);
  return html`<section>
    <h3>${title}</h3>
    <table class="kv diff-headers">
      <tr>
        <th></th>
        <th>A</th>
        <th>B</th>
      </tr>
      ${rows.map(
        (row) =>
          html`<tr class=${row.same ? '' : 'changed'}>
            <th>${row.name}</th>
            <td>${row.a ?? '—'}</td>
            <td>${row.b ?? '—'}</td>
          </tr>`,
      )}
    </table>
  </section>`;
}

function BodyDiff({ a, b, title }) {
  const lines = diffLines(a, b);
  const changed = lines.filter((line) => line.op !== ' ').length;
  return html`<section>
    <h3>${title} <span class="muted">${changed === 0 ? 'identical' : `${changed} lines differ`}</span></h3>
    <pre class="code diff" data-testid="body-diff">${lines.map((line) => html`<span class=${line.op === '+' ? 'add' : line.op === '-' ? 'del' : ''}>${line.op} ${line.text}</span>`)}</pre>
  </section>`;
}

export function Compare({ ids, onBack }) {
  const left = useExchange(ids[0]);
  const right = useExchange(ids[1]);
  const error = left.error || right.error;
  if (error)
    return html`<section>
      <button type="button" onClick=${onBack}>← list</button>
      <p class="error" role="alert">${error}</p>
    </section>`;
  if (!left.row || !right.row) return html`<p class="muted">loading…</p>`;
  const a = left.row;
  const b = right.row;
  return html`<section class="compare" data-testid="compare">
    <div class="toolbar"><button type="button" onClick=${onBack}>← list</button></div>
    <table class="kv">
      <tr>
        <th></th>
        <th>A</th>
        <th>B</th>
      </tr>
      <tr>
        <th>request</th>
        <td>${a.Method} ${a.Authority}${a.Path}</td>
        <td>${b.Method} ${b.Authority}${b.Path}</td>
      </tr>
      <tr>
        <th>time</th>
        <td>${time(a.TimestampNs)}</td>
        <td>${time(b.TimestampNs)}</td>
      </tr>
      <tr>
        <th>status</th>
        <td>${a.StatusCode} ${a.Outcome}</td>
        <td>${b.StatusCode} ${b.Outcome}</td>
      </tr>
    </table>
    <div class="sides">
      <${HeaderDiff} a=${a.RequestHeaders} b=${b.RequestHeaders} title="Request headers" />
      <${HeaderDiff} a=${a.ResponseHeaders} b=${b.ResponseHeaders} title="Response headers" />
    </div>
    <${BodyDiff} a=${comparable(a, 'Request')} b=${comparable(b, 'Request')} title="Request body" />
    <${BodyDiff} a=${comparable(a, 'Response')} b=${comparable(b, 'Response')} title="Response body" />
  </section>`;
}
