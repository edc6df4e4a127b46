/**
 * Downloads of stored exchanges: HAR 1.2 (browsers' devtools, Charles,
 * mitmproxy and Insomnia import it), CSV of the list's columns, and JSON of
 * whole rows. What was redacted at capture stays redacted: these are the
 * stored rows, nothing more.
 */
import type { Row } from './browser-api';
import { LIST_COLUMNS } from './exchange-columns';

export const EXPORT_FORMATS = ['har', 'csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** Exchanges in one download: whole rows (bodies included) are assembled in memory. */
export const MAX_EXPORT_ROWS = 500;

export function exportExchanges(format: ExportFormat, rows: readonly Row[]): { contentType: string; extension: string; body: string } {
  switch (format) {
    case 'har':
      return { contentType: 'application/json; charset=utf-8', extension: 'har', body: JSON.stringify(toHar(rows), null, 2) };
    case 'csv':
      return { contentType: 'text/csv; charset=utf-8', extension: 'csv', body: toCsv(rows) };
    case 'json':
      return { contentType: 'application/json; charset=utf-8', extension: 'json', body: JSON.stringify(rows, null, 2) };
  }
}

const str = (value: unknown): string => (value === null || value === undefined ? '' : String(value));
const num = (value: unknown): number => (value === null || value === undefined || value === '' ? -1 : Number(value));

function isoFromNs(ns: unknown): string {
  const text = str(ns);
  return text === '' ? new Date(0).toISOString() : new Date(Number(BigInt(text) / 1_000_000n)).toISOString();
}

function headerList(map: unknown): Array<{ name: string; value: string }> {
  return Object.entries((map ?? {}) as Record<string, string>).map(([name, value]) => ({ name, value: String(value) }));
}

/** What a HAR reader should know about a body the row does not hold whole. */
function bodyComment(row: Row, side: 'Request' | 'Response'): string {
  const notes: string[] = [];
  if (row[`${side}BodyCaptured`] === false) notes.push(`body not kept${str(row[`${side}BodyNote`]) !== '' ? ` (${str(row[`${side}BodyNote`])})` : ''}`);
  if (row[`${side}BodyTruncated`] === true) notes.push(`body cut at capture: ${str(row[`${side}BodySize`])} bytes on the wire`);
  return notes.join('; ');
}

export function toHar(rows: readonly Row[]): unknown {
  return {
    log: {
      version: '1.2',
      creator: { name: 'egress-capture', version: '1' },
      entries: rows.map((row) => {
        const url = `${str(row.Scheme) || 'https'}://${str(row.Authority)}${str(row.Path)}`;
        let queryString: Array<{ name: string; value: string }> = [];
        try {
          queryString = [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
        } catch {
          // A path that does not parse as a URL keeps an empty query string list.
        }
        const duration = Math.max(0, num(row.DurationMs));
        const wait = Math.max(0, Math.min(duration, num(row.ResponseHeadersMs)));
        const requestText = str(row.RequestBody);
        const requestComment = bodyComment(row, 'Request');
        const responseComment = bodyComment(row, 'Response');
        return {
          startedDateTime: isoFromNs(row.TimestampNs),
          time: duration,
          request: {
            method: str(row.Method),
            url,
            httpVersion: 'HTTP/2',
            cookies: [],
            headers: headerList(row.RequestHeaders),
            queryString,
            ...(requestText !== '' || num(row.RequestBodySize) > 0
              ? { postData: { mimeType: str(row.RequestContentType), text: requestText, ...(requestComment !== '' ? { comment: requestComment } : {}) } }
              : {}),
            headersSize: -1,
            bodySize: num(row.RequestBodySize),
          },
          response: {
            status: Number(row.StatusCode ?? 0),
            statusText: '',
            httpVersion: 'HTTP/2',
            cookies: [],
            headers: headerList(row.ResponseHeaders),
            content: {
              size: Math.max(0, num(row.ResponseBodyDecodedSize) > 0 ? num(row.ResponseBodyDecodedSize) : num(row.ResponseBodySize)),
              mimeType: str(row.ResponseContentType) || 'application/octet-stream',
              text: str(row.ResponseBody),
              ...(responseComment !== '' ? { comment: responseComment } : {}),
            },
            redirectURL: str((row.ResponseHeaders as Record<string, string> | undefined)?.location),
            headersSize: -1,
            bodySize: num(row.ResponseBodySize),
          },
          cache: {},
          timings: { send: 0, wait, receive: duration - wait },
          comment: `CaptureId ${str(row.CaptureId)}, outcome ${str(row.Outcome)}`,
        };
      }),
    },
  };
}

/** The list's columns, the time first (as ISO 8601) and the path (whole) beside them. */
export const CSV_COLUMNS: readonly string[] = ['Time', 'Path', ...LIST_COLUMNS];

/**
 * RFC 4180 quoting. A cell that a spreadsheet would read as a formula
 * (= + - @ tab or CR first) gets a leading apostrophe: captured paths and
 * models are chosen by whoever sent the traffic.
 */
function csvCell(value: unknown): string {
  let text = str(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n']/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly Row[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map((name) => csvCell(name === 'Time' ? isoFromNs(row.TimestampNs) : row[name])).join(','));
  return lines.join('\r\n') + '\r\n';
}
