/**
 * piscina entry point. Each pool has one thread and runs one task at a time,
 * and every task of an exchange is sent to the same pool, so the exchange's
 * stream state (decoders, hash, GenAI fold) stays here between its chunk
 * tasks and its finish task.
 */
import { getHeapStatistics } from 'node:v8';
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { buildRow } from '../src/processing/build-row';
import { ExchangeProcessor, type ProcessedBodies } from '../src/processing/exchange-processor';
import type { BatchReply, BatchResult, ExchangeTask, FinishPayload, FinishResult, TaskBatch } from '../src/processing/worker-contract';
import type { WorkerSettings } from '../src/processing/worker-contract';
import { BodyRedactor } from '../src/processing/redaction/body-redactor';
import { ProviderDetector } from '../src/processing/genai/provider-detection';
import { encodeRecordBlock } from '../src/spool/record-format';

const settings = workerData as WorkerSettings;
const detector = new ProviderDetector(settings.providerMapping);
const redactor = settings.bodyRedaction === undefined ? undefined : new BodyRedactor(settings.bodyRedaction, settings.redactionKey);
const processors = new Map<string, ExchangeProcessor>();
let lastSweepMs = Date.now();

function processorFor(captureId: string): ExchangeProcessor {
  let processor = processors.get(captureId);
  if (processor === undefined) {
    processor = new ExchangeProcessor({ maxBytes: settings.maxBytes, headBytes: settings.headBytes, providerDetector: detector, foldLimits: settings.foldLimits });
    processors.set(captureId, processor);
  }
  return processor;
}

/** Drops state whose finish never came (the exchange was dropped upstream), so memory stays bounded. */
function sweep(now: number): void {
  if (now - lastSweepMs < 60_000) return;
  lastSweepMs = now;
  for (const [id, processor] of processors) {
    if (now - processor.lastTouchedMs > settings.staleStateMs) processors.delete(id);
  }
}

/**
 * One batch: its tasks in order (an exchange's chunks must be folded in the
 * order they arrived); a failing task fails alone.
 */
export default async function handleBatch(batch: TaskBatch): Promise<BatchReply> {
  sweep(Date.now());
  const results: BatchResult[] = [];
  const rows: string[] = [];
  for (const task of batch.tasks) {
    try {
      const handled = await handle(task);
      if (handled === undefined) {
        results.push(undefined);
        continue;
      }
      rows.push(handled.row);
      results.push(handled.result);
    } catch (err) {
      if (task.kind === 'finish') processors.delete(task.captureId);
      results.push({ error: err instanceof Error ? err.message : String(err) });
    }
  }
  const records = encodeRecordBlock(rows);
  let i = 0;
  for (const result of results) if (result !== undefined && !('error' in result)) result.recordBytes = records[i++]!.length;
  const block = records.length > 0 ? (records[0]!.buffer as ArrayBuffer) : undefined;
  // This isolate's heap and external memory: what the folding state holds, body buffers
  // transferred in included. (process.memoryUsage() would also read the process RSS from
  // /proc on every batch.)
  const heap = getHeapStatistics();
  const reply: BatchReply = { results, records: block, memory: { heapUsedBytes: heap.used_heap_size, externalBytes: heap.external_memory } };
  if (block === undefined) return reply;
  // Hand the record block over instead of copying it back.
  return move({ [transferableSymbol]: [block], [valueSymbol]: reply }) as unknown as BatchReply;
}

async function handle(task: ExchangeTask): Promise<{ row: string; result: FinishResult } | undefined> {
  if (task.kind === 'chunk') {
    await processorFor(task.captureId).push(task.direction, task.bytes, task.context);
    return undefined;
  }
  const { snapshot, context } = JSON.parse(task.payload) as FinishPayload;
  snapshot.request.bodyPending = task.requestBody;
  snapshot.response.bodyPending = task.responseBody;
  const streamed = snapshot.request.bodyStreamed || snapshot.response.bodyStreamed;
  let processed: ProcessedBodies | undefined;
  if (streamed && !processors.has(snapshot.captureId)) {
    // The chunks went to a worker that is gone (restarted): the bodies are incomplete.
    processed = undefined;
  } else {
    // Envoy's own usage makes a model call worth folding even when no body came.
    const keeps = snapshot.request.bodyPending !== undefined || snapshot.response.bodyPending !== undefined || streamed || snapshot.envoyUsage !== undefined;
    processed = keeps ? await processorFor(snapshot.captureId).finish(snapshot, context) : undefined;
  }
  processors.delete(snapshot.captureId);
  const built = buildRow(snapshot, settings, processed, redactor);
  return {
    row: JSON.stringify(built.row),
    result: { recordBytes: 0, request: built.request, response: built.response, redactions: built.redactions, genAi: processed?.genAi !== undefined },
  };
}
