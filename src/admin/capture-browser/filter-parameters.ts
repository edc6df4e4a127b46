/**
 * The filter parameters and quick ranges, shared by the API
 * (exchange-filters.ts) and the page (ui/src/api.js, bundled by esbuild):
 * no imports, so the page's bundle takes only these lines.
 */

/** Query parameters the API reads as filters; the page keeps the same names in its own URL. */
export const FILTER_PARAMETERS = ['range', 'from', 'to', 'authority', 'method', 'outcome', 'provider', 'model', 'status', 'errors', 'requestId', 'traceId', 'workload', 'q'] as const;

/** Quick ranges, in milliseconds, in the order the page offers them. */
export const QUICK_RANGES: Readonly<Record<string, number>> = {
  '5m': 5 * 60_000,
  '15m': 15 * 60_000,
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

export const DEFAULT_RANGE = '24h';
