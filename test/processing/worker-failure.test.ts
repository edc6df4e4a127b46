/**
 * A body worker that dies in the middle of a batch costs that batch's bodies,
 * never its records: every exchange of the batch still produces a row (built
 * on the event loop from the task's own copy of the snapshot), the row says
 * why its bodies are missing, and the failure is counted. The real piscina
 * worker is terminated while a batch is in its hands.
 */
import { ExchangeAssembler } from '../../src/capture/exchange-assembler';
import { DEFAULTS } from '../../src/config/defaults';
import { silentLogger } from '../../src/logger';
import { CaptureMetrics } from '../../src/metrics';
import { ExchangePipeline } from '../../src/processing/exchange-pipeline';
import { RECORD_HEADER_BYTES, validRecordAt } from '../../src/spool/record-format';
import { assembledExchange } from '../support/assembled-exchange';

const BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(60_000) }] });

function finishedExchange(i: number): ExchangeAssembler {
  return assembledExchange({
    requestHeaders: [
      [':method', 'POST'],
      [':path', `/crash/${i}`],
      [':authority', 'worker.test'],
      ['content-type', 'application/json'],
    ],
    requestBody: BODY,
    responseHeaders: [
      [':status', '200'],
      ['content-type', 'application/json'],
    ],
    responseBody: BODY,
  });
}

test('a worker terminated mid-batch: every exchange still yields exactly one record, the lost bodies are explained and counted', async () => {
  const metrics = new CaptureMetrics({ processMetrics: false });
  const records: Buffer[] = [];
  const pipeline = new ExchangePipeline({
    workerThreads: 1,
    queueMax: 10_000,
    backlogMaxBytes: 64 * 1024 * 1024,
    batchWindowMs: DEFAULTS.workerBatchWindowMs,
    batchFullTasks: DEFAULTS.workerBatchFullTasks,
    settings: { maxBytes: 65536, redactHeaders: DEFAULTS.redactHeaders, headBytes: 49152, providerMapping: [], bodyRedaction: undefined, foldLimits: DEFAULTS.foldLimits, staleStateMs: 60_000 },
    metrics,
    log: silentLogger(),
    onRecords: (batch) => records.push(...batch),
  });
  type LaneView = { busy: boolean; windowTimer: unknown; pool: { threads: Array<{ terminate(): Promise<number> }> } };
  const lane = (pipeline as unknown as { lanes: LaneView[] }).lanes[0]!;

  const submitted = 300;
  let terminated = false;
  for (let i = 0; i < submitted; i++) {
    const assembler = finishedExchange(i);
    pipeline.submit(assembler.finish('ended'), assembler.context);
    // Once a batch is in the worker's hands (sent, not gathering), kill the worker.
    if (!terminated && lane.busy && lane.windowTimer === undefined && lane.pool.threads.length > 0) {
      terminated = true;
      void lane.pool.threads[0]!.terminate();
    }
    if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await pipeline.whenIdle();
  await pipeline.close();
  expect(terminated).toBe(true);

  // One whole, checksummed record per exchange, none lost, none twice.
  expect(records).toHaveLength(submitted);
  const rows = records.map((record) => {
    expect(validRecordAt(record, 0)).toBe(true);
    return JSON.parse(record.subarray(RECORD_HEADER_BYTES).toString('utf8')) as Record<string, unknown>;
  });
  expect(new Set(rows.map((row) => row.Path)).size).toBe(submitted);
  const fallback = rows.filter((row) => row.ResponseBodyNote === 'body_processing_failed');
  const processed = rows.filter((row) => row.ResponseBodyCaptured === true);
  expect(fallback.length).toBeGreaterThan(0);
  expect(processed.length).toBeGreaterThan(0);
  expect(fallback.length + processed.length).toBe(submitted);
  // The fallback rows keep everything but the bodies.
  expect(fallback[0]).toMatchObject({ Method: 'POST', Authority: 'worker.test', StatusCode: 200, RequestBody: '', ResponseBody: '', RequestBodySize: BODY.length });
  const failures = (await metrics.errors.get()).values.find((value) => value.labels.kind === 'worker_task_failed')?.value ?? 0;
  expect(failures).toBe(fallback.length);
}, 60_000);
