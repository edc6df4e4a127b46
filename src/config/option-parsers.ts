/**
 * Parsers and formatters of option values. A parser takes the text a flag or
 * environment variable carries and returns the value or `{ error }` saying
 * what form was expected; a formatter writes a value back in that form, so a
 * default shows in --help and the README exactly as a user would type it.
 */
import { parseDurationMs } from '../gateway/duration';
import type { ListenAddress, UnixSocketAddress } from '../listen-address';

export type Parsed<T> = T | { error: string };

export function isParseError(result: unknown): result is { error: string } {
  return result !== null && typeof result === 'object' && !Array.isArray(result) && 'error' in result;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export function parseListen(raw: string): Parsed<ListenAddress> {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw.trim());
  if (!match) return { error: 'expected HOST:PORT' };
  const port = Number(match[3]);
  if (port > 65535) return { error: 'port must be 0-65535' };
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/** HOST:PORT, or `unix:/absolute/path` (gRPC's own spelling) for a Unix domain socket. */
export function parseGrpcListen(raw: string): Parsed<ListenAddress | UnixSocketAddress> {
  const trimmed = raw.trim();
  if (!trimmed.startsWith('unix:')) return parseListen(trimmed);
  const unixPath = trimmed.slice('unix:'.length);
  // Relative paths would depend on the working directory; gRPC's unix:///path form is accepted too.
  const normalized = unixPath.startsWith('//') ? unixPath.slice(2) : unixPath;
  if (!normalized.startsWith('/')) return { error: 'expected HOST:PORT or unix:/ABSOLUTE/PATH' };
  return { unixPath: normalized };
}

export function integer(min: number, max: number): (raw: string) => Parsed<number> {
  return (raw) => {
    const trimmed = raw.trim();
    const value = Number(trimmed);
    if (!/^\d+$/.test(trimmed) || value < min || value > max) return { error: `expected a whole number from ${min} to ${max}` };
    return value;
  };
}

/** Comma-separated, trimmed, lower-cased, empty items dropped. */
export function list(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '');
}

export function contentTypes(raw: string): Parsed<string[]> {
  const items = list(raw);
  const bad = items.find((item) => !/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+*-]*$/.test(item));
  if (bad !== undefined) return { error: `"${bad}" is not a media type (type/subtype)` };
  return items;
}

export function text(raw: string): string {
  return raw.trim();
}

export function nonEmptyText(raw: string): Parsed<string> {
  return raw.trim() === '' ? { error: 'must not be empty' } : raw.trim();
}

/** Taken as given: a password may start or end with a space. */
export function verbatim(raw: string): string {
  return raw;
}

export function bool(raw: string): Parsed<boolean> {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return { error: 'expected true or false' };
}

export function oneOf<T extends string>(choices: readonly T[]): (raw: string) => Parsed<T> {
  return (raw) => (choices.includes(raw.trim() as T) ? (raw.trim() as T) : { error: `not one of ${choices.join(', ')}` });
}

/** A cluster name as remote_servers spells it (an XML element name); '' for none. */
export function clusterName(raw: string): Parsed<string> {
  const trimmed = raw.trim();
  return trimmed === '' || /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(trimmed) ? trimmed : { error: 'expected a cluster name of remote_servers (letters, digits, _ . -)' };
}

/**
 * A remote store's URL. Given but empty (an unset variable in a manifest's
 * args) is a mistake, not a request for the embedded store, which is what
 * leaving the option out means.
 */
export function clickhouseUrl(raw: string): Parsed<string> {
  if (raw.trim() === '') return { error: 'is empty: expected http(s)://user:password@host:8123/database, or leave the option out for the embedded store' };
  return httpUrl(raw);
}

export function httpUrl(raw: string): Parsed<string> {
  const trimmed = raw.trim();
  if (trimmed === '') return '';
  try {
    const url = new URL(trimmed);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: 'expected an http:// or https:// URL' };
  } catch {
    return { error: 'not a valid URL' };
  }
  return trimmed;
}

/** A Go-style duration ("168h", "90m", "30s") or whole days ("7d"), within [min, max] ms. */
export function duration(minMs: number, maxMs: number): (raw: string) => Parsed<number> {
  const expected = `expected a duration such as 7d, 36h, 90m or 30s, from ${minMs / SECOND_MS}s to ${maxMs / DAY_MS}d`;
  return (raw) => {
    const trimmed = raw.trim();
    const days = /^(\d+)d$/.exec(trimmed);
    const ms = days ? Number(days[1]) * DAY_MS : parseDurationMs(trimmed);
    if (ms === undefined || ms < minMs || ms > maxMs) return { error: expected };
    return ms;
  };
}

/** The largest whole unit: 7d, 36h, 90m, 30s, 500ms — what duration() reads back. */
export function formatDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', DAY_MS],
    ['h', HOUR_MS],
    ['m', MINUTE_MS],
    ['s', SECOND_MS],
  ];
  for (const [unit, size] of units) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
