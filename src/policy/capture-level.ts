/**
 * How much of an exchange is kept. Ordered from the most to the least kept:
 * a workload's opt-out may only move an exchange further down this list.
 *
 * - full: today's row, bodies up to maxBytes (head + tail) and the folded answer.
 * - headers: everything but the bodies and the folded text.
 * - usage: what a cost or audit report needs: method, authority, path, status,
 *   timings, outcome, the GenAI model, usage, finish reasons and tool names;
 *   no bodies, no text, no header values but the allow-listed ones.
 * - none: no row; the exchange is only counted.
 */
export const CAPTURE_LEVELS = ['full', 'headers', 'usage', 'none'] as const;

export type CaptureLevel = (typeof CAPTURE_LEVELS)[number];

export function isCaptureLevel(value: string): value is CaptureLevel {
  return (CAPTURE_LEVELS as readonly string[]).includes(value);
}

/** True when `candidate` keeps no more than `level` does. */
export function keepsNoMoreThan(candidate: CaptureLevel, level: CaptureLevel): boolean {
  return CAPTURE_LEVELS.indexOf(candidate) >= CAPTURE_LEVELS.indexOf(level);
}

/** The body note of a body the exchange's capture level does not keep. */
export const LEVEL_ABSENT_REASON = 'capture_level';
