/**
 * A 50 MiB SSE response goes through a capture service running in its own
 * process, paced like a fast model stream. The service must fold it in
 * bounded memory and the usage sent in the very last event must be in the row.
 *
 * What is measured is the memory JavaScript holds in every thread of the
 * service — the main isolate's heap and external memory, and the body
 * worker's heap and external memory, body buffers included
 * (egress_capture_worker_memory_bytes) — not
 * RSS: in a process that embeds ClickHouse, RSS swings by ±80 MiB with the
 * allocators' own slack (measured here), far more than the state being
 * bounded. Its growth while the stream flows must stay under 2 × maxBytes
 * plus the garbage a loaded machine leaves uncollected; buffering the body
 * would add the stream's 50 MiB.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { headers, rawClient, type RawCall } from '../support/raw-extproc-client';
import { randomListenPort } from '../support/listen-port';
import { DEFAULTS } from '../../src/config/defaults';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'egress-capture.js');
const MAX_BYTES = 16 * 1024 * 1024;
const STREAM_BYTES = 50 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
/** Uncollected garbage a sample may include on a loaded machine (see the assertion). */
const GC_SLACK_BYTES = 16 * 1024 * 1024;

/**
 * Heap and external memory held by the service's main isolate and its body
 * workers, from /metrics, less the body chunks handed to workers and not yet
 * processed: those are bounded on their own (--processing-backlog, shared by
 * every stream) and grow only when the workers fall behind, as on a loaded
 * machine; what is left is the state this stream holds.
 */
async function heldBytes(adminPort: number): Promise<{ held: number; backlog: number }> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let total = 0;
  let backlog = 0;
  for (const line of text.split('\n')) {
    if (/^egress_capture_nodejs_heap_size_used_bytes /.test(line) || /^egress_capture_nodejs_external_memory_bytes /.test(line) || /^egress_capture_worker_memory_bytes\{/.test(line)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    if (/^egress_capture_processing_backlog_bytes /.test(line)) backlog = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return { held: total - backlog, backlog };
}

/** SSE chat-completion events, generated on the fly, never held whole. */
function* sseChunks(totalBytes: number, id: string): Generator<Buffer> {
  let sent = 0;
  let pending = '';
  let n = 0;
  while (sent + pending.length < totalBytes) {
    pending += `data: {"id":"${id}","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"t${n % 10}"},"finish_reason":null}]}\n\n`;
    n += 1;
    if (pending.length >= CHUNK_BYTES) {
      const chunk = Buffer.from(pending);
      sent += chunk.length;
      pending = '';
      yield chunk;
    }
  }
  pending +=
    `data: {"id":"${id}","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n` +
    `data: {"id":"${id}","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":${n},"total_tokens":${n + 11}}}\n\n` +
    'data: [DONE]\n\n';
  yield Buffer.from(pending);
}

async function streamExchange(call: RawCall, id: string, streamBytes: number, onChunk: (index: number) => Promise<void>): Promise<number> {
  const write = (message: object): Promise<void> => new Promise((resolve) => (call.write(message) ? resolve() : call.once('drain', () => resolve())));
  await write({
    request_headers: {
      headers: headers([
        [':method', 'POST'],
        [':path', '/v1/chat/completions'],
        [':authority', 'api.openai.com'],
        ['content-type', 'application/json'],
        ['x-request-id', id],
      ]),
      end_of_stream: false,
    },
    metadata_context: {},
    protocol_config: { request_body_mode: 1, response_body_mode: 1 },
  });
  await write({ request_body: { body: Buffer.from('{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}'), end_of_stream: true }, metadata_context: {} });
  await write({
    response_headers: {
      headers: headers([
        [':status', '200'],
        ['content-type', 'text/event-stream'],
      ]),
      end_of_stream: false,
    },
    metadata_context: {},
  });
  let events = 0;
  for (const chunk of sseChunks(streamBytes, id)) {
    await write({ response_body: { body: chunk, end_of_stream: false }, metadata_context: {} });
    events += 1;
    await onChunk(events);
    // Paced at ~5 MiB/s: far faster than any model streams tokens, yet well within what
    // one worker folds even on a loaded machine, so the shared processing backlog stays
    // empty and what is measured is the per-stream state.
    await new Promise((resolve) => setTimeout(resolve, 12));
  }
  await write({ response_body: { body: Buffer.alloc(0), end_of_stream: true }, metadata_context: {} });
  return events;
}

describe('a 50 MiB streamed AI response', () => {
  let child: ChildProcess;
  let dataDir: string;
  let grpcPort: number;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egc-large-'));
    grpcPort = randomListenPort();
    child = spawn(
      process.execPath,
      [BIN, 'serve', '--data-dir', dataDir, '--grpc-listen', `127.0.0.1:${grpcPort}`, '--admin-listen', `127.0.0.1:${grpcPort + 1}`, '--max-bytes', String(MAX_BYTES), '--batch-max-delay-ms', '100'],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        // Measurement hygiene, not a production setting: a small young generation
        // keeps short-lived garbage from swamping the few MiB being measured.
        env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=2' },
      },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('serving on node')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is folded in bounded memory and its final usage lands in the row', async () => {
    const client = rawClient(`127.0.0.1:${grpcPort}`);
    let maxBacklog = 0;
    /** Streams one exchange; returns the most memory the service held while it flowed. */
    const run = async (id: string, streamBytes: number): Promise<number> => {
      const call = client.Process();
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      let peak = 0;
      await streamExchange(call, id, streamBytes, async (index) => {
        if (index % 8 === 0) {
          const sample = await heldBytes(grpcPort + 1);
          peak = Math.max(peak, sample.held);
          maxBacklog = Math.max(maxBacklog, sample.backlog);
        }
      });
      expect((await status).code).toBe(grpc.status.OK);
      return peak;
    };
    const queryRow = (requestId: string): string =>
      spawnSync(
        process.execPath,
        [
          BIN,
          'query',
          '--data-dir',
          dataDir,
          `SELECT GenAiOutputTokens, GenAiUsageSource, GenAiFinishReasons, ResponseBodySize, ResponseBodyTruncated FROM http_exchanges WHERE RequestId = '${requestId}'`,
        ],
        { encoding: 'utf8' },
      ).stdout.trim();
    // Warm-up: a first 2 MiB stream grows the heaps, pools and the store's
    // insert buffers once (its 8 MiB row is stored before measuring), so the
    // second stream measures the steady state.
    await run('warm-up', 2 * 1024 * 1024);
    for (let i = 0; i < 150 && queryRow('warm-up') === ''; i++) await new Promise((resolve) => setTimeout(resolve, 200));
    // Let the store finish with the warm-up row, then take the baseline as the most held over two
    // idle seconds: at rest the heaps still saw-tooth with GC, and one sample taken just after a
    // collection (seen once in CI: 41 MiB against the usual 45-46) would count that dip as growth.
    let baseline = 0;
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      baseline = Math.max(baseline, (await heldBytes(grpcPort + 1)).held);
    }
    const peak = await run('large-stream', STREAM_BYTES);
    const growth = peak - baseline;
    console.log(`held baseline ${baseline >> 20} MiB, peak ${peak >> 20} MiB, growth ${growth >> 20} MiB, most chunks waiting for a worker ${maxBacklog >> 20} MiB`);
    client.close();
    // The stream's state is its head and tail (maxBytes) and the folded text; garbage the collector
    // has not reached yet comes on top, 8-22 MiB here depending on the machine's load. Buffering
    // the body would add the stream's 50 MiB: the bound sits between the two.
    expect(growth).toBeLessThan(2 * MAX_BYTES + GC_SLACK_BYTES);
    expect(maxBacklog).toBeLessThanOrEqual(DEFAULTS.processingBacklogMaxBytes);

    let row: { GenAiOutputTokens: string | number; GenAiUsageSource: string; GenAiFinishReasons: string[]; ResponseBodySize: string | number; ResponseBodyTruncated: boolean } | undefined;
    const deadline = Date.now() + 30_000;
    while (row === undefined && Date.now() < deadline) {
      const text = queryRow('large-stream');
      if (text !== '') row = JSON.parse(text);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(row).toBeDefined();
    expect(Number(row!.ResponseBodySize)).toBeGreaterThanOrEqual(STREAM_BYTES);
    expect(row!.ResponseBodyTruncated).toBe(true);
    expect(row!.GenAiUsageSource).toBe('provider');
    expect(Number(row!.GenAiOutputTokens)).toBeGreaterThan(100_000);
    expect(row!.GenAiFinishReasons).toEqual(['stop']);
  }, 120_000);
});
