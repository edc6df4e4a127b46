/**
 * The ext_proc port: ExternalProcessor/Process plus grpc.health.v1, served by
 * the lean gRPC server of transport/ with the HTTP/2 settings Envoy's
 * traffic pattern needs.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { formatListen, type ListenAddress, type UnixSocketAddress } from '../listen-address';
import { CaptureError } from '../errors';
import type { ExchangeProgress } from '../capture/exchange-assembler';
import type { CaptureMetrics } from '../metrics';
import { ProcessStream, type StreamContext } from './process-stream';
import { EXT_PROC_SERVICE, extProcServiceDefinition } from './wire/protocol';
import { GrpcHttp2Server } from './transport/grpc-http2-server';
import type { GrpcServerCall } from './transport/server-call';

export interface CaptureServerOptions {
  address: ListenAddress | UnixSocketAddress;
  maxReceiveMessageBytes: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. */
  maxConcurrentStreams: number;
  /** PEM material for TLS; with clientCa, clients must present a certificate it signed (mTLS). Absent: plaintext. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  http2StreamResetBurst: number;
  http2StreamResetRate: number;
  stream: StreamContext;
  metrics: CaptureMetrics;
  log: Logger;
}

export class CaptureServer {
  private readonly server: GrpcHttp2Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', [EXT_PROC_SERVICE]: 'NOT_SERVING' });
  private readonly streams = new Set<ProcessStream>();
  private draining = false;
  boundPort = 0;

  constructor(private readonly options: CaptureServerOptions) {
    this.server = new GrpcHttp2Server({
      maxMessageBytes: options.maxReceiveMessageBytes,
      maxConcurrentStreams: options.maxConcurrentStreams,
      streamResetBurst: options.http2StreamResetBurst,
      streamResetRate: options.http2StreamResetRate,
      tls: options.tls,
    });
    this.server.handle(extProcServiceDefinition()['Process']!.path, (call) => this.onCall(call));
    this.health.addToServer({ addService: (definition, implementation) => this.server.addService(definition as grpc.ServiceDefinition, implementation) });
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** The exchanges still open, oldest first. */
  inFlight(): ExchangeProgress[] {
    return [...this.streams].map((stream) => stream.progress()).sort((a, b) => b.ageMs - a.ageMs);
  }

  /** Binds and returns the TCP port (0 for a Unix domain socket). */
  async listen(): Promise<number> {
    const target = this.options.address;
    if ('unixPath' in target) await removeStaleSocket(target.unixPath);
    try {
      this.boundPort = await this.server.listen(target);
    } catch (err) {
      throw new CaptureError('CAP_ERR_GRPC_BIND', `cannot listen on ${formatListen(target)}: ${(err as Error).message}`, { cause: err });
    }
    this.health.setStatus('', 'SERVING');
    this.health.setStatus(EXT_PROC_SERVICE, 'SERVING');
    return this.boundPort;
  }

  /**
   * Stops taking new calls, waits up to `timeoutMs` for open ones to finish,
   * then stores the rest as 'shutdown' and closes the listener.
   */
  /** Health says NOT_SERVING (Envoy's active health checks move away); calls are still taken until drain(). */
  announceStopping(): void {
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
  }

  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.announceStopping();
    const deadline = Date.now() + timeoutMs;
    while (this.streams.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const stream of [...this.streams]) stream.abandon();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      void this.server.shutdown().then(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private onCall(call: GrpcServerCall): void {
    if (this.draining) {
      // Ending OK tells Envoy "no processing needed": the request proceeds untouched.
      call.end();
      this.options.metrics.errors.inc({ kind: 'refused_while_draining' });
      return;
    }
    const stream = new ProcessStream(call, this.options.stream, (done) => {
      this.streams.delete(done);
      this.options.metrics.activeStreams.dec();
    });
    this.streams.add(stream);
    this.options.metrics.activeStreams.inc();
  }
}

/**
 * A socket file left by a process that died (SIGKILL leaves it behind) makes
 * bind fail with EADDRINUSE. It is removed when nothing answers on it; a
 * socket something still listens on, or a path that is not a socket, is left
 * alone and the bind fails with a clear error.
 */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new CaptureError('CAP_ERR_GRPC_BIND', `cannot listen on unix:${socketPath}: the path exists and is not a socket`);
  const inUse = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (inUse) throw new CaptureError('CAP_ERR_GRPC_BIND', `cannot listen on unix:${socketPath}: another process is serving on it`);
  fs.unlinkSync(socketPath);
}
