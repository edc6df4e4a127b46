/**
 * `npm run bench:worker`: what the body worker costs per exchange, alone.
 *
 * The bench's exchange (grpc-frames.ts: a 2 KiB chat completion request and
 * its 41-event SSE answer, both STREAMED) goes through the real
 * ExchangeAssembler, and the finish tasks it makes are handed, as
 * ExchangePipeline hands them, to the worker's own entry point
 * (workers/exchange-worker.ts) in a worker thread: folding, hashing,
 * rendering, secret redaction, serialization and record encoding, nothing
 * of gRPC or the store. CPU is process CPU (process.cpuUsage: every thread,
 * V8's helpers included) per exchange, so a shared machine's other load
 * does not count; each round's figure is printed and the lowest one is the
 * figure to compare, since other load can only add to it.
 *
 *   npm run bench:worker -- [exchanges per round, default 2048] [rounds, default 8]
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ExchangeAssembler, NO_POLICY } from '../../src/capture/exchange-assembler';
import { ContentTypeFilter } from '../../src/capture/content-type-filter';
import { loadConfig } from '../../src/config/load-config';
import { extProcServiceDefinition } from '../../src/extproc/wire/protocol';
import type { FinishTask, WorkerSettings } from '../../src/processing/worker-contract';
import { exchangeMessages } from './grpc-frames';
import type { RunnerData } from './worker-bench-runner';

/** Distinct exchanges cycled through (ids, bodies and snapshots differ a little, as in a run). */
const DISTINCT_EXCHANGES = 256;

/** The finish task ExchangePipeline.submit makes for one bench exchange. */
function finishTask(id: string, config: ReturnType<typeof loadConfig>): FinishTask {
  const rpc = extProcServiceDefinition().Process;
  const refused = (): boolean => {
    throw new Error('the bench exchange is smaller than a shipped chunk: nothing should be shipped before the finish');
  };
  const assembler = new ExchangeAssembler(
    { maxBytes: config.maxBytes, headerValueMaxBytes: config.headerValueMaxBytes, headerBytesMaxPerExchange: config.headerBytesMaxPerExchange, shipChunkBytes: config.shipChunkBytes },
    new ContentTypeFilter(config.includeContentTypes),
    refused,
    NO_POLICY,
  );
  // Through the wire format, so the messages have the shape the gRPC server hands over.
  for (const message of exchangeMessages({ authority: 'worker.bench', observability: false, id })) assembler.accept(rpc.requestDeserialize(rpc.requestSerialize(message)));
  const snapshot = assembler.finish('ended');
  const requestBody = snapshot.request.bodyPending;
  const responseBody = snapshot.response.bodyPending;
  snapshot.request.bodyPending = undefined;
  snapshot.response.bodyPending = undefined;
  return { kind: 'finish', captureId: snapshot.captureId, payload: JSON.stringify({ snapshot, context: assembler.context }), requestBody, responseBody };
}

function main(): void {
  const perRound = Number(process.argv[2] ?? 2048);
  const rounds = Number(process.argv[3] ?? 8);
  if (!Number.isSafeInteger(perRound) || perRound < 1 || !Number.isSafeInteger(rounds) || rounds < 1) {
    throw new Error(`usage: npm run bench:worker -- [exchanges per round ≥ 1] [rounds ≥ 1], got ${process.argv.slice(2).join(' ')}`);
  }
  const config = loadConfig({ argv: [], env: {} });
  // The settings the capture service starts its workers with, on its defaults (a random redaction key).
  const settings: WorkerSettings = {
    maxBytes: config.maxBytes,
    redactHeaders: config.redactHeaders,
    headBytes: config.headBytes,
    providerMapping: config.providerMapping,
    bodyRedaction: config.bodyRedaction ? config.bodyRedactionRules : undefined,
    foldLimits: config.foldLimits,
    staleStateMs: config.staleStateMs,
  };
  const tasks = Array.from({ length: DISTINCT_EXCHANGES }, (_, i) => finishTask(`worker-bench-${i}`, config));
  // The worker entry reads its settings from workerData; the bench's own members beside them are ignored there.
  const data: RunnerData & WorkerSettings = { ...settings, tasks, perRound, rounds };
  const worker = new Worker(path.join(__dirname, 'worker-bench-runner.js'), { workerData: data });
  worker.on('message', (line: string) => console.log(line));
  worker.on('error', (err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

main();
