// Kubernetes (Go time.ParseDuration) durations such as "10m", "1h30m", "250ms".
// Inputs use this format; outputs must fit Gateway API's stricter Duration pattern
// (at most four unit groups of up to five digits each, units h/m/s/ms only).

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const GO_DURATION = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const GO_PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;

/** Milliseconds for a Go-style duration, or undefined when the text is not one. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(GO_PART)) {
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  return total;
}

/**
 * Gateway API Duration text for a whole number of milliseconds, e.g. 600000 -> "10m",
 * 5400000 -> "1h30m", 1500 -> "1s500ms". Sub-millisecond parts are rounded up so a
 * timeout never gets shorter than asked for.
 */
export function formatGatewayDuration(ms: number): string {
  let rest = Math.ceil(ms);
  if (rest <= 0) return '0s';
  const parts: string[] = [];
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  rest -= seconds * 1000;
  if (hours) parts.push(`${hours}h`);
  if (minutes) parts.push(`${minutes}m`);
  if (seconds) parts.push(`${seconds}s`);
  if (rest) parts.push(`${rest}ms`);
  return parts.join('');
}

/** Protobuf JSON Duration text ("600s", "0.250s") for Envoy configuration. */
export function formatProtoDuration(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const frac = Math.round(ms - whole * 1000);
  return frac ? `${whole}.${String(frac).padStart(3, '0')}s` : `${whole}s`;
}
