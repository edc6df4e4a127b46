/**
 * The real gRPC server without the rest of the service: for tests of the
 * listener itself (HTTP/2 settings, TLS). Finished exchanges are collected
 * as snapshots instead of going to workers and storage.
 */
import { ContentTypeFilter } from '../../src/capture/content-type-filter';
import type { ExchangeSnapshot } from '../../src/capture/exchange-snapshot';
import { NO_POLICY } from '../../src/capture/exchange-assembler';
import { DEFAULTS } from '../../src/config/defaults';
import { CaptureServer, type CaptureServerOptions } from '../../src/extproc/capture-server';
import { silentLogger } from '../../src/logger';
import { CaptureMetrics } from '../../src/metrics';

export async function startBareCaptureServer(finished: ExchangeSnapshot[], overrides: Partial<Pick<CaptureServerOptions, 'maxConcurrentStreams' | 'tls'>> = {}): Promise<CaptureServer> {
  const log = silentLogger();
  const metrics = new CaptureMetrics({ processMetrics: false });
  const server = new CaptureServer({
    address: { host: '127.0.0.1', port: 0 },
    maxReceiveMessageBytes: DEFAULTS.grpcMaxReceiveMessageBytes,
    maxConcurrentStreams: DEFAULTS.grpcMaxConcurrentStreams,
    http2StreamResetBurst: DEFAULTS.http2StreamResetBurst,
    http2StreamResetRate: DEFAULTS.http2StreamResetRate,
    ...overrides,
    metrics,
    log,
    stream: {
      limits: { maxBytes: 1024, headerValueMaxBytes: 1024, headerBytesMaxPerExchange: DEFAULTS.headerBytesMaxPerExchange, shipChunkBytes: 64 * 1024 },
      contentTypes: new ContentTypeFilter(['application/json']),
      idleTimeoutMs: 60_000,
      metrics,
      log,
      shipBody: () => true,
      policy: NO_POLICY,
      onExchange: (snapshot) => finished.push(snapshot),
    },
  });
  await server.listen();
  return server;
}

/** The :path of each finished exchange, in order. */
export function pathsOf(finished: ExchangeSnapshot[]): string[] {
  return finished.map((snapshot) => snapshot.request.headers.find(([name]) => name === ':path')?.[1] ?? '');
}
