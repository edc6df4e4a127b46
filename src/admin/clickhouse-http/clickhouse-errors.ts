/**
 * Errors in ClickHouse's own shape, because the clients on the other end
 * (@clickhouse/client, clickhouse-go, curl users reading the text) parse
 * them: an `X-ClickHouse-Exception-Code` header and a body
 * `Code: <n>. DB::Exception: <message>. (<NAME>)`. @clickhouse/client turns
 * exactly that body into a ClickHouseError whose `.code` callers branch on
 * (516 = wrong password, 81 = no such database…), so the numbers must be the
 * real ClickHouse ones.
 */
import { describeError } from '../../errors';

/** The ClickHouse error codes this interface raises itself (numbers and names as ClickHouse defines them). */
export const CH = {
  SYNTAX_ERROR: { code: 62, name: 'SYNTAX_ERROR' },
  UNKNOWN_DATABASE: { code: 81, name: 'UNKNOWN_DATABASE' },
  UNKNOWN_SETTING: { code: 115, name: 'UNKNOWN_SETTING' },
  READONLY: { code: 164, name: 'READONLY' },
  QUERY_IS_TOO_LARGE: { code: 229, name: 'QUERY_IS_TOO_LARGE' },
  NOT_IMPLEMENTED: { code: 48, name: 'NOT_IMPLEMENTED' },
  CANNOT_DECOMPRESS: { code: 271, name: 'CANNOT_DECOMPRESS' },
  UNKNOWN_FORMAT: { code: 73, name: 'UNKNOWN_FORMAT' },
  ACCESS_DENIED: { code: 497, name: 'ACCESS_DENIED' },
  SETTING_CONSTRAINT_VIOLATION: { code: 452, name: 'SETTING_CONSTRAINT_VIOLATION' },
  REQUIRED_PASSWORD: { code: 194, name: 'REQUIRED_PASSWORD' },
  AUTHENTICATION_FAILED: { code: 516, name: 'AUTHENTICATION_FAILED' },
  CANNOT_PARSE_INPUT: { code: 27, name: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED' },
  SESSION_NOT_FOUND: { code: 372, name: 'SESSION_NOT_FOUND' },
  SESSION_IS_LOCKED: { code: 373, name: 'SESSION_IS_LOCKED' },
  INVALID_SESSION_TIMEOUT: { code: 374, name: 'INVALID_SESSION_TIMEOUT' },
  INVALID_SESSION_ID: { code: 36, name: 'BAD_ARGUMENTS' },
  TOO_MANY_SIMULTANEOUS_QUERIES: { code: 202, name: 'TOO_MANY_SIMULTANEOUS_QUERIES' },
  UNKNOWN_EXCEPTION: { code: 1002, name: 'UNKNOWN_EXCEPTION' },
  BAD_ARGUMENTS: { code: 36, name: 'BAD_ARGUMENTS' },
  CHECKSUM_DOESNT_MATCH: { code: 40, name: 'CHECKSUM_DOESNT_MATCH' },
  INCORRECT_DATA: { code: 117, name: 'INCORRECT_DATA' },
  UNKNOWN_TABLE: { code: 60, name: 'UNKNOWN_TABLE' },
} as const;

export type ChCode = (typeof CH)[keyof typeof CH];

export class ClickHouseHttpError extends Error {
  constructor(
    readonly chCode: number,
    readonly chName: string,
    message: string,
    /** HTTP status; by default derived from the code. */
    readonly httpStatus: number = statusForCode(chCode, chName),
  ) {
    super(message);
    this.name = 'ClickHouseHttpError';
  }

  static of(kind: ChCode, message: string, httpStatus?: number): ClickHouseHttpError {
    return new ClickHouseHttpError(kind.code, kind.name, message, httpStatus);
  }

  /** The response body, with the trailing newline ClickHouse sends. */
  body(): string {
    const message = this.message.replace(/[.\s]+$/, '');
    return `Code: ${this.chCode}. DB::Exception: ${message}. (${this.chName})\n`;
  }
}

/**
 * HTTP status per error, grouped the way ClickHouse's HTTP handler groups them:
 * bad credentials are 401, a query that cannot run as written is 400, a
 * missing object is 404, a policy refusal is 403, everything else 500.
 */
function statusForCode(code: number, name: string): number {
  if (code === 516 || code === 194 || code === 192 || code === 193) return 401;
  if (code === 164 || code === 497 || code === 452) return 403;
  if (code === 229) return 413;
  if (code === 48) return 501;
  // Overloaded, not broken: a client may try again later (ClickHouse answers 503 as well).
  if (code === 202) return 503;
  if (name.startsWith('UNKNOWN_') && name !== 'UNKNOWN_EXCEPTION') return 404;
  if (
    name === 'SYNTAX_ERROR' ||
    name.startsWith('CANNOT_PARSE') ||
    name === 'CANNOT_DECOMPRESS' ||
    code === 27 ||
    code === 26 ||
    code === 36 ||
    code === 40 ||
    code === 72 ||
    code === 6 ||
    code === 38 ||
    code === 41 ||
    code === 69 ||
    code === 70 ||
    code === 117
  )
    return 400;
  return 500;
}

/**
 * Converts whatever the store threw into a ClickHouse error. chdb messages
 * already read `Code: 62. DB::Exception: … (SYNTAX_ERROR)`, sometimes with
 * the prefix and the `(version …)` suffix repeated when an exception was
 * re-thrown inside the engine; the repetition is removed so the client gets
 * one clean message.
 */
export function fromStoreError(err: unknown): ClickHouseHttpError {
  if (err instanceof ClickHouseHttpError) return err;
  const chdbCode = (err as { clickhouseCode?: unknown } | null)?.clickhouseCode;
  const text = describeError(err);
  const head = /Code: (\d+)\. /.exec(text);
  const code = typeof chdbCode === 'number' ? chdbCode : head !== null ? Number(head[1]) : undefined;
  if (code === undefined) return ClickHouseHttpError.of(CH.UNKNOWN_EXCEPTION, text);
  const names = [...text.matchAll(/\(([A-Z][A-Z0-9_]{2,})\)/g)];
  const name = names.length > 0 ? names[names.length - 1]![1]! : 'UNKNOWN_EXCEPTION';
  return new ClickHouseHttpError(code, name, cleanMessage(text, name));
}

function cleanMessage(text: string, name: string): string {
  let message = text;
  // Innermost message: after the last "Code: N. DB::Exception: " prefix.
  const prefix = /(?:Code: \d+\. )?DB::Exception: /g;
  let last = -1;
  for (const match of message.matchAll(prefix)) last = (match.index ?? 0) + match[0].length;
  if (last >= 0) message = message.slice(last);
  // Drop trailing "(NAME)" and "(version …)" markers, possibly repeated.
  const suffix = new RegExp(`(?:[\\s.]*\\((?:${name}|version [^)]*)\\))+[\\s.]*$`);
  message = message.replace(suffix, '');
  // Repeated inner suffixes like "… (UNKNOWN_FORMAT) (version 26.7.2.1). (UNKNOWN_FORMAT)" leave a tail.
  message = message.replace(new RegExp(`\\s*\\(${name}\\)\\s*$`), '');
  return message.trim();
}
