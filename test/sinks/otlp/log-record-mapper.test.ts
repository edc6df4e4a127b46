import { SeverityNumber } from '@opentelemetry/api';
import {
  asDouble,
  buildResourceAttributes,
  createScope,
  createStaticResource,
  EVENT_NAME,
  mapExchangeRow,
  mapGenAiAttributes,
  mapRowAttributes,
  parseRowTimestamp,
  redactQuery,
  severityFor,
  splitHostPort,
} from '../../../src/sinks/otlp/log-record-mapper';
import { makeRow } from './otlp-test-support';

describe('url and server attributes', () => {
  it('builds url.full from scheme, authority and path, and splits path and query', () => {
    const a = mapRowAttributes(makeRow({ Scheme: 'https', Authority: 'api.example.com:8443', Path: '/v1/x?a=1&b=2' }));
    expect(a['url.full']).toBe('https://api.example.com:8443/v1/x?a=1&b=2');
    expect(a['url.scheme']).toBe('https');
    expect(a['url.path']).toBe('/v1/x');
    expect(a['url.query']).toBe('a=1&b=2');
    expect(a['server.address']).toBe('api.example.com');
    expect(a['server.port']).toBe(8443);
  });

  it('defaults server.port by scheme when the authority has none', () => {
    expect(mapRowAttributes(makeRow({ Scheme: 'https', Authority: 'a.example' }))['server.port']).toBe(443);
    expect(mapRowAttributes(makeRow({ Scheme: 'http', Authority: 'a.example' }))['server.port']).toBe(80);
    expect(mapRowAttributes(makeRow({ Scheme: 'gopher', Authority: 'a.example' }))['server.port']).toBeUndefined();
  });

  it('handles IPv6 authorities and strips brackets for server.address', () => {
    expect(splitHostPort('[2001:db8::1]:8080')).toEqual({ host: '2001:db8::1', port: 8080 });
    expect(splitHostPort('[::1]')).toEqual({ host: '::1' });
    expect(splitHostPort('2001:db8::1')).toEqual({ host: '2001:db8::1' });
    expect(splitHostPort('host:notaport')).toEqual({ host: 'host:notaport' });
    const a = mapRowAttributes(makeRow({ Scheme: 'http', Authority: '[::1]', Path: '/' }));
    expect(a['server.address']).toBe('::1');
    expect(a['server.port']).toBe(80);
    expect(a['url.full']).toBe('http://[::1]/');
  });

  it('redacts signature query values and credentials in url.full, as the url conventions ask', () => {
    expect(redactQuery('X-Goog-Signature=abc&keep=1&sig=zz&AWSAccessKeyId=AK&Signature=s')).toBe('X-Goog-Signature=REDACTED&keep=1&sig=REDACTED&AWSAccessKeyId=REDACTED&Signature=REDACTED');
    const a = mapRowAttributes(makeRow({ Scheme: 'https', Authority: 'user:pw@h.example', Path: '/p?sig=1' }));
    expect(a['url.full']).toBe('https://REDACTED:REDACTED@h.example/p?sig=REDACTED');
    expect(a['url.query']).toBe('sig=REDACTED');
    expect(a['server.address']).toBe('h.example');
  });

  it('leaves url.full out without a scheme and url.query out without a "?"', () => {
    const a = mapRowAttributes(makeRow({ Scheme: '', Authority: 'h', Path: '/p' }));
    expect(a['url.full']).toBeUndefined();
    expect(a['url.path']).toBe('/p');
    expect(a['url.query']).toBeUndefined();
  });

  it('reports unknown methods as _OTHER with the original kept', () => {
    expect(mapRowAttributes(makeRow({ Method: 'GET' }))['http.request.method']).toBe('GET');
    const a = mapRowAttributes(makeRow({ Method: 'PROPFIND' }));
    expect(a['http.request.method']).toBe('_OTHER');
    expect(a['http.request.method_original']).toBe('PROPFIND');
  });

  it('splits client.address and client.port from the source address', () => {
    const a = mapRowAttributes(makeRow({ SourceAddress: '10.0.0.9:34567' }));
    expect(a['client.address']).toBe('10.0.0.9');
    expect(a['client.port']).toBe(34567);
  });
});

describe('headers, bodies and markers', () => {
  it('exports headers as string arrays, multi-valued headers split, redacted values unchanged', () => {
    const a = mapRowAttributes(makeRow());
    expect(a['http.request.header.x-multi']).toEqual(['a', 'b']);
    expect(a['http.request.header.authorization']).toEqual(['[REDACTED len=51 hmac=0123456789ab]']);
    expect(a['http.response.header.set-cookie']).toEqual(['a=1', 'b=2']);
    expect(a['http.request.header.content-type']).toEqual(['application/json']);
    expect(a['user_agent.original']).toBe('openai-python/1.0');
  });

  it('puts text bodies in body.content, sizes and truncation markers alongside', () => {
    const row = makeRow();
    const a = mapRowAttributes(row);
    expect(a['http.request.body.content']).toBe(row.RequestBody);
    expect(a['http.response.body.content']).toBe(row.ResponseBody);
    expect(a['http.request.body.size']).toBe(66);
    expect(a['http.response.body.size']).toBe(40);
    expect(a['egress_capture.request.body.truncated']).toBe(false);
    expect(a['egress_capture.response.body.truncated']).toBe(true);
    expect(a['egress_capture.capture_id']).toBe('cap-0001');
    expect(a['egress_capture.outcome']).toBe('complete');
  });

  it('sends a base64-stored body as bytes (the convention forbids base64 text) and leaves absent bodies out', () => {
    const raw = Buffer.from([0, 1, 2, 250, 255]);
    const a = mapRowAttributes(makeRow({ ResponseBody: raw.toString('base64'), ResponseBodyNote: 'binary_stored_base64', RequestBody: '', RequestBodyCaptured: false, RequestBodyNote: 'not_text' }));
    const bytes = a['http.response.body.content'];
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes as Uint8Array).equals(raw)).toBe(true);
    expect(a['http.request.body.content']).toBeUndefined();
    expect(a['egress_capture.request.body.note']).toBe('not_text');
    expect(a['egress_capture.response.body.note']).toBe('binary_stored_base64');
  });

  it('sets error.type from a 4xx/5xx status or an unfinished outcome', () => {
    expect(mapRowAttributes(makeRow({ StatusCode: 503 }))['error.type']).toBe('503');
    expect(mapRowAttributes(makeRow({ StatusCode: 0, Outcome: 'no_response' }))['error.type']).toBe('no_response');
    expect(mapRowAttributes(makeRow())['error.type']).toBeUndefined();
    expect(mapRowAttributes(makeRow({ StatusCode: 0, Outcome: 'no_response' }))['http.response.status_code']).toBeUndefined();
  });
});

describe('severity', () => {
  it('is INFO for complete exchanges below 500, WARN for 5xx or unfinished ones', () => {
    expect(severityFor(makeRow()).number).toBe(SeverityNumber.INFO);
    expect(severityFor(makeRow({ StatusCode: 404 })).number).toBe(SeverityNumber.INFO);
    expect(severityFor(makeRow({ StatusCode: 502 })).number).toBe(SeverityNumber.WARN);
    expect(severityFor(makeRow({ Outcome: 'request_incomplete' })).text).toBe('WARN');
  });
});

describe('the log record', () => {
  const resource = createStaticResource(buildResourceAttributes({ gatewayName: 'egress', gatewayNamespace: 'gw' }, { POD_NAME: 'pod-1' }));
  const scope = createScope();

  it('takes its timestamp from the row (nanoseconds) and its trace context from traceparent', () => {
    const record = mapExchangeRow(makeRow(), { resource, scope, observed: [1800000000, 5] });
    expect(record.hrTime).toEqual([Date.parse('2026-11-21T23:44:54Z') / 1000, 123456789]);
    expect(record.hrTimeObserved).toEqual([1800000000, 5]);
    expect(record.eventName).toBe(EVENT_NAME);
    expect(record.spanContext).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    expect(record.resource).toBe(resource);
    expect(record.instrumentationScope).toBe(scope);
    expect(record.body).toBe('POST https://api.openai.com/v1/chat/completions?api-version=1&sig=REDACTED 200 complete');
  });

  it('has no span context when the row has no trace, and flags 0 when traceparent is not the same trace', () => {
    expect(mapExchangeRow(makeRow({ TraceId: '', SpanId: '' }), { resource, scope, observed: [0, 0] }).spanContext).toBeUndefined();
    const other = makeRow({ RequestHeaders: { traceparent: '00-11111111111111111111111111111111-00f067aa0ba902b7-01' } });
    expect(mapExchangeRow(other, { resource, scope, observed: [0, 0] }).spanContext?.traceFlags).toBe(0);
  });

  it('parses the DateTime64(9) text form and rejects garbage', () => {
    expect(parseRowTimestamp('2026-01-01 00:00:00.000000005')).toEqual([1767225600, 5]);
    expect(parseRowTimestamp('2026-01-01 00:00:00')).toEqual([1767225600, 0]);
    expect(parseRowTimestamp('2026-01-01 00:00:00.5')).toEqual([1767225600, 500000000]);
    expect(parseRowTimestamp('yesterday')).toBeUndefined();
  });

  it('has resource attributes for the service, gateway and pod, each only when known', () => {
    const version = (require('../../../../package.json') as { version: string }).version;
    const inPod = buildResourceAttributes({ gatewayName: 'egress', gatewayNamespace: 'gw' }, { POD_NAME: 'pod-1', POD_UID: 'uid-9', POD_NAMESPACE: 'capture' });
    expect(inPod).toEqual({
      'service.name': 'egress-capture',
      'service.version': version,
      'service.instance.id': 'uid-9',
      'host.name': require('node:os').hostname(),
      'k8s.pod.name': 'pod-1',
      'k8s.pod.uid': 'uid-9',
      'k8s.namespace.name': 'capture',
      'egress_capture.gateway.name': 'egress',
      'egress_capture.gateway.namespace': 'gw',
    });
    // In a pod without the downward API: the host name is the pod's, the namespace is the service account's.
    const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'egress-sa-'));
    const namespaceFile = require('node:path').join(dir, 'namespace');
    require('node:fs').writeFileSync(namespaceFile, 'egress-capture\n');
    expect(buildResourceAttributes({ gatewayName: '', gatewayNamespace: '' }, { KUBERNETES_SERVICE_HOST: '10.0.0.1', HOSTNAME: 'h-2' }, namespaceFile)).toMatchObject({
      'k8s.pod.name': 'h-2',
      'k8s.namespace.name': 'egress-capture',
    });
    // Outside Kubernetes: no k8s.* at all, and the gateway's namespace is not taken for this process's.
    const outside = buildResourceAttributes({ gatewayName: 'egress', gatewayNamespace: 'gw' }, { HOSTNAME: 'laptop' }, namespaceFile);
    expect(Object.keys(outside).filter((key) => key.startsWith('k8s.'))).toEqual([]);
    expect(outside['egress_capture.gateway.namespace']).toBe('gw');
  });

  it('names the product version and the conventions on the scope and resource', () => {
    const version = (require('../../../../package.json') as { version: string }).version;
    expect(createScope()).toEqual({ name: 'egress-capture.otlp-sink', version, schemaUrl: 'https://opentelemetry.io/schemas/1.45.0' });
    expect(createStaticResource({}).schemaUrl).toBe('https://opentelemetry.io/schemas/1.45.0');
  });

  it('keeps each numeric attribute one type: durations always doubles, counts always integers', () => {
    for (const ms of [0, 1, 12, 12.5, 700, 0.001, 86_400_000]) {
      const a = mapRowAttributes(makeRow({ DurationMs: ms, ResponseHeadersMs: ms, ResponseFirstChunkMs: ms, ResponseMaxChunkGapMs: ms, GenAiProvider: 'openai', GenAiStreaming: true } as never));
      for (const name of [
        'egress_capture.duration_ms',
        'egress_capture.response_headers_ms',
        'egress_capture.response.first_chunk_ms',
        'egress_capture.response.max_chunk_gap_ms',
        'gen_ai.response.time_to_first_chunk',
      ]) {
        const value = a[name] as number;
        expect({ name, ms, whole: Number.isInteger(value) }).toEqual({ name, ms, whole: false });
        const expected = name === 'gen_ai.response.time_to_first_chunk' ? ms / 1000 : ms;
        expect(Math.abs(value - expected)).toBeLessThanOrEqual(Math.max(Number.MIN_VALUE, Math.abs(expected) * 1e-15));
      }
      for (const name of ['http.request.body.size', 'http.response.status_code', 'server.port']) expect(Number.isInteger(a[name] as number)).toBe(true);
    }
  });
});

describe('gen_ai attributes', () => {
  it('maps GenAI columns to the gen_ai.* conventions', () => {
    const row = makeRow({
      GenAiProvider: 'openai',
      GenAiOperation: 'chat',
      GenAiRequestModel: 'gpt-4o',
      GenAiResponseModel: 'gpt-4o-2024-08-06',
      GenAiResponseId: 'chatcmpl-1',
      GenAiInputTokens: 12,
      GenAiOutputTokens: '34',
      GenAiCachedInputTokens: 4,
      GenAiReasoningTokens: null,
      GenAiFinishReasons: ['stop'],
      GenAiRequestStream: 1,
      GenAiApi: 'openai_chat_completions',
      GenAiStreaming: true,
      GenAiUsageSource: 'provider',
      GenAiToolCalls: '[{"id":"c1","name":"f","arguments":"{}","argumentsTruncated":false}]',
      GenAiEventCount: 9,
      GenAiComplete: true,
    });
    const a = mapRowAttributes(row);
    expect(a).toMatchObject({
      'gen_ai.provider.name': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.id': 'chatcmpl-1',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 34,
      'gen_ai.usage.cache_read.input_tokens': 4,
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.request.stream': true,
      'egress_capture.gen_ai.api': 'openai_chat_completions',
      'egress_capture.gen_ai.usage_source': 'provider',
      'egress_capture.gen_ai.tool_calls': '[{"id":"c1","name":"f","arguments":"{}","argumentsTruncated":false}]',
      'egress_capture.gen_ai.event_count': 9,
      'egress_capture.gen_ai.complete': true,
    });
    // Empty columns stay out.
    expect(a['egress_capture.gen_ai.output_text']).toBeUndefined();
    expect(a['egress_capture.gen_ai.error_message']).toBeUndefined();
    expect(a['gen_ai.usage.reasoning.output_tokens']).toBeUndefined();
  });

  it('accepts the spelled-out column names, a nested GenAi object, and string-encoded finish reasons', () => {
    const minimal = (extra: Record<string, unknown>): ReturnType<typeof makeRow> => {
      const row = makeRow(extra) as unknown as Record<string, unknown>;
      for (const key of Object.keys(row)) if (key.startsWith('GenAi') && !(key in extra)) delete row[key];
      return row as unknown as ReturnType<typeof makeRow>;
    };
    expect(mapGenAiAttributes(minimal({ GenAiProviderName: 'anthropic', GenAiFinishReasons: '["end_turn","tool_use"]' }))).toEqual({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.response.finish_reasons': ['end_turn', 'tool_use'],
    });
    expect(mapGenAiAttributes(minimal({ GenAi: { provider: 'aws.bedrock', inputTokens: 7 } }))).toEqual({
      'gen_ai.provider.name': 'aws.bedrock',
      'gen_ai.usage.input_tokens': 7,
    });
  });

  it('lets a provider error type replace the status-derived error.type, and skips unknown sentinels', () => {
    const a = mapRowAttributes(makeRow({ StatusCode: 429, GenAiApi: 'anthropic_messages', GenAiErrorType: 'rate_limit_error', GenAiInputTokens: -1 }));
    expect(a['error.type']).toBe('rate_limit_error');
    expect(a['gen_ai.usage.input_tokens']).toBeUndefined();
    expect(a['gen_ai.provider.name']).toBeUndefined();
  });

  it('adds nothing for a plain HTTP row (empty GenAI columns) or a row from before the GenAI columns', () => {
    expect(mapGenAiAttributes(makeRow())).toEqual({});
    expect(Object.keys(mapRowAttributes(makeRow())).filter((key) => key.includes('gen_ai'))).toEqual([]);
    const old = makeRow() as unknown as Record<string, unknown>;
    for (const key of Object.keys(old)) if (key.startsWith('GenAi') || key.endsWith('Sha256')) delete old[key];
    expect(() => mapRowAttributes(old as unknown as ReturnType<typeof makeRow>)).not.toThrow();
  });

  it('maps the streaming and hashing columns under egress_capture.*', () => {
    const a = mapRowAttributes(makeRow({ BodyRedactions: { openai_key: 2 } }));
    expect(a).toMatchObject({
      'egress_capture.request.body.sha256': 'a'.repeat(64),
      'egress_capture.response.body.decoded_size': 120,
      'egress_capture.response.first_chunk_ms': asDouble(700),
      'egress_capture.response.max_chunk_gap_ms': 15.5,
      'egress_capture.body_redactions': { openai_key: 2 },
    });
  });
});
