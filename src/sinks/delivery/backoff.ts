/**
 * Retry delays: exponential from `initialMs`, capped at `maxMs`, with ±20 %
 * jitter so that sinks failing together do not retry in lockstep. A server's
 * Retry-After wins over the computed delay (bounded by `retryAfterMaxMs`, so a
 * misconfigured server cannot park a sink for days).
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  retryAfterMaxMs: number;
}

export const JITTER = 0.2;

export function retryDelayMs(policy: BackoffPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) return Math.min(retryAfterMs, policy.retryAfterMaxMs);
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - JITTER + random() * 2 * JITTER));
}
