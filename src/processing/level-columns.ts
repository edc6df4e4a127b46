/**
 * What each capture level leaves out of a row beyond its bodies, applied to
 * the built row as the last step of buildRow, so every path that builds one
 * (the worker, the event loop's fallback after a worker failure, the rebuild
 * after a crash) keeps exactly the same columns. The bodies of a lighter
 * level are never rendered (build-row.ts, bodyLeftOut: no text, hash or
 * decoded size, since a hash of a short body can be matched against
 * guesses); the event loop has already kept them from the workers and cut
 * usage-level headers to the allow-list (capture/exchange-assembler.ts).
 *
 * headers and usage alike: no folded text, tool calls by id and name only,
 * no provider error message (it often quotes the prompt).
 */
import type { CaptureLevel } from '../policy/capture-level';
import type { ExchangeRow } from '../row/exchange-row';

/** Clears what `level` does not keep of the folded call; full keeps everything. */
export function keepLevelColumns(row: ExchangeRow, level: CaptureLevel): void {
  if (level === 'full') return;
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
