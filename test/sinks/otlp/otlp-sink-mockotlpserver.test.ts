/**
 * Done-when: a receiver written by someone else gets every record.
 * @elastic/mockotlpserver decodes OTLP/HTTP protobuf with the official
 * protos (protobufjs) and parses OTLP/JSON; it cannot take gzip, so these
 * runs are uncompressed (gzip is covered in otlp-sink.test.ts with the
 * official protos in our own server).
 */
import { flattenRequest, makeBatch, makeRow, rowsWithIds, SinkProcess, testConfig, testEnv, type DecodedRequest } from './otlp-test-support';

interface MockOtlpServerInstance {
  httpUrl: URL | null;
  start(): Promise<void>;
  close(): Promise<void>;
}
// The package ships no type declarations.
const { MockOtlpServer } = require('@elastic/mockotlpserver') as {
  MockOtlpServer: new (options: { services: string[]; httpHostname: string; httpPort: number; logLevel: string; onLogs: (request: unknown) => void }) => MockOtlpServerInstance;
};

describe.each(['protobuf', 'json'] as const)('OTLP sink → @elastic/mockotlpserver (%s)', (encoding) => {
  let server: MockOtlpServerInstance;
  let received: DecodedRequest[];
  let sink: SinkProcess;

  beforeEach(async () => {
    // mockotlpserver's handlers stay subscribed after close(): each test's handler fills its own array.
    const mine: DecodedRequest[] = [];
    received = mine;
    server = new MockOtlpServer({
      services: ['http'],
      httpHostname: '127.0.0.1',
      httpPort: 0,
      logLevel: 'error',
      onLogs: (request) => mine.push(...flattenRequest(request)),
    });
    await server.start();
    // mockotlpserver only decodes protobuf at exactly /v1/logs: the base URL must get the path appended.
    const base = server.httpUrl!.toString().replace(/\/$/, '');
    sink = new SinkProcess();
    const created = await sink.create(testConfig({ otlpEndpoint: base, otlpHeaders: { 'x-tenant': 'acme' } }), { encoding, compression: 'none', env: testEnv() });
    expect(created.url).toBe(`${base}/v1/logs`);
  });

  afterEach(async () => {
    await sink.close();
    await server.close();
  });

  it('delivers every record of a batch with its attributes, resource and trace context', async () => {
    const rows = rowsWithIds(30);
    rows[3] = makeRow({
      CaptureId: rows[3]!.CaptureId,
      GenAiProvider: 'openai',
      GenAiOperation: 'chat',
      GenAiRequestModel: 'gpt-4o',
      GenAiResponseModel: 'gpt-4o-2024-08-06',
      GenAiInputTokens: 11,
      GenAiOutputTokens: 22,
      GenAiFinishReasons: ['stop'],
    });
    rows[4] = makeRow({ CaptureId: rows[4]!.CaptureId, ResponseBody: Buffer.from([0, 159, 255]).toString('base64'), ResponseBodyNote: 'binary_stored_base64' });
    const result = await sink.write(makeBatch(rows));
    expect(result).toMatchObject({ ok: true });

    // mockotlpserver publishes after it has replied; give the event loop a turn.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const records = received.flatMap((group) => group.records);
    expect(records.map((record) => record.attributes['egress_capture.capture_id'])).toEqual(rows.map((row) => row.CaptureId));
    // One ResourceLogs/ScopeLogs per request: the resource and scope objects are shared.
    expect(received).toHaveLength(1);
    expect(received[0]!.scopeName).toBe('egress-capture.otlp-sink');
    expect(received[0]!.resource).toMatchObject({
      'service.name': 'egress-capture',
      'k8s.pod.name': 'capture-7d9f-abc',
      'k8s.namespace.name': 'capture-ns',
      'egress_capture.gateway.name': 'egress',
      'egress_capture.gateway.namespace': 'gw-ns',
    });

    const first = records[0]!;
    expect(first.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.full': 'https://api.openai.com/v1/chat/completions?api-version=1&sig=REDACTED',
      'url.scheme': 'https',
      'url.path': '/v1/chat/completions',
      'server.address': 'api.openai.com',
      'server.port': 443,
      'http.response.status_code': 200,
      'http.request.header.x-multi': ['a', 'b'],
      'http.request.header.authorization': ['[REDACTED len=51 hmac=0123456789ab]'],
      'http.request.body.size': 66,
      'http.response.body.size': 40,
      'http.request.body.content': rows[0]!.RequestBody,
      'egress_capture.response.body.truncated': true,
      'client.address': '10.1.2.3',
    });
    expect(first.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(first.spanId).toBe('00f067aa0ba902b7');
    expect(first.flags).toBe(1);
    expect(first.severityText).toBe('INFO');
    expect(first.severityNumber).toBe(9);
    expect(first.timeUnixNano).toBe('1795304694123456789');
    // The vendored protos predate LogRecord.event_name (field 12): only the JSON flavour shows it here.
    if (encoding === 'json') expect(first.eventName).toBe('egress.http.exchange');

    expect(records[3]!.attributes).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 22,
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(Buffer.from(records[4]!.attributes['http.response.body.content'] as Uint8Array)).toEqual(Buffer.from([0, 159, 255]));
    expect((await sink.stats())['recordsExported']).toBe(30);
  });

  it('sends each attribute with one type whatever its value, and names the versions', async () => {
    const version = (require('../../../../package.json') as { version: string }).version;
    // Whole and fractional durations, a streamed model call and a plain exchange.
    const rows = [13, 12.5, 0, 700].map((ms, i) =>
      makeRow({
        CaptureId: `types-${i}`,
        DurationMs: ms,
        ResponseHeadersMs: ms,
        ResponseFirstChunkMs: ms,
        ResponseMaxChunkGapMs: ms,
        GenAiProvider: i % 2 === 0 ? 'openai' : '',
        GenAiStreaming: i % 2 === 0,
      }),
    );
    expect(await sink.write(makeBatch(rows))).toMatchObject({ ok: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ scopeVersion: version, scopeSchemaUrl: 'https://opentelemetry.io/schemas/1.45.0', resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.45.0' });
    expect(received[0]!.resource['service.version']).toBe(version);
    const kinds = new Map<string, Set<string>>();
    for (const record of received[0]!.records) {
      for (const [name, kind] of Object.entries(record.attributeKinds)) kinds.set(name, (kinds.get(name) ?? new Set()).add(kind));
    }
    const mixed = [...kinds].filter(([name, set]) => set.size > 1 && !name.endsWith('.body.content')).map(([name, set]) => `${name}: ${[...set].join('/')}`);
    expect(mixed).toEqual([]);
    expect(kinds.get('egress_capture.duration_ms')).toEqual(new Set(['doubleValue']));
    expect(kinds.get('gen_ai.response.time_to_first_chunk')).toEqual(new Set(['doubleValue']));
    expect(kinds.get('http.request.body.size')).toEqual(new Set(['intValue']));
    const ttft = received[0]!.records
      .filter((record) => 'gen_ai.response.time_to_first_chunk' in record.attributes)
      .map((record) => record.attributes['gen_ai.response.time_to_first_chunk'] as number);
    expect(ttft.map((seconds) => Math.round(seconds * 1000))).toEqual([13, 0]);
  });
});
