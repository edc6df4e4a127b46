/**
 * What the disk budget does to a record before it drops the record: keep the
 * metadata (who called what, status, sizes, timings, trace ids, gen_ai
 * summary) and empty the bodies, saying why in the body note columns so a
 * reader never mistakes a dropped body for an empty one.
 */
export const BODY_DROPPED_NOTE = 'dropped_spool_full';

const DIRECTIONS = [
  { body: 'RequestBody', note: 'RequestBodyNote', captured: 'RequestBodyCaptured' },
  { body: 'ResponseBody', note: 'ResponseBodyNote', captured: 'ResponseBodyCaptured' },
] as const;

/** The line with its bodies emptied, or undefined when it carries no body (or is not a JSON object). */
export function stripBodies(line: string): string | undefined {
  let row: Record<string, unknown>;
  try {
    row = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return undefined;
  let changed = false;
  for (const direction of DIRECTIONS) {
    const body = row[direction.body];
    if (typeof body === 'string' && body !== '') {
      row[direction.body] = '';
      row[direction.note] = BODY_DROPPED_NOTE;
      row[direction.captured] = false;
      changed = true;
    }
  }
  return changed ? JSON.stringify(row) + '\n' : undefined;
}
