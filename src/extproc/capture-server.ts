/**
 * The gRPC server: ExternalProcessor/Process plus grpc.health.v1 on the same
 * port, with the HTTP/2 settings Envoy's traffic pattern needs.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { formatListen, type ListenAddress, type UnixSocketAddress } from '../listen-address';
import { CaptureError } from '../errors';
import type { ExchangeProgress } from '../capture/exchange-assembler';
import type { CaptureMetrics } from '../metrics';
import { ProcessStream, type ProcessCall, type StreamContext } from './process-stream';
import { EXT_PROC_SERVICE, extProcServiceDefinition } from './wire/protocol';
import { withDecodedRequests } from './wire/processing-request-decoder';
import { withEncodedAcknowledgments } from './replies';

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

/**
 * grpc-js builds its http2 server from a private options object and exposes
 * no way to pass Node's rapid-reset guard settings (streamResetBurst /
 * streamResetRate). Envoy ends every ext_proc call with RST_STREAM, so with
 * the defaults (burst 1000, 33/s) a busy Envoy connection gets GOAWAY and
 * every in-flight call on it fails. We add the two settings to that object
 * before binding; if a grpc-js upgrade moves it, start-up fails loudly
 * instead of silently running with the guard at its defaults.
 */
export function applyHttp2ServerOptions(server: grpc.Server, extra: { streamResetBurst: number; streamResetRate: number }): void {
  const internals = server as unknown as { commonServerOptions?: Record<string, unknown> };
  if (internals.commonServerOptions === undefined || typeof internals.commonServerOptions !== 'object') {
    throw new CaptureError('CAP_ERR_GRPC_INTERNALS', 'grpc-js Server has no commonServerOptions; cannot set the HTTP/2 rapid-reset limits');
  }
  internals.commonServerOptions.streamResetBurst = extra.streamResetBurst;
  internals.commonServerOptions.streamResetRate = extra.streamResetRate;
}

export class CaptureServer {
  private readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', [EXT_PROC_SERVICE]: 'NOT_SERVING' });
  private readonly streams = new Set<ProcessStream>();
  private draining = false;
  boundPort = 0;

  constructor(private readonly options: CaptureServerOptions) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
      'grpc.max_send_message_length': options.maxReceiveMessageBytes,
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    });
    applyHttp2ServerOptions(this.server, {
      streamResetBurst: options.http2StreamResetBurst,
      streamResetRate: options.http2StreamResetRate,
    });
    this.server.addService(withEncodedAcknowledgments(withDecodedRequests(extProcServiceDefinition())), { Process: (call: ProcessCall) => this.onCall(call) });
    this.health.addToServer(this.server);
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
    const address = formatListen(target);
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, this.credentials(), (err, port) => {
        if (err) reject(new CaptureError('CAP_ERR_GRPC_BIND', `cannot listen on ${address}: ${err.message}`, { cause: err }));
        else resolve(port);
      });
    });
    this.boundPort = 'unixPath' in target ? 0 : port;
    this.health.setStatus('', 'SERVING');
    this.health.setStatus(EXT_PROC_SERVICE, 'SERVING');
    return this.boundPort;
  }

  private credentials(): grpc.ServerCredentials {
    const tls = this.options.tls;
    if (tls === undefined) return grpc.ServerCredentials.createInsecure();
    return grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
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
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private onCall(call: ProcessCall): void {
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
