/**
 * A list (a search included) walks its range newest slice first
 * (browser-api.ts): the slices must cover the range exactly once, so paging
 * neither repeats nor skips a row.
 */
import { newestFirstSlices } from '../../src/admin/capture-browser/browser-api';
import { parseFilters } from '../../src/admin/capture-browser/exchange-filters';

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);

test.each(['5m', '1h', '6h', '24h', '7d', '30d'])('range %s: contiguous, newest first, the first slice inclusive at its end', (range) => {
  const filters = parseFilters(new URLSearchParams({ range, q: 'x' }), NOW);
  const slices = newestFirstSlices(filters, undefined);
  expect(slices[0]!.toMs).toBe(NOW);
  expect(slices[0]!.toExclusive).toBeFalsy();
  for (let i = 1; i < slices.length; i++) {
    expect(slices[i]!.toMs).toBe(slices[i - 1]!.fromMs);
    expect(slices[i]!.toExclusive).toBe(true);
  }
  expect(slices.at(-1)!.fromMs).toBe(filters.fromMs);
  // Widths grow, so even 30 days is a handful of queries.
  expect(slices.length).toBeLessThanOrEqual(7);
});

test('after a cursor, the slices start at the cursor time', () => {
  const filters = parseFilters(new URLSearchParams({ range: '24h', q: 'x' }), NOW);
  const cursorMs = NOW - 5 * 3_600_000;
  const slices = newestFirstSlices(filters, { timestampNs: `${cursorMs}123456`, captureId: 'x' });
  expect(slices[0]!.toMs).toBe(cursorMs + 1);
  expect(slices.at(-1)!.fromMs).toBe(filters.fromMs);
});
