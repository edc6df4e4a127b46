/**
 * Test-side encoder for application/vnd.amazon.eventstream frames, written
 * from the AWS framing spec, so Bedrock streams can be built (and corrupted)
 * byte by byte without a binary fixture.
 */
import { crc32 } from 'node:zlib';

export type HeaderInput =
  | string
  | { type: 'bool'; value: boolean }
  | { type: 'byte' | 'short' | 'int'; value: number }
  | { type: 'long' | 'timestamp'; value: bigint }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'uuid'; value: string };

export function encodeHeaders(headers: Record<string, HeaderInput>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, raw] of Object.entries(headers)) {
    const h = typeof raw === 'string' ? ({ type: 'string', value: raw } as const) : raw;
    const n = Buffer.from(name, 'utf8');
    parts.push(Buffer.from([n.length]), n);
    switch (h.type) {
      case 'bool':
        parts.push(Buffer.from([h.value ? 0 : 1]));
        break;
      case 'byte': {
        const b = Buffer.alloc(2);
        b[0] = 2;
        b.writeInt8(h.value, 1);
        parts.push(b);
        break;
      }
      case 'short': {
        const b = Buffer.alloc(3);
        b[0] = 3;
        b.writeInt16BE(h.value, 1);
        parts.push(b);
        break;
      }
      case 'int': {
        const b = Buffer.alloc(5);
        b[0] = 4;
        b.writeInt32BE(h.value, 1);
        parts.push(b);
        break;
      }
      case 'long':
      case 'timestamp': {
        const b = Buffer.alloc(9);
        b[0] = h.type === 'long' ? 5 : 8;
        b.writeBigInt64BE(h.value, 1);
        parts.push(b);
        break;
      }
      case 'bytes':
      case 'string': {
        const v = h.type === 'bytes' ? Buffer.from(h.value) : Buffer.from(h.value, 'utf8');
        const b = Buffer.alloc(3);
        b[0] = h.type === 'bytes' ? 6 : 7;
        b.writeUInt16BE(v.length, 1);
        parts.push(b, v);
        break;
      }
      case 'uuid':
        parts.push(Buffer.from([9]), Buffer.from(h.value.replace(/-/g, ''), 'hex'));
        break;
    }
  }
  return Buffer.concat(parts);
}

export function encodeMessage(headers: Record<string, HeaderInput>, payload: string | Uint8Array): Buffer {
  const h = encodeHeaders(headers);
  const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const total = 12 + h.length + p.length + 4;
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(h.length, 4);
  prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
  const body = Buffer.concat([prelude, h, p]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body), 0);
  return Buffer.concat([body, crc]);
}

/** A Bedrock ConverseStream event frame. */
export function bedrockEvent(eventType: string, payload: object): Buffer {
  return encodeMessage({ ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(payload));
}

export function bedrockException(exceptionType: string, message: string): Buffer {
  return encodeMessage({ ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' }, JSON.stringify({ message }));
}

/** An InvokeModelWithResponseStream `chunk` frame: the model-format JSON, base64 in {"bytes"} (with Bedrock's padding member). */
export function bedrockInvokeChunk(modelChunk: object): Buffer {
  const bytes = Buffer.from(JSON.stringify(modelChunk), 'utf8').toString('base64');
  return encodeMessage({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify({ bytes, p: 'abcdefghijklmnopqrstu' }));
}

/**
 * Claude on Bedrock InvokeModelWithResponseStream, written from the Messages
 * streaming reference and Bedrock's invocation metrics: text, then a tool
 * call streamed as JSON fragments; the last chunk carries Bedrock's metrics.
 */
export function bedrockAnthropicInvokeStream(): Buffer {
  const metrics = { inputTokenCount: 512, outputTokenCount: 58, invocationLatency: 2211, firstByteLatency: 640 };
  return Buffer.concat([
    bedrockInvokeChunk({
      type: 'message_start',
      message: {
        id: 'msg_bdrk_01R5pbFzMJQ1',
        type: 'message',
        role: 'assistant',
        model: 'claude-3-7-sonnet-20250219',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 512, output_tokens: 3 },
      },
    }),
    bedrockInvokeChunk({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    bedrockInvokeChunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Fetching the tide ' } }),
    bedrockInvokeChunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'table for Tromsø.' } }),
    bedrockInvokeChunk({ type: 'content_block_stop', index: 0 }),
    bedrockInvokeChunk({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_bdrk_01A09q90qw90lq917835lq9', name: 'get_tides', input: {} } }),
    bedrockInvokeChunk({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"port": "Trom' } }),
    bedrockInvokeChunk({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'sø"}' } }),
    bedrockInvokeChunk({ type: 'content_block_stop', index: 1 }),
    bedrockInvokeChunk({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 58 } }),
    bedrockInvokeChunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': metrics }),
  ]);
}
