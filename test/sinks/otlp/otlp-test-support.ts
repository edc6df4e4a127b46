/**
 * Shared fixtures for the OTLP sink tests: rows, batches, config, a
 * scriptable local HTTP receiver, and a decoder built from the official
 * OTLP .proto files that @elastic/mockotlpserver ships (loaded from
 * node_modules, not copied into the repo).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as protobuf from 'protobufjs';
import { EMPTY_GENAI, type ExchangeRow } from '../../../src/row/exchange-row';
import { configWith, type ConfigInput, type RuntimeConfig } from '../../../src/config/runtime-config';
import type { RowBatch } from '../../../src/sinks/sink';

/** A full row; overrides are loose so tests can also send columns in shapes an older or newer row might have. */
export function makeRow(overrides: Partial<ExchangeRow> | Record<string, unknown> = {}): ExchangeRow {
  return {
    Timestamp: '2026-11-21 23:44:54.123456789',
    CaptureId: 'cap-0001',
    RequestId: 'req-1',
    TraceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    SpanId: '00f067aa0ba902b7',
    SourceAddress: '10.1.2.3:45678',
    Method: 'POST',
    Scheme: 'https',
    Authority: 'api.openai.com',
    Path: '/v1/chat/completions?api-version=1&sig=secret',
    StatusCode: 200,
    RequestHeaders: {
      'content-type': 'application/json',
      authorization: '[REDACTED len=51 hmac=0123456789ab]',
      'x-multi': 'a\nb',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'user-agent': 'openai-python/1.0',
    },
    ResponseHeaders: { 'content-type': 'application/json', 'set-cookie': 'a=1\nb=2' },
    RequestTrailers: {},
    ResponseTrailers: {},
    RequestContentType: 'application/json',
    ResponseContentType: 'application/json',
    RequestContentEncoding: '',
    ResponseContentEncoding: 'gzip',
    RequestBody: '{"model":"gpt-4o","messages":[{"role":"user","content":"héllo"}]}',
    ResponseBody: '{"id":"chatcmpl-1","choices":[]}',
    RequestBodyCaptured: true,
    ResponseBodyCaptured: true,
    RequestBodySize: 66,
    ResponseBodySize: 40,
    RequestBodyDecodedSize: 66,
    ResponseBodyDecodedSize: 120,
    RequestBodySha256: 'a'.repeat(64),
    ResponseBodySha256: 'b'.repeat(64),
    RequestBodyTruncated: false,
    ResponseBodyTruncated: true,
    RequestBodyNote: '',
    ResponseBodyNote: '',
    DurationMs: 812.5,
    ResponseHeadersMs: 640.25,
    ResponseFirstChunkMs: 700,
    ResponseMaxChunkGapMs: 15.5,
    Outcome: 'complete',
    ...EMPTY_GENAI,
    BodyRedactions: {},
    Metadata: {},
    Attributes: { 'source.address': '10.1.2.3:45678' },
    ObservabilityMode: false,
    BodyModes: 'BUFFERED/STREAMED',
    CapturedBy: 'capture-0',
    ...overrides,
  } as ExchangeRow;
}

export function makeBatch(rows: ExchangeRow[], extraLines: string[] = []): RowBatch {
  const lines = [...rows.map((row) => JSON.stringify(row)), ...extraLines];
  const jsonEachRow = lines.map((line) => `${line}\n`).join('');
  return {
    jsonEachRow,
    rowCount: lines.length,
    byteLength: Buffer.byteLength(jsonEachRow),
    batchId: `${rows[0]?.CaptureId ?? 'none'}-${lines.length}`,
  };
}

export function rowsWithIds(count: number, overrides: Partial<ExchangeRow> | Record<string, unknown> = {}): ExchangeRow[] {
  return Array.from({ length: count }, (_, i) => makeRow({ CaptureId: `cap-${String(i).padStart(5, '0')}`, ...overrides }));
}

export function testConfig(overrides: Partial<ConfigInput> = {}): RuntimeConfig {
  return configWith({ gatewayName: 'egress', gatewayNamespace: 'gw-ns', ...overrides });
}

/** A clean environment so the developer's OTEL_* variables cannot change what a test sends. */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { POD_NAME: 'capture-7d9f-abc', POD_NAMESPACE: 'capture-ns', ...extra };
}

// ---------------------------------------------------------------------------
// Official OTLP protos (vendored by @elastic/mockotlpserver)
// ---------------------------------------------------------------------------

let protoRoot: protobuf.Root | undefined;

/**
 * Loads opentelemetry/proto/collector/logs/v1/logs_service.proto and its
 * imports from the registry package. That snapshot predates LogRecord
 * field 12 (event_name); the field is added here with its official number
 * and type so the decoder does not silently drop it.
 */
export function otlpProtoRoot(): protobuf.Root {
  if (protoRoot !== undefined) return protoRoot;
  const packageDir = path.dirname(require.resolve('@elastic/mockotlpserver/package.json'));
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => (path.isAbsolute(target) ? target : path.join(packageDir, target));
  root.loadSync(path.join(packageDir, 'opentelemetry/proto/collector/logs/v1/logs_service.proto'));
  const logRecord = root.lookupType('opentelemetry.proto.logs.v1.LogRecord');
  // camelCase, as the loader names the other fields.
  if (logRecord.fieldsById[12] === undefined) logRecord.add(new protobuf.Field('eventName', 12, 'string'));
  protoRoot = root;
  return root;
}

/** A decoded log record with attributes flattened to plain values. */
export interface DecodedRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  eventName: string;
  body: unknown;
  traceId: string;
  spanId: string;
  flags: number;
  attributes: Record<string, unknown>;
  /** Which AnyValue member carried each attribute on the wire (intValue, doubleValue, stringValue…). */
  attributeKinds: Record<string, string>;
}

export interface DecodedRequest {
  resource: Record<string, unknown>;
  resourceSchemaUrl: string;
  scopeName: string;
  scopeVersion: string;
  scopeSchemaUrl: string;
  records: DecodedRecord[];
}

/** AnyValue (protobufjs object or OTLP/JSON) → plain JS value; ints as numbers, bytes as Buffer. */
export function anyValue(value: Record<string, unknown> | undefined | null): unknown {
  if (value === undefined || value === null) return null;
  // Own properties only: decoded protobufjs messages keep field defaults ('' , 0, false) on their prototype.
  const has = (key: string): boolean => Object.prototype.hasOwnProperty.call(value, key) && value[key] !== undefined && value[key] !== null;
  if (has('stringValue')) return value['stringValue'];
  if (has('boolValue')) return value['boolValue'];
  if (has('intValue')) return Number(String(value['intValue']));
  if (has('doubleValue')) return Number(value['doubleValue']);
  if (has('bytesValue')) {
    const bytes = value['bytesValue'];
    return typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : Buffer.from(bytes as Uint8Array);
  }
  if (has('arrayValue')) {
    const values = (value['arrayValue'] as { values?: Array<Record<string, unknown>> }).values ?? [];
    return values.map((item) => anyValue(item));
  }
  if (has('kvlistValue')) {
    const values = (value['kvlistValue'] as { values?: Array<{ key: string; value: Record<string, unknown> }> }).values ?? [];
    return Object.fromEntries(values.map((kv) => [kv.key, anyValue(kv.value)]));
  }
  return null;
}

function flattenAttributes(list: Array<{ key: string; value: Record<string, unknown> }> | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
}

const VALUE_KINDS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue', 'arrayValue', 'kvlistValue'];

function attributeKinds(list: Array<{ key: string; value: Record<string, unknown> }> | undefined): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((kv) => [kv.key, VALUE_KINDS.find((kind) => Object.prototype.hasOwnProperty.call(kv.value ?? {}, kind) && kv.value[kind] !== undefined && kv.value[kind] !== null) ?? 'none']),
  );
}

function idHex(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.toLowerCase();
  return Buffer.from(value as Uint8Array).toString('hex');
}

/**
 * An ExportLogsServiceRequest in either form — a protobufjs message (from
 * the binary decoder or mockotlpserver) or parsed OTLP/JSON — flattened.
 */
export function flattenRequest(request: unknown): DecodedRequest[] {
  const out: DecodedRequest[] = [];
  const resourceLogs = (request as { resourceLogs?: unknown[] }).resourceLogs ?? [];
  for (const rl of resourceLogs as Array<Record<string, any>>) {
    for (const sl of (rl['scopeLogs'] ?? []) as Array<Record<string, any>>) {
      out.push({
        resource: flattenAttributes(rl['resource']?.attributes),
        resourceSchemaUrl: rl['schemaUrl'] ?? '',
        scopeName: sl['scope']?.name ?? '',
        scopeVersion: sl['scope']?.version ?? '',
        scopeSchemaUrl: sl['schemaUrl'] ?? '',
        records: ((sl['logRecords'] ?? []) as Array<Record<string, any>>).map((lr) => ({
          timeUnixNano: String(lr['timeUnixNano'] ?? '0'),
          observedTimeUnixNano: String(lr['observedTimeUnixNano'] ?? '0'),
          severityNumber: Number(lr['severityNumber'] ?? 0),
          severityText: lr['severityText'] ?? '',
          eventName: lr['eventName'] ?? '',
          body: anyValue(lr['body']),
          traceId: idHex(lr['traceId']),
          spanId: idHex(lr['spanId']),
          flags: Number(lr['flags'] ?? 0),
          attributes: flattenAttributes(lr['attributes']),
          attributeKinds: attributeKinds(lr['attributes']),
        })),
      });
    }
  }
  return out;
}

/** Decodes a raw request body (gzip or not, protobuf or JSON) with the official definitions. */
export function decodeBody(body: Buffer, contentType: string, contentEncoding: string | undefined): unknown {
  const raw = contentEncoding === 'gzip' ? gunzipSync(body) : body;
  if (contentType.startsWith('application/json')) return JSON.parse(raw.toString('utf8'));
  const type = otlpProtoRoot().lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
  const message = type.decode(raw);
  // longs as strings so 64-bit nanosecond timestamps survive.
  return type.toObject(message, { longs: String });
}

// ---------------------------------------------------------------------------
// Scriptable receiver
// ---------------------------------------------------------------------------

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The body as it came over the wire (compressed if it was). */
  wire: Buffer;
  /** Uncompressed size. */
  decodedLength: number;
  decoded: DecodedRequest[];
}

export type Responder = (request: ReceivedRequest, index: number) => { status: number; headers?: Record<string, string>; body?: string };

export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server: http.Server | undefined;
  responder: Responder = () => ({ status: 200 });

  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const wire = Buffer.concat(chunks);
        const encoding = req.headers['content-encoding'];
        const contentType = req.headers['content-type'] ?? '';
        let decoded: DecodedRequest[];
        let decodedLength: number;
        try {
          decodedLength = (encoding === 'gzip' ? gunzipSync(wire) : wire).length;
          decoded = flattenRequest(decodeBody(wire, contentType, encoding));
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' });
          res.end(`undecodable: ${(err as Error).message}`);
          return;
        }
        const received: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, wire, decodedLength, decoded };
        const index = this.requests.length;
        this.requests.push(received);
        const reply = this.responder(received, index);
        res.writeHead(reply.status, { 'content-type': contentType || 'application/x-protobuf', ...reply.headers });
        res.end(reply.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  records(): DecodedRecord[] {
    return this.requests.flatMap((request) => request.decoded.flatMap((group) => group.records));
  }

  async stop(): Promise<void> {
    if (this.server === undefined) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

/** A port with nothing listening (bound then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------
// The sink in a child process
// ---------------------------------------------------------------------------

/**
 * The exporter's HTTP transport loads node:http with a dynamic import(),
 * which Jest's module VM refuses without --experimental-vm-modules. So the
 * tests that send over the network run the sink in a plain Node child
 * process (as the service runs it) and drive it over IPC; the receivers
 * stay in the test process.
 */
export interface ChildWriteResult {
  ok: boolean;
  retryable?: boolean;
  retryAfterMs?: number;
  errorCode?: string;
  errorMessage?: string;
  elapsedMs: number;
}

export class SinkProcess {
  private readonly child: import('node:child_process').ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  private exited = false;

  constructor() {
    const { fork } = require('node:child_process') as typeof import('node:child_process');
    this.child = fork(path.join(__dirname, 'sink-child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.waiting.get(message.id);
      if (waiter === undefined) return;
      this.waiting.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const waiter of this.waiting.values()) waiter.reject(new Error('sink child exited'));
      this.waiting.clear();
    });
  }

  private call<T>(op: string, payload: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, op, ...payload });
    });
  }

  create(config: RuntimeConfig, options: Record<string, unknown>): Promise<{ url: string }> {
    return this.call('create', { config, options });
  }

  write(batch: RowBatch): Promise<ChildWriteResult> {
    return this.call('write', { batch });
  }

  stats(): Promise<Record<string, number>> {
    return this.call('stats');
  }

  async close(): Promise<void> {
    if (this.exited) return;
    await this.call('close').catch(() => undefined);
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill();
      await gone;
    }
  }
}
