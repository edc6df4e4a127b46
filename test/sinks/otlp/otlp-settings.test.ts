import { CaptureError } from '../../../src/errors';
import { createOtlpSink, otlpEnabled, parseOtlpHeaders, parseRetryAfter, resolveLogsUrl, resolveOtlpSettings } from '../../../src/sinks/otlp';
import { testConfig, testEnv } from './otlp-test-support';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return err instanceof CaptureError ? err.code : `not a CaptureError: ${String(err)}`;
  }
  return undefined;
}

describe('endpoint', () => {
  it('appends /v1/logs to a base URL, keeping its path, and never doubles it', () => {
    expect(resolveLogsUrl('http://collector:4318')).toBe('http://collector:4318/v1/logs');
    expect(resolveLogsUrl('http://collector:4318/')).toBe('http://collector:4318/v1/logs');
    expect(resolveLogsUrl('https://otlp.example.com/tenant/a/')).toBe('https://otlp.example.com/tenant/a/v1/logs');
    expect(resolveLogsUrl('https://otlp.example.com/v1/logs')).toBe('https://otlp.example.com/v1/logs');
    expect(resolveLogsUrl('https://otlp.example.com/x/v1/logs/')).toBe('https://otlp.example.com/x/v1/logs');
    expect(resolveLogsUrl(' http://c:4318 ')).toBe('http://c:4318/v1/logs');
  });

  it('rejects what is not an http(s) URL with CAP_ERR_OTLP_CONFIG', () => {
    expect(codeOf(() => resolveLogsUrl('collector:4317'))).toBe('CAP_ERR_OTLP_CONFIG');
    expect(codeOf(() => resolveLogsUrl('grpc://collector:4317'))).toBe('CAP_ERR_OTLP_CONFIG');
    expect(codeOf(() => resolveLogsUrl('not a url'))).toBe('CAP_ERR_OTLP_CONFIG');
  });

  it('is enabled only by a non-empty endpoint', () => {
    expect(otlpEnabled(testConfig())).toBe(false);
    expect(otlpEnabled(testConfig({ otlpEndpoint: '  ' }))).toBe(false);
    expect(otlpEnabled(testConfig({ otlpEndpoint: 'http://c:4318' }))).toBe(true);
    expect(codeOf(() => resolveOtlpSettings(testConfig(), { env: testEnv() }))).toBe('CAP_ERR_OTLP_CONFIG');
  });

  it('does not take the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const env = testEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://elsewhere:4318' });
    expect(otlpEnabled(testConfig())).toBe(false);
    expect(resolveOtlpSettings(testConfig({ otlpEndpoint: 'http://c:4318' }), { env }).url).toBe('http://c:4318/v1/logs');
  });
});

describe('headers', () => {
  it('parses k=v,k2=v2 with URL-decoding, skipping malformed entries', () => {
    expect(parseOtlpHeaders('api-key=s%3Dcret,x-team=a%20b , bad, =novalue,k=v=w')).toEqual({ 'api-key': 's=cret', 'x-team': 'a b', k: 'v=w' });
    expect(parseOtlpHeaders(undefined)).toEqual({});
    expect(parseOtlpHeaders('k=%E0%A4%A')).toEqual({ k: '%E0%A4%A' });
  });

  it('merges env over the gateway headers (flags > environment > manifest), the logs-specific variable over the general one', () => {
    const settings = resolveOtlpSettings(testConfig({ otlpEndpoint: 'http://c', otlpHeaders: { a: 'config' } }), {
      env: testEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'a=env,b=general,c=general', OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'b=logs' }),
      headers: { d: 'option' },
    });
    expect(settings.headers).toEqual({ a: 'env', b: 'logs', c: 'general', d: 'option' });
  });
});

describe('encoding, compression, timeout, cap', () => {
  it('defaults to protobuf + gzip, 4 MiB, 10 s', () => {
    const settings = resolveOtlpSettings(testConfig({ otlpEndpoint: 'http://c' }), { env: testEnv() });
    expect(settings).toMatchObject({ encoding: 'protobuf', compression: 'gzip', maxRequestBytes: 4 * 1024 * 1024, timeoutMs: 10_000 });
  });

  it('reads OTEL_EXPORTER_OTLP_[LOGS_]PROTOCOL / COMPRESSION / TIMEOUT, options winning', () => {
    const env = testEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_COMPRESSION: 'none', OTEL_EXPORTER_OTLP_TIMEOUT: '2500' });
    expect(resolveOtlpSettings(testConfig({ otlpEndpoint: 'http://c' }), { env })).toMatchObject({ encoding: 'json', compression: 'none', timeoutMs: 2500 });
    expect(resolveOtlpSettings(testConfig({ otlpEndpoint: 'http://c' }), { env, encoding: 'protobuf', compression: 'gzip' })).toMatchObject({ encoding: 'protobuf', compression: 'gzip' });
  });

  it('rejects grpc, unknown compression, bad timeouts and tiny caps with CAP_ERR_OTLP_CONFIG', () => {
    const config = testConfig({ otlpEndpoint: 'http://c' });
    expect(codeOf(() => resolveOtlpSettings(config, { env: testEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }) }))).toBe('CAP_ERR_OTLP_CONFIG');
    expect(codeOf(() => resolveOtlpSettings(config, { env: testEnv({ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }) }))).toBe('CAP_ERR_OTLP_CONFIG');
    expect(codeOf(() => resolveOtlpSettings(config, { env: testEnv({ OTEL_EXPORTER_OTLP_TIMEOUT: '-1' }) }))).toBe('CAP_ERR_OTLP_CONFIG');
    expect(codeOf(() => resolveOtlpSettings(config, { env: testEnv(), maxRequestBytes: 100 }))).toBe('CAP_ERR_OTLP_CONFIG');
    expect(codeOf(() => resolveOtlpSettings(config, { env: testEnv({ OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' }) }))).toBe('CAP_ERR_OTLP_CONFIG');
  });

  it('builds a sink from RuntimeConfig without touching the network', async () => {
    const sink = createOtlpSink(testConfig({ otlpEndpoint: 'http://127.0.0.1:9' }), { env: testEnv() });
    expect(sink.name).toBe('otlp');
    expect(sink.settings.url).toBe('http://127.0.0.1:9/v1/logs');
    await sink.open();
    await sink.close();
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds relative to when the response came, and HTTP dates relative to now', () => {
    expect(parseRetryAfter('2', 10_000, 10_000)).toBe(2000);
    expect(parseRetryAfter('2', 10_000, 10_500)).toBe(1500);
    expect(parseRetryAfter('0', 10_000, 10_000)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', 0, Date.parse('Wed, 21 Oct 2026 07:27:30 GMT'))).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', 0, Date.now())).toBe(0);
    expect(parseRetryAfter('soon', 0, 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0, 0)).toBeUndefined();
  });
});
