/**
 * Structured JSON logs (pino: fast, and JSON lines are what log pipelines
 * ingest). Logs go to stderr so that stdout stays clean for command output
 * (`egress-capture query`, `translate`).
 */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'egress-capture' } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (tests that assert on other things). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
