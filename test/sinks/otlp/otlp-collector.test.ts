/**
 * The OTLP export against a real OpenTelemetry Collector (built by
 * test/otelcol/otelcol-install.ts): its OTLP/HTTP receiver takes what the sink
 * sends in http/protobuf and http/json, gzip and uncompressed, and its file
 * exporter writes back what it decoded, which is what every backend behind a
 * collector gets. Each record must arrive once, with one type per attribute
 * name, the resource and scope as built, and the body content intact.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { otelcolBinary, otelcolSkipped, OTELCOL_VERSION, SKIP_OTELCOL_ENV } from '../../otelcol/otelcol-install';
import { randomListenPort } from '../../support/listen-port';
import { flattenRequest, makeBatch, makeRow, SinkProcess, testConfig, testEnv, type DecodedRecord, type DecodedRequest } from './otlp-test-support';

interface Collector {
  endpoint: string;
  /** Everything the file exporter has written so far, flattened. */
  received(): DecodedRequest[];
  stop(): Promise<void>;
}

async function startCollector(binary: string, dir: string): Promise<Collector> {
  const output = path.join(dir, 'received.jsonl');
  for (let attempt = 0; ; attempt++) {
    const port = randomListenPort();
    const config = path.join(dir, 'config.yaml');
    fs.writeFileSync(
      config,
      [
        'receivers:',
        '  otlp:',
        '    protocols:',
        '      http:',
        `        endpoint: 127.0.0.1:${port}`,
        'exporters:',
        '  file:',
        `    path: ${output}`,
        '    format: json',
        '    flush_interval: 50ms',
        'service:',
        '  telemetry:',
        '    metrics:',
        '      level: none',
        '  pipelines:',
        '    logs:',
        '      receivers: [otlp]',
        '      exporters: [file]',
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(binary, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (!log.includes('Everything is ready') && child.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (log.includes('Everything is ready')) {
      return {
        endpoint: `http://127.0.0.1:${port}`,
        received: () =>
          fs.existsSync(output)
            ? fs
                .readFileSync(output, 'utf8')
                .split('\n')
                .filter((line) => line.trim() !== '')
                .flatMap((line) => flattenRequest(JSON.parse(line)))
            : [],
        async stop() {
          child.kill('SIGTERM');
          if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
        },
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 2 || !/address already in use/.test(log)) throw new Error(`the Collector did not start:\n${log.slice(-3000)}`);
  }
}

const binary = otelcolSkipped() ? undefined : otelcolBinary();
const describeCollector = binary === undefined ? describe.skip : describe;
if (binary === undefined) {
  console.warn(
    otelcolSkipped()
      ? `${SKIP_OTELCOL_ENV} is set: the OTLP export is NOT tested against the real OpenTelemetry Collector ${OTELCOL_VERSION}`
      : `the OpenTelemetry Collector ${OTELCOL_VERSION} is not built (npm run otelcol:install): the OTLP export is NOT tested against it`,
  );
}

describe('the real OpenTelemetry Collector', () => {
  it('is available (built by the project, or skipped on purpose)', () => {
    // Without this a missing build would silently skip every test below.
    expect(binary !== undefined || otelcolSkipped()).toBe(true);
  });
});

describeCollector.each([
  ['protobuf', 'gzip'],
  ['protobuf', 'none'],
  ['json', 'gzip'],
  ['json', 'none'],
] as const)(`OTLP sink → OpenTelemetry Collector ${OTELCOL_VERSION} (http/%s, %s)`, (encoding, compression) => {
  let dir: string;
  let collector: Collector;
  let sink: SinkProcess;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-otelcol-'));
    collector = await startCollector(binary!, dir);
    sink = new SinkProcess();
    await sink.create(testConfig({ otlpEndpoint: collector.endpoint }), { encoding, compression, env: testEnv() });
  }, 60_000);

  afterAll(async () => {
    await sink?.close();
    await collector?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('receives every record once, each attribute with one type, the resource and scope as built', async () => {
    const version = (require('../../../../package.json') as { version: string }).version;
    const rows = [13, 12.5, 0, 700, 1].map((ms, i) =>
      makeRow({
        CaptureId: `collector-${encoding}-${compression}-${i}`,
        DurationMs: ms,
        ResponseHeadersMs: ms,
        ResponseFirstChunkMs: ms,
        ResponseMaxChunkGapMs: ms,
        ...(i % 2 === 0 ? { GenAiProvider: 'openai', GenAiOperation: 'chat', GenAiStreaming: true, GenAiInputTokens: 10 + i, GenAiOutputTokens: 20 } : {}),
      }),
    );
    rows[4] = makeRow({ ...rows[4], ResponseBody: Buffer.from([0, 159, 255]).toString('base64'), ResponseBodyNote: 'binary_stored_base64' });
    expect(await sink.write(makeBatch(rows))).toMatchObject({ ok: true });

    const deadline = Date.now() + 15_000;
    let records: DecodedRecord[] = [];
    while (Date.now() < deadline) {
      records = collector.received().flatMap((request) => request.records);
      if (records.length >= rows.length) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(records.map((record) => record.attributes['egress_capture.capture_id'])).toEqual(rows.map((row) => row.CaptureId));

    const [request] = collector.received();
    expect(request).toMatchObject({
      scopeName: 'egress-capture.otlp-sink',
      scopeVersion: version,
      scopeSchemaUrl: 'https://opentelemetry.io/schemas/1.45.0',
      resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.45.0',
    });
    expect(request!.resource).toMatchObject({ 'service.name': 'egress-capture', 'service.version': version, 'k8s.pod.name': 'capture-7d9f-abc', 'k8s.namespace.name': 'capture-ns' });

    const kinds = new Map<string, Set<string>>();
    for (const record of records) for (const [name, kind] of Object.entries(record.attributeKinds)) kinds.set(name, (kinds.get(name) ?? new Set()).add(kind));
    // Body content is typed `any` by the conventions: text as a string, bytes as bytes (never base64 text).
    const ANY_TYPED = new Set(['http.request.body.content', 'http.response.body.content']);
    expect([...kinds].filter(([name, set]) => set.size > 1 && !ANY_TYPED.has(name)).map(([name, set]) => `${name}: ${[...set].join('/')}`)).toEqual([]);
    expect(kinds.get('http.response.body.content')).toEqual(new Set(['stringValue', 'bytesValue']));
    expect(kinds.get('egress_capture.duration_ms')).toEqual(new Set(['doubleValue']));
    expect(kinds.get('gen_ai.response.time_to_first_chunk')).toEqual(new Set(['doubleValue']));
    expect(kinds.get('gen_ai.usage.input_tokens')).toEqual(new Set(['intValue']));
    expect(kinds.get('http.request.header.x-multi')).toEqual(new Set(['arrayValue']));

    const first = records[0]!;
    expect(first.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.port': 443, 'http.request.body.content': rows[0]!.RequestBody, 'gen_ai.usage.input_tokens': 10 });
    expect(Math.abs((first.attributes['egress_capture.duration_ms'] as number) - 13)).toBeLessThan(1e-9);
    expect(Buffer.from(records[4]!.attributes['http.response.body.content'] as Uint8Array)).toEqual(Buffer.from([0, 159, 255]));
    expect(first).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', severityText: 'INFO', eventName: 'egress.http.exchange' });
  }, 30_000);
});
