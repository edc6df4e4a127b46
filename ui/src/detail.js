// One exchange: request and response side by side, the stream as events and
// as the folded answer, tool calls, usage, timings, metadata. Every captured
// value is rendered as text (Preact text nodes), never as markup.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';
import { bodyFacts, prettyToolCalls, presentBody } from './body.js';
import { curlCommand } from './curl.js';
import { bytes, isoTime, ms, statusClass, time, tokens } from './format.js';

const REDACTED = /^\[REDACTED len=\d+ hmac=[0-9a-f]+\]$/;

export function useExchange(id) {
  const [state, setState] = useState({ row: null, error: '' });
  useEffect(() => {
    let stale = false;
    setState({ row: null, error: '' });
    getJson(`../api/exchanges/${encodeURIComponent(id)}`).then(
      (row) => !stale && setState({ row, error: '' }),
      (err) => !stale && setState({ row: null, error: err.message }),
    );
    return () => {
      stale = true;
    };
  }, [id]);
  return state;
}

export function Headers({ map, label }) {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return html`<p class="muted">No ${label}.</p>`;
  return html`<table class="kv">
    ${entries.map(
      ([name, value]) =>
        html`<tr>
          <th>${name}</th>
          <td>${REDACTED.test(value) ? html`<span class="redacted" title="redacted at capture: length and keyed hash only">${value}</span>` : value}</td>
        </tr>`,
    )}
  </table>`;
}

function Body({ row, side }) {
  const text = row[`${side}Body`] ?? '';
  const presented = presentBody(text, row[`${side}ContentType`]);
  const [raw, setRaw] = useState(false);
  return html`<div class="body" data-testid=${`${side.toLowerCase()}-body`}>
    <ul class="facts">
      ${bodyFacts(row, side).map((fact) => html`<li>${fact}</li>`)}
    </ul>
    ${
      presented.kind === 'events'
        ? html`<p>
              <label class="check"><input type="checkbox" checked=${raw} onChange=${(e) => setRaw(e.currentTarget.checked)} /> as sent</label> ${presented.events.length} events
            </p>
            ${
              raw
                ? html`<pre class="code">${text}</pre>`
                : html`<ol class="events" data-testid="events">
                    ${presented.events.map(
                      (event) =>
                        html`<li>
                          ${event.name ? html`<span class="event-name">${event.name}</span>` : null}
                          <pre class="code">${event.data}</pre>
                        </li>`,
                    )}
                  </ol>`
            }`
        : presented.kind === 'empty'
          ? null
          : html`<pre class="code" data-kind=${presented.kind}>${presented.text}</pre>`
    }
  </div>`;
}

/** Headers, first chunk, largest gap and total on one scale. */
function Timeline({ row }) {
  const total = Math.max(Number(row.DurationMs) || 0, 0.001);
  const marks = [
    ['response headers', Number(row.ResponseHeadersMs)],
    ['first chunk', Number(row.ResponseFirstChunkMs)],
    ['total', Number(row.DurationMs)],
  ].filter(([, value]) => value >= 0);
  const gap = Number(row.ResponseMaxChunkGapMs);
  return html`<div class="timeline" data-testid="timeline">
    ${marks.map(
      ([label, value]) =>
        html`<div class="tl-row">
          <span class="tl-label">${label}</span><span class="tl-track"><span class="tl-bar" style=${{ width: `${Math.min(100, (value / total) * 100)}%` }}></span></span
          ><span class="tl-value">${ms(value)}</span>
        </div>`,
    )}
    ${
      gap > 0
        ? html`<div class="tl-row">
            <span class="tl-label">largest gap</span><span class="tl-track"><span class="tl-bar gap" style=${{ width: `${Math.min(100, (gap / total) * 100)}%` }}></span></span
            ><span class="tl-value">${ms(gap)}</span>
          </div>`
        : null
    }
  </div>`;
}

function Usage({ row }) {
  if (!row.GenAiProvider && !row.GenAiRequestModel) return null;
  const items = [
    ['provider', row.GenAiProvider],
    ['operation', row.GenAiOperation],
    ['API', row.GenAiApi],
    ['request model', row.GenAiRequestModel],
    ['response model', row.GenAiResponseModel],
    ['response id', row.GenAiResponseId],
    ['streaming', row.GenAiStreaming ? `yes, ${row.GenAiEventCount} events` : 'no'],
    ['input tokens', tokens(row.GenAiInputTokens)],
    ['output tokens', tokens(row.GenAiOutputTokens)],
    ['cached input tokens', tokens(row.GenAiCachedInputTokens)],
    ['cache creation tokens', tokens(row.GenAiCacheCreationInputTokens)],
    ['reasoning tokens', tokens(row.GenAiReasoningTokens)],
    ['usage from', row.GenAiUsageSource],
    ['finish reasons', (row.GenAiFinishReasons ?? []).join(', ')],
    ['error', row.GenAiErrorType ? `${row.GenAiErrorType}: ${row.GenAiErrorMessage}` : ''],
    ['answer complete', row.GenAiComplete ? 'yes' : 'no'],
  ].filter(([, value]) => value !== '' && value !== undefined && value !== null);
  return html`<section>
    <h3>Model call</h3>
    <table class="kv" data-testid="usage">
      ${items.map(
        ([name, value]) =>
          html`<tr>
            <th>${name}</th>
            <td>${value}</td>
          </tr>`,
      )}
    </table>
  </section>`;
}

export function ExchangeDetail({ id, onBack, onCompare }) {
  const { row, error } = useExchange(id);
  const [curl, setCurl] = useState('');
  if (error)
    return html`<section class="detail">
      <button type="button" onClick=${onBack}>← list</button>
      <p class="error" role="alert">${error}</p>
    </section>`;
  if (row === null) return html`<section class="detail"><p class="muted">loading…</p></section>`;
  const url = `${row.Scheme || 'https'}://${row.Authority}${row.Path}`;
  const copyCurl = async () => {
    const command = curlCommand(row);
    setCurl(command);
    try {
      await navigator.clipboard.writeText(command);
    } catch {
      // Shown below to copy by hand when the clipboard is not available.
    }
  };
  return html`<section class="detail" data-testid="detail">
    <div class="toolbar">
      <button type="button" onClick=${onBack}>← list</button>
      <button type="button" onClick=${copyCurl} data-testid="copy-curl">copy as cURL</button>
      <a href=${`../api/export?format=har&ids=${encodeURIComponent(row.CaptureId)}`} download>HAR</a>
      <a href=${`../api/export?format=json&ids=${encodeURIComponent(row.CaptureId)}`} download>JSON</a>
      <button type="button" onClick=${() => onCompare(row.CaptureId)}>compare with…</button>
    </div>
    ${curl ? html`<pre class="code curl" data-testid="curl">${curl}</pre>` : null}
    <h2 class="summary"><span>${row.Method}</span> <span class="url">${url}</span> <span class=${statusClass(row.StatusCode)}>${row.StatusCode || 'no response'}</span></h2>
    <p class="muted">
      ${time(row.TimestampNs)} (${isoTime(row.TimestampNs)}) · outcome ${row.Outcome} · ${ms(row.DurationMs)} · request ${bytes(row.RequestBodySize)} · response ${bytes(row.ResponseBodySize)} ·
      CaptureId ${row.CaptureId}${row.RequestId ? ` · request id ${row.RequestId}` : ''}${row.TraceId ? ` · trace ${row.TraceId}` : ''}
    </p>
    <${Timeline} row=${row} />
    ${
      row.GenAiOutputText || row.GenAiToolCalls
        ? html`<section>
            <h3>Answer${row.GenAiOutputTextTruncated ? ' (cut)' : ''}</h3>
            ${row.GenAiOutputText ? html`<pre class="code answer" data-testid="answer">${row.GenAiOutputText}</pre>` : null}
            ${
              row.GenAiToolCalls
                ? html`<h4>Tool calls</h4>
                    <pre class="code" data-testid="tool-calls">${prettyToolCalls(row.GenAiToolCalls)}</pre>`
                : null
            }
          </section>`
        : null
    }
    <${Usage} row=${row} />
    <div class="sides">
      <section>
        <h3>Request</h3>
        <${Headers} map=${row.RequestHeaders} label="request headers" /><${Body} row=${row} side="Request" /> ${
          Object.keys(row.RequestTrailers ?? {}).length > 0
            ? html`<h4>Trailers</h4>
                <${Headers} map=${row.RequestTrailers} label="trailers" />`
            : null
        }
      </section>
      <section>
        <h3>Response</h3>
        <${Headers} map=${row.ResponseHeaders} label="response headers" /><${Body} row=${row} side="Response" /> ${
          Object.keys(row.ResponseTrailers ?? {}).length > 0
            ? html`<h4>Trailers</h4>
                <${Headers} map=${row.ResponseTrailers} label="trailers" />`
            : null
        }
      </section>
    </div>
    <div class="sides">
      <section>
        <h3>Metadata</h3>
        <${Headers} map=${row.Metadata} label="metadata" />
      </section>
      <section>
        <h3>Attributes</h3>
        <${Headers} map=${row.Attributes} label="attributes" />
      </section>
    </div>
    ${
      Object.keys(row.BodyRedactions ?? {}).length > 0
        ? html`<section>
            <h3>Redactions in bodies</h3>
            <${Headers} map=${row.BodyRedactions} label="redactions" />
          </section>`
        : null
    }
    <p class="muted">body modes ${row.BodyModes || 'unknown'} · captured by ${row.CapturedBy}${row.ObservabilityMode ? ' · observability mode' : ''}</p>
  </section>`;
}
