// How a stored body is shown: pretty JSON, a stream as its events, or text
// as it is; and what the row says about it, in words. Everything returned
// here is plain text, rendered by Preact as text nodes: captured content
// never becomes markup.
import { bytes } from './format.js';

const NOTES = {
  no_body: 'no body was sent',
  content_type_excluded: 'not kept: its content type is not in --include-content-types',
  content_type_unknown: 'not kept: no content-type (or the headers were not sent)',
  max_bytes_zero: 'not kept: --max-bytes is 0',
  undecodable_stored_base64: 'its content-encoding did not decode: the raw bytes are stored as base64',
  unsupported_encoding_stored_base64: 'an unsupported content-encoding: the raw bytes are stored as base64',
  binary_stored_base64: 'not UTF-8 text: stored as base64',
  decompression_stopped: 'decoding stopped past 200 × the wire size (a decompression bomb)',
  processing_backlog: 'workers were too far behind: the rest of the body was counted, not processed',
  body_processing_failed: 'a worker failed on this body; the row kept everything else',
  lost_in_crash: 'the service stopped while this exchange was being processed; the row was rebuilt without its body',
};

/** Sentences about a body: kept or not, cut or not, the full size. */
export function bodyFacts(row, side) {
  const size = Number(row[`${side}BodySize`] ?? 0);
  const decoded = Number(row[`${side}BodyDecodedSize`] ?? 0);
  const note = row[`${side}BodyNote`] ?? '';
  const facts = [];
  if (size === 0 && note === 'no_body') return ['No body.'];
  facts.push(`${bytes(size)} on the wire${decoded > 0 && decoded !== size ? `, ${bytes(decoded)} decoded` : ''}.`);
  if (note !== '') facts.push(`Note ${note}: ${NOTES[note] ?? "see the README's body notes"}.`);
  if (row[`${side}BodyCaptured`] === false && note === '') facts.push('The body is not kept.');
  if (row[`${side}BodyTruncated`] === true) {
    const kept = new TextEncoder().encode(row[`${side}Body`] ?? '').length;
    facts.push(`Cut at capture: ${bytes(kept)} of it kept (the start and the end; the marker in the text shows where).`);
  }
  return facts;
}

function tryJson(text) {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return undefined;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return undefined;
  }
}

export function isEventStream(contentType, text) {
  return /text\/event-stream/i.test(contentType ?? '') || (/^(data|event|id):/m.test(text.slice(0, 200)) && /\n\n/.test(text));
}

export function isNdjson(contentType) {
  return /ndjson|jsonl|json-seq/i.test(contentType ?? '');
}

/** Server-sent events: each with its event name and its data (pretty when JSON). */
export function sseEvents(text) {
  const events = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block.trim() === '') continue;
    let name = '';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      else if (!line.startsWith(':') && !line.startsWith('id:') && !line.startsWith('retry:')) data.push(line);
    }
    const joined = data.join('\n');
    events.push({ name, data: tryJson(joined) ?? joined });
  }
  return events;
}

export function ndjsonEvents(text) {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => ({ name: '', data: tryJson(line) ?? line }));
}

/** The body as the page shows it: { kind: 'json'|'text'|'events', text, events }. */
export function presentBody(text, contentType) {
  if (text === '' || text === undefined || text === null) return { kind: 'empty', text: '' };
  if (isEventStream(contentType, text)) return { kind: 'events', text, events: sseEvents(text) };
  if (isNdjson(contentType)) return { kind: 'events', text, events: ndjsonEvents(text) };
  const json = tryJson(text);
  if (json !== undefined) return { kind: 'json', text: json };
  return { kind: 'text', text };
}

/** The tool calls column holds JSON; shown pretty, or as it is. */
export function prettyToolCalls(text) {
  if (!text) return '';
  return tryJson(text) ?? text;
}
