// Exchanges whose ext_proc stream is still open, refreshed every second:
// a long streamed answer can be watched while it runs.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';
import { bytes, ms } from './format.js';

export function InFlight() {
  const [state, setState] = useState({ exchanges: [], error: '', loaded: false });
  useEffect(() => {
    let stopped = false;
    const poll = () =>
      getJson('../api/inflight').then(
        (body) => !stopped && setState({ exchanges: body.exchanges, error: '', loaded: true }),
        (err) => !stopped && setState((s) => ({ ...s, error: err.message })),
      );
    poll();
    const timer = setInterval(poll, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  return html`<section class="inflight" data-testid="inflight">
    ${state.error ? html`<p class="error" role="alert">${state.error}</p>` : null}
    <p class="muted">${state.loaded ? `${state.exchanges.length} open` : 'loading…'} · refreshed every second · the path without its query string until the exchange is stored</p>
    <table class="exchanges">
      <thead>
        <tr>
          <th>age</th>
          <th>method</th>
          <th>authority</th>
          <th>path</th>
          <th>status</th>
          <th class="num">request</th>
          <th class="num">response so far</th>
          <th class="num">chunks</th>
          <th class="num">last chunk</th>
          <th>CaptureId</th>
        </tr>
      </thead>
      <tbody>
        ${state.exchanges.map(
          (x) =>
            html`<tr key=${x.captureId}>
              <td class="num">${ms(x.ageMs)}</td>
              <td>${x.method}</td>
              <td>${x.authority}</td>
              <td class="path">${x.path}</td>
              <td>${x.statusCode || '…'}</td>
              <td class="num">${bytes(x.requestBytes)}</td>
              <td class="num">${bytes(x.responseBytes)}</td>
              <td class="num">${x.responseChunks}</td>
              <td class="num">${x.lastChunkAgoMs < 0 ? '' : `${ms(x.lastChunkAgoMs)} ago`}</td>
              <td class="mono">${x.captureId}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}
