// The filter bar. Every change goes to the page's URL (see api.js), so a
// reload keeps the filters and a link shares them.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { DEFAULT_RANGE, QUICK_RANGES, filterQuery, getJson } from './api.js';

const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx'];

/** datetime-local value (local time, no zone) ⇄ ISO 8601 UTC. */
function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(/^\d+$/.test(iso) ? Number(iso) : iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}
function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : '';
}

function Select({ label, name, value, options, onChange }) {
  return html`<label class="field"
    ><span>${label}</span>
    <select name=${name} value=${value ?? ''} onChange=${(e) => onChange(name, e.currentTarget.value)}>
      <option value="">any</option>
      ${options.map((option) => html`<option value=${option}>${option}</option>`)} ${value && !options.includes(value) ? html`<option value=${value}>${value}</option>` : null}
    </select></label
  >`;
}

/** A text field that applies on Enter or when it loses focus. */
function Text({ label, name, value, placeholder, onChange, wide }) {
  const [draft, setDraft] = useState(value ?? '');
  useEffect(() => setDraft(value ?? ''), [value]);
  const apply = () => {
    if (draft !== (value ?? '')) onChange(name, draft.trim());
  };
  return html`<label class=${`field${wide ? ' wide' : ''}`}
    ><span>${label}</span>
    <input
      type="search"
      name=${name}
      value=${draft}
      placeholder=${placeholder ?? ''}
      onInput=${(e) => setDraft(e.currentTarget.value)}
      onBlur=${apply}
      onKeyDown=${(e) => e.key === 'Enter' && apply()}
  /></label>`;
}

export function FilterBar({ filters, onChange }) {
  const [facets, setFacets] = useState({ authorities: [], methods: [], outcomes: [], providers: [], models: [] });
  const rangeQuery = filterQuery({ range: filters.range, from: filters.from, to: filters.to });
  useEffect(() => {
    getJson(`../api/facets?${rangeQuery}`).then(setFacets, () => undefined);
  }, [rangeQuery]);
  const set = (name, value) => onChange({ ...filters, [name]: value });
  const custom = Boolean(filters.from || filters.to);
  return html`<form class="filters" onSubmit=${(e) => e.preventDefault()} data-testid="filters">
    <${Text} label="Search paths and bodies" name="q" value=${filters.q} placeholder="text in a path, a body or an answer" onChange=${set} wide />
    <label class="field"
      ><span>Range</span>
      <select
        name="range"
        value=${custom ? 'custom' : filters.range || DEFAULT_RANGE}
        onChange=${(e) => {
          const value = e.currentTarget.value;
          if (value === 'custom') onChange({ ...filters, range: '', from: new Date(Date.now() - 3600_000).toISOString(), to: new Date().toISOString() });
          else onChange({ ...filters, range: value === DEFAULT_RANGE ? '' : value, from: '', to: '' });
        }}
      >
        ${QUICK_RANGES.map((range) => html`<option value=${range}>last ${range}</option>`)}
        <option value="custom">from … to …</option>
      </select></label
    >
    ${
      custom
        ? html`<label class="field"
              ><span>From</span><input type="datetime-local" step="1" name="from" value=${toLocalInput(filters.from)} onChange=${(e) => set('from', fromLocalInput(e.currentTarget.value))}
            /></label>
            <label class="field"
              ><span>To</span><input type="datetime-local" step="1" name="to" value=${toLocalInput(filters.to)} onChange=${(e) => set('to', fromLocalInput(e.currentTarget.value))}
            /></label>`
        : null
    }
    <${Select} label="Authority" name="authority" value=${filters.authority} options=${facets.authorities} onChange=${set} />
    <${Select} label="Method" name="method" value=${filters.method} options=${facets.methods} onChange=${set} />
    <${Select} label="Status" name="status" value=${filters.status} options=${STATUS_CLASSES} onChange=${set} />
    <${Select} label="Outcome" name="outcome" value=${filters.outcome} options=${facets.outcomes} onChange=${set} />
    <${Select} label="Provider" name="provider" value=${filters.provider} options=${facets.providers} onChange=${set} />
    <${Select} label="Model" name="model" value=${filters.model} options=${facets.models} onChange=${set} />
    <label class="field check"
      ><input type="checkbox" name="errors" checked=${filters.errors === '1'} onChange=${(e) => set('errors', e.currentTarget.checked ? '1' : '')} /><span>errors only</span></label
    >
    <${Text} label="Request id" name="requestId" value=${filters.requestId} onChange=${set} />
    <${Text} label="Trace id" name="traceId" value=${filters.traceId} onChange=${set} />
    <${Text} label="Workload" name="workload" value=${filters.workload} placeholder="namespace/name" onChange=${set} />
    ${Object.values(filters).some((v) => v) ? html`<button type="button" class="link" onClick=${() => onChange({})}>clear</button>` : null}
  </form>`;
}
