// Talking to the admin port's JSON API, and the page's state kept in its URL.

import { DEFAULT_RANGE, FILTER_PARAMETERS, QUICK_RANGES as RANGES } from '../../src/admin/capture-browser/filter-parameters.ts';

/** Filter parameters, as the API names them. */
export const FILTER_KEYS = FILTER_PARAMETERS;
export const QUICK_RANGES = Object.keys(RANGES);
export { DEFAULT_RANGE };

/** The page's state: the filters plus which view is open. */
export function readLocation() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value !== null && value !== '') filters[key] = value;
  }
  return {
    filters,
    view: params.get('view') ?? 'list',
    id: params.get('id') ?? '',
    compare: (params.get('compare') ?? '').split(',').filter((id) => id !== ''),
    tail: params.get('tail') === '1',
  };
}

export function locationFor(state) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (state.filters[key]) params.set(key, state.filters[key]);
  if (state.view !== 'list') params.set('view', state.view);
  if (state.id) params.set('id', state.id);
  if (state.compare.length > 0) params.set('compare', state.compare.join(','));
  if (state.tail) params.set('tail', '1');
  const query = params.toString();
  return `${location.pathname}${query ? `?${query}` : ''}`;
}

export function filterQuery(filters, extra = {}) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) params.set(key, filters[key]);
  for (const [key, value] of Object.entries(extra)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  return params.toString();
}

export class ApiError extends Error {}

export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(`${res.status} ${text.slice(0, 300)}`);
  }
  if (!res.ok) throw new ApiError(body.error ?? `${res.status}`);
  return body;
}
