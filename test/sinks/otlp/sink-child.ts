/**
 * Child-process host for the OTLP sink (see SinkProcess in
 * otlp-test-support.ts): one sink per process, driven by IPC messages.
 */
import type { RuntimeConfig } from '../../../src/config/runtime-config';
import { createOtlpSink, type OtlpSink, type OtlpSinkOptions } from '../../../src/sinks/otlp';
import type { RowBatch } from '../../../src/sinks/sink';

interface Message {
  id: number;
  op: 'create' | 'write' | 'stats' | 'close';
  config?: RuntimeConfig;
  options?: OtlpSinkOptions;
  batch?: RowBatch;
}

let sink: OtlpSink | undefined;

async function handle(message: Message): Promise<unknown> {
  switch (message.op) {
    case 'create':
      sink = createOtlpSink(message.config!, message.options ?? {});
      await sink.open();
      return { url: sink.settings.url };
    case 'write': {
      const started = Date.now();
      const result = await sink!.write(message.batch!);
      const elapsedMs = Date.now() - started;
      if (result.ok) return { ok: true, elapsedMs };
      const code = (result.error as { code?: string }).code;
      return {
        ok: false,
        retryable: result.retryable,
        ...(result.retryAfterMs !== undefined ? { retryAfterMs: result.retryAfterMs } : {}),
        ...(code !== undefined ? { errorCode: code } : {}),
        errorMessage: result.error.message,
        elapsedMs,
      };
    }
    case 'stats':
      return sink!.stats;
    case 'close':
      await sink?.close();
      return {};
  }
}

process.on('message', (message: Message) => {
  handle(message).then(
    (result) => process.send!({ id: message.id, result }),
    (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
