// The list of exchanges: newest first, one page at a time ("more" loads the
// next), live tail that adds new exchanges on top while it is on.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { filterQuery, getJson } from './api.js';
import { bytes, isError, ms, statusClass, time, tokens } from './format.js';

export const TAIL_INTERVAL_MS = 750;

function SizeCell({ row, side }) {
  const cut = row[`${side}BodyTruncated`] === true;
  const absent = row[`${side}BodyCaptured`] === false && Number(row[`${side}BodySize`]) > 0;
  const note = row[`${side}BodyNote`];
  return html`<td class="num">
    ${bytes(row[`${side}BodySize`])}${cut ? html`<span class="mark" title="body cut at capture">✂</span>` : null}${
      absent ? html`<span class="mark" title=${`body not kept${note ? `: ${note}` : ''}`}>∅</span>` : null
    }
  </td>`;
}

export function ExchangeList({ filters, tail, selected, onSelect, onOpen, onTail }) {
  const [rows, setRows] = useState([]);
  const [next, setNext] = useState(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);
  const query = filterQuery(filters);
  const known = useRef(new Set());

  useEffect(() => {
    let stale = false;
    setLoading(true);
    getJson(`../api/exchanges?${query}`).then(
      (page) => {
        if (stale) return;
        known.current = new Set(page.exchanges.map((row) => row.CaptureId));
        setRows(page.exchanges);
        setNext(page.next);
        setError('');
        setLoading(false);
      },
      (err) => {
        if (stale) return;
        setError(err.message);
        setLoading(false);
      },
    );
    return () => {
      stale = true;
    };
  }, [query]);

  // Live tail: the first page again, newer rows put on top. A quick range ends "now" at each
  // poll, so new exchanges are inside it; paused, nothing moves.
  useEffect(() => {
    if (!tail) return undefined;
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const page = await getJson(`../api/exchanges?${query}`);
        const fresh = page.exchanges.filter((row) => !known.current.has(row.CaptureId));
        if (fresh.length > 0) {
          for (const row of fresh) known.current.add(row.CaptureId);
          setRows((current) => [...fresh, ...current]);
        }
      } catch {
        // The next poll tries again.
      } finally {
        busy = false;
      }
    }, TAIL_INTERVAL_MS);
    return () => clearInterval(timer);
  }, [tail, query]);

  const more = async () => {
    const page = await getJson(`../api/exchanges?${filterQuery(filters, { cursor: next })}`);
    for (const row of page.exchanges) known.current.add(row.CaptureId);
    setRows((current) => [...current, ...page.exchanges]);
    setNext(page.next);
  };

  return html`<section class="list">
    <div class="toolbar">
      <label class="check"><input type="checkbox" name="tail" checked=${tail} onChange=${(e) => onTail(e.currentTarget.checked)} /> live tail</label>
      <span class="muted" data-testid="row-count">${loading ? 'loading…' : `${rows.length}${next ? '+' : ''} exchanges`}</span>
      <span class="spacer"></span>
      <${Downloads} filters=${filters} selected=${selected} />
    </div>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <table class="exchanges" data-testid="exchanges">
      <thead>
        <tr>
          <th></th>
          <th>time</th>
          <th>method</th>
          <th>authority</th>
          <th>path</th>
          <th>status</th>
          <th>outcome</th>
          <th class="num">duration</th>
          <th class="num">first byte</th>
          <th class="num">request</th>
          <th class="num">response</th>
          <th>provider</th>
          <th>model</th>
          <th class="num">in</th>
          <th class="num">out</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row) =>
            html`<tr key=${row.CaptureId} class=${isError(row) ? 'failed' : ''} data-capture-id=${row.CaptureId} data-request-id=${row.RequestId}>
              <td><input type="checkbox" aria-label="select" checked=${selected.includes(row.CaptureId)} onChange=${(e) => onSelect(row.CaptureId, e.currentTarget.checked)} /></td>
              <td class="time">
                <a
                  href=${`?id=${encodeURIComponent(row.CaptureId)}`}
                  onClick=${(e) => {
                    e.preventDefault();
                    onOpen(row.CaptureId);
                  }}
                  >${time(row.TimestampNs)}</a
                >
              </td>
              <td>${row.Method}</td>
              <td>${row.Authority}</td>
              <td class="path" title=${row.Path}>${row.Path}</td>
              <td class=${statusClass(row.StatusCode)}>${row.StatusCode || '—'}</td>
              <td>${row.Outcome}</td>
              <td class="num">${ms(row.DurationMs)}</td>
              <td class="num">${ms(row.ResponseFirstChunkMs)}</td>
              <${SizeCell} row=${row} side="Request" />
              <${SizeCell} row=${row} side="Response" />
              <td>${row.GenAiProvider}</td>
              <td>${row.GenAiResponseModel || row.GenAiRequestModel}</td>
              <td class="num">${tokens(row.GenAiInputTokens)}</td>
              <td class="num">${tokens(row.GenAiOutputTokens)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${!loading && rows.length === 0 ? html`<p class="muted">No exchanges in this range with these filters.</p>` : null}
    ${next ? html`<button type="button" onClick=${more} data-testid="more">more</button>` : null}
  </section>`;
}

/** HAR, CSV and JSON of the selected exchanges, or of the list's filters when none is selected. */
export function Downloads({ filters, selected }) {
  const what = selected.length > 0 ? { ids: selected.join(',') } : { limit: 500 };
  const href = (format) => `../api/export?${filterQuery(selected.length > 0 ? {} : filters, { format, ...what })}`;
  return html`<span class="downloads"
    >${selected.length > 0 ? `${selected.length} selected:` : 'download:'}
    <a href=${href('har')} download data-testid="download-har">HAR</a>
    <a href=${href('csv')} download>CSV</a>
    <a href=${href('json')} download>JSON</a></span
  >`;
}
