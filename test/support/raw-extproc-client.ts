/**
 * A bare ext_proc client for tests that need to send what Envoy never would
 * (no oneof, garbage, huge values) or to control the call's end exactly. The
 * Envoy-faithful client is test/emulator.
 */
import * as grpc from '@grpc/grpc-js';
import { extProcClientConstructor, type ProcessingRequest, type ProcessingResponse } from '../../src/extproc/wire/protocol';

export type RawCall = grpc.ClientDuplexStream<ProcessingRequest, ProcessingResponse>;

export function rawClient(address: string): grpc.Client & { Process(): RawCall } {
  const Client = extProcClientConstructor();
  return new Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  }) as unknown as grpc.Client & { Process(): RawCall };
}

export function header(key: string, value: string | Buffer): { key: string; raw_value: Buffer } {
  return { key, raw_value: Buffer.isBuffer(value) ? value : Buffer.from(value) };
}

export function headers(pairs: Array<[string, string | Buffer]>): { headers: Array<{ key: string; raw_value: Buffer }> } {
  return { headers: pairs.map(([key, value]) => header(key, value)) };
}

/** Sends messages on one call and collects replies until the server ends it (or the timeout). */
export async function exchange(
  client: { Process(): RawCall },
  messages: ProcessingRequest[],
  options: { close?: 'half-close-then-cancel' | 'half-close' | 'none'; timeoutMs?: number } = {},
): Promise<{ replies: ProcessingResponse[]; status: grpc.StatusObject | undefined }> {
  const call = client.Process();
  const replies: ProcessingResponse[] = [];
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: grpc.StatusObject | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ replies, status });
    };
    const timer = setTimeout(() => {
      call.cancel();
      finish(undefined);
    }, options.timeoutMs ?? 2000);
    call.on('data', (reply: ProcessingResponse) => replies.push(reply));
    call.on('status', (status: grpc.StatusObject) => finish(status));
    call.on('error', () => undefined);
    for (const message of messages) call.write(message);
    if (options.close === 'half-close-then-cancel') {
      call.end();
      call.cancel();
    } else if (options.close === 'half-close') {
      call.end();
    }
  });
}

/**
 * One bodiless `GET /v1/models` to `authority` through the ext_proc server at
 * `grpcAddress`, ended with a half-close as Envoy ends a call: the smallest
 * exchange that leaves a row.
 */
export async function captureBodilessGet(grpcAddress: string, authority: string, options: { status?: string; extraHeaders?: Array<[string, string]> } = {}): Promise<void> {
  const client = rawClient(grpcAddress);
  try {
    await exchange(
      client,
      [
        {
          request_headers: {
            headers: headers([[':method', 'GET'], [':path', '/v1/models'], [':authority', authority], [':scheme', 'https'], ...(options.extraHeaders ?? [])]),
            end_of_stream: true,
          },
          metadata_context: {},
        },
        { response_headers: { headers: headers([[':status', options.status ?? '204']]), end_of_stream: true }, metadata_context: {} },
      ],
      { close: 'half-close' },
    );
  } finally {
    client.close();
  }
}
