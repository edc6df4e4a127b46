/**
 * Shared by the end-to-end GenAI tests: the row columns they read, and a
 * model call as the Envoy emulator plays it (request, then a response whose
 * body arrives in chunks of the given sizes).
 */
import { EnvoyEmulator, type HttpExchangeSpec } from '../emulator';
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';

export interface GenAiRow {
  Path: string;
  Outcome: string;
  StatusCode: number;
  ResponseBody: string;
  ResponseBodyTruncated: boolean;
  ResponseBodyNote: string;
  RequestBody: string;
  RequestContentEncoding: string;
  RequestBodySize: string | number;
  RequestBodyDecodedSize: string | number;
  ResponseBodySha256: string;
  ResponseFirstChunkMs: number;
  GenAiProvider: string;
  GenAiOperation: string;
  GenAiRequestModel: string;
  GenAiResponseModel: string;
  GenAiStreaming: boolean;
  GenAiInputTokens: string | number | null;
  GenAiOutputTokens: string | number | null;
  GenAiCachedInputTokens: string | number | null;
  GenAiReasoningTokens: string | number | null;
  GenAiApi: string;
  GenAiResponseId: string;
  GenAiErrorMessage: string;
  Authority: string;
  GenAiUsageSource: string;
  GenAiFinishReasons: string[];
  GenAiOutputText: string;
  GenAiToolCalls: string;
  GenAiEventCount: number;
  GenAiErrorType: string;
  GenAiComplete: boolean;
  BodyRedactions: Record<string, number>;
}

export function chunked(data: Buffer, sizes: number[]): Array<{ data: Buffer; delayMs: number }> {
  const chunks: Array<{ data: Buffer; delayMs: number }> = [];
  let offset = 0;
  let i = 0;
  while (offset < data.length) {
    const size = sizes[i % sizes.length]!;
    chunks.push({ data: data.subarray(offset, offset + size), delayMs: 1 });
    offset += size;
    i += 1;
  }
  return chunks;
}

export function streamExchange(options: {
  id: string;
  authority: string;
  path: string;
  requestBody: Buffer;
  response: Buffer;
  chunkSizes: number[];
  contentType?: string;
  responseEncoding?: string;
}): HttpExchangeSpec {
  const responseHeaders: Array<[string, string]> = [
    [':status', '200'],
    ['content-type', options.contentType ?? 'text/event-stream'],
  ];
  if (options.responseEncoding !== undefined) responseHeaders.push(['content-encoding', options.responseEncoding]);
  return {
    name: options.id,
    request: {
      headers: [
        [':method', 'POST'],
        [':path', options.path],
        [':authority', options.authority],
        [':scheme', 'https'],
        ['content-type', 'application/json'],
        ['x-request-id', options.id],
      ],
      body: [options.requestBody],
    },
    response: { headers: responseHeaders, body: chunked(options.response, options.chunkSizes) },
  };
}

export interface GenAiCapture {
  harness: CaptureHarness;
  envoy: EnvoyEmulator;
  /** The one row stored for an exchange, by its x-request-id. */
  rowFor(requestId: string): Promise<GenAiRow>;
}

/**
 * Starts the real capture server and an emulated Envoy streaming both bodies
 * to it, for the tests of one describe block, and stops them after.
 */
export function useGenAiCapture(): GenAiCapture {
  const capture = {} as GenAiCapture;
  beforeAll(async () => {
    capture.harness = await startCaptureHarness();
    // 2 s message timeout: the server shares this process with the store and the emulator, and a
    // loaded machine can stall the loop past Envoy's 200 ms; timing is not what these tests check.
    capture.envoy = new EnvoyEmulator({ target: capture.harness.grpcAddress, messageTimeoutMs: 2000, processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } });
    await capture.envoy.waitForReady();
  });
  afterAll(async () => {
    capture.envoy.close();
    await capture.harness.stop();
  });
  capture.rowFor = async (requestId) => {
    const rows = await capture.harness.rows<GenAiRow>(`SELECT * FROM http_exchanges WHERE RequestId = '${requestId}'`);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };
  return capture;
}
