/**
 * The Envoy bench's upstream in a process of its own (so its CPU is neither
 * the bench client's nor Envoy's): the end-to-end suite's loopback upstream
 * (test/envoy/upstream-server.ts), which answers /v1/chat/completions like
 * OpenAI. Prints `bench upstream h1 :PORT h2 :PORT` once bound; SIGTERM stops it.
 */
import { startUpstream } from '../envoy/upstream-server';

async function main(): Promise<void> {
  const upstream = await startUpstream();
  process.stdout.write(`bench upstream h1 :${upstream.h1Port} h2 :${upstream.h2Port}\n`);
  const stop = (): void => {
    setTimeout(() => process.exit(0), 2000).unref();
    void upstream.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-upstream: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
