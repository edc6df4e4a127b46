/**
 * The thread side of worker-bench.ts: the worker's own entry point, fed the
 * bench's finish tasks in batches, round after round, with the process CPU
 * each round took. Its own file so that the worker entry, which reads its
 * settings from workerData when loaded, is loaded only here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import handleBatch from '../../workers/exchange-worker';
import type { ExchangeTask, FinishTask, TaskBatch } from '../../src/processing/worker-contract';

/** What worker-bench.ts passes beside the worker settings. */
export interface RunnerData {
  tasks: FinishTask[];
  perRound: number;
  rounds: number;
}

/** Finish tasks queued together, as a worker lane takes them under load. */
const BATCH_TASKS = 4;
const WARM_UP_EXCHANGES = 2048;

async function runner(): Promise<void> {
  const { tasks, perRound, rounds } = workerData as RunnerData;
  const batches: TaskBatch[] = [];
  for (let i = 0; i < tasks.length; i += BATCH_TASKS) batches.push({ tasks: tasks.slice(i, i + BATCH_TASKS) as ExchangeTask[] });
  const cpuPerExchange = async (exchanges: number): Promise<number> => {
    let done = 0;
    const start = process.cpuUsage();
    while (done < exchanges) {
      for (const batch of batches) {
        await handleBatch(batch);
        done += batch.tasks.length;
      }
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / done;
  };
  await cpuPerExchange(WARM_UP_EXCHANGES);
  const figures: number[] = [];
  for (let round = 0; round < rounds; round++) figures.push(await cpuPerExchange(perRound));
  parentPort!.postMessage(`body worker CPU per exchange (us), ${rounds} rounds of ${perRound}: ${figures.map((f) => f.toFixed(1)).join(' ')}`);
  parentPort!.postMessage(`lowest: ${Math.min(...figures).toFixed(1)} us`);
}

runner().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
