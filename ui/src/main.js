// The capture browser: one page whose state (view, filters, open exchange)
// lives in its URL. Preact with htm: components without a compile step of
// their own, about 5 KB; esbuild bundles it (ui/build.mjs).
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { locationFor, readLocation } from './api.js';
import { Compare } from './compare.js';
import { ExchangeDetail } from './detail.js';
import { FilterBar } from './filters.js';
import { InFlight } from './inflight.js';
import { ExchangeList } from './list.js';
import { Overview } from './overview.js';
import './app.css';

function App() {
  const [state, setState] = useState(readLocation);
  const [selected, setSelected] = useState([]);
  useEffect(() => {
    const onPop = () => setState(readLocation());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  /** A new view is a history entry (back returns to the list); filter changes replace the entry. */
  const go = (next, push = false) => {
    const merged = { ...state, ...next };
    if (push) history.pushState(null, '', locationFor(merged));
    else history.replaceState(null, '', locationFor(merged));
    setState(merged);
  };
  const view = state.compare.length === 2 ? 'compare' : state.id ? 'detail' : state.view;
  const tab = (name, label) =>
    html`<button type="button" role="tab" aria-selected=${view === name} class=${view === name ? 'tab active' : 'tab'} onClick=${() => go({ view: name, id: '', compare: [] }, true)}>
      ${label}
    </button>`;
  const select = (id, on) => setSelected((current) => (on ? [...current.filter((x) => x !== id), id] : current.filter((x) => x !== id)));
  return html`<header>
      <strong class="brand">egress-capture</strong>
      <nav role="tablist">${tab('list', 'Exchanges')}${tab('inflight', 'In flight')}${tab('overview', 'Overview')}</nav>
      ${view === 'list' && selected.length === 2 ? html`<button type="button" data-testid="compare-selected" onClick=${() => go({ compare: selected, id: '' }, true)}>compare the 2 selected</button>` : null}
    </header>
    <main>
      ${view === 'list' || view === 'overview' ? html`<${FilterBar} filters=${state.filters} onChange=${(filters) => go({ filters })} />` : null}
      ${
        view === 'list'
          ? html`<${ExchangeList} filters=${state.filters} tail=${state.tail} selected=${selected} onSelect=${select} onOpen=${(id) => go({ id }, true)} onTail=${(tail) => go({ tail })} />`
          : null
      }
      ${
        view === 'detail'
          ? html`<${ExchangeDetail}
              id=${state.id}
              onBack=${() => go({ id: '', view: 'list' }, true)}
              onCompare=${(id) => {
                setSelected([id]);
                go({ id: '', view: 'list' }, true);
              }}
            />`
          : null
      }
      ${view === 'compare' ? html`<${Compare} ids=${state.compare} onBack=${() => go({ compare: [], view: 'list' }, true)} />` : null} ${view === 'inflight' ? html`<${InFlight} />` : null}
      ${view === 'overview' ? html`<${Overview} filters=${state.filters} />` : null}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
