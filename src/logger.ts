/**
 * Structured JSON logs (pino: fast, and JSON lines are what log pipelines
 * ingest). Logs go to stderr so that stdout stays clean for command output
 * (`egress-capture query`, `translate`).
 */
import pino, { type Logger } from 'pino';

export type { Logger };

/** Fields on every log line. */
export const LOG_BASE = { service: 'egress-capture' } as const;

/** pino's number for info, for a line written outside the logger (serve's ready line). */
export const INFO_LEVEL = 30;

export function createLogger(level: string): Logger {
  return pino({ level, base: LOG_BASE }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (tests that assert on other things). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
