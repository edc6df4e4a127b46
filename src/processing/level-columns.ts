/**
 * What each capture level leaves out of a row, applied to the built row as
 * the last step, so every path that builds one (the worker, the event loop's
 * fallback after a worker failure, the rebuild after a crash) keeps exactly
 * the same columns. The event loop has already kept the bodies of lighter
 * levels from the workers and cut usage-level headers to the allow-list
 * (capture/exchange-assembler.ts); this is the guarantee on the row itself.
 *
 * - headers: no body, no body hash or decoded size (a hash of a short body
 *   can be matched against guesses), no folded text, tool calls by id and
 *   name only, no provider error message (it often quotes the prompt).
 * - usage: the same; its header maps hold only the allow-listed names.
 */
import type { ExchangeRow } from '../row/exchange-row';
import { LEVEL_ABSENT_REASON, type CaptureLevel } from '../policy/capture-level';

/** Clears what `level` does not keep; full keeps everything. */
export function keepLevelColumns(row: ExchangeRow, level: CaptureLevel): void {
  if (level === 'full') return;
  for (const direction of ['Request', 'Response'] as const) {
    const hadBody = row[`${direction}Body`] !== '' || row[`${direction}BodyCaptured`];
    row[`${direction}Body`] = '';
    row[`${direction}BodyCaptured`] = false;
    row[`${direction}BodySha256`] = '';
    row[`${direction}BodyDecodedSize`] = 0;
    row[`${direction}BodyTruncated`] = false;
    if (hadBody) row[`${direction}BodyNote`] = LEVEL_ABSENT_REASON;
  }
  row.GenAiOutputText = '';
  row.GenAiOutputTextTruncated = false;
  row.GenAiErrorMessage = '';
  if (row.GenAiToolCalls !== '') row.GenAiToolCalls = JSON.stringify(toolNames(row.GenAiToolCalls));
}

/** Tool calls without their arguments. */
function toolNames(json: string): Array<{ id: string; name: string }> {
  const calls = JSON.parse(json) as Array<{ id?: string; name?: string }>;
  return calls.map((call) => ({ id: call.id ?? '', name: call.name ?? '' }));
}
