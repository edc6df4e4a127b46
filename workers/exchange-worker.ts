/**
 * piscina entry point: one task = one finished exchange. Builds the row and
 * returns it serialized as one JSONEachRow line, so the main thread only
 * concatenates strings.
 */
import { workerData } from 'node:worker_threads';
import type { ExchangeSnapshot } from '../src/capture/exchange-snapshot';
import { buildRow, type DirectionStats, type RowBuildOptions } from '../src/processing/build-row';

const options = workerData as RowBuildOptions;

export interface ExchangeTaskResult {
  line: string;
  request: DirectionStats;
  response: DirectionStats;
}

export default async function processExchange(snapshot: ExchangeSnapshot): Promise<ExchangeTaskResult> {
  const built = await buildRow(snapshot, options);
  return { line: JSON.stringify(built.row) + '\n', request: built.request, response: built.response };
}
