/**
 * The ext_proc port's gRPC server, written on node:http2 directly.
 *
 * Why not grpc-js's Server: an ext_proc exchange is ~10-50 small messages on
 * one long stream, and grpc-js spends per message what the capture itself
 * costs: an interceptor chain, an object-mode Readable per call, a promise
 * per decoded message, a channelz counter, one HTTP/2 write per reply. Here
 * a received chunk is walked once (message-framing.ts), each message goes
 * straight to its handler, and the replies a chunk asks for leave in one
 * write (server-call.ts). grpc-js stays the client everywhere and the server
 * of the certificate minter.
 *
 * What a gRPC server owes its clients is kept: methods by path, UNIMPLEMENTED
 * for others, trailers-only errors, the receive-size limit as
 * RESOURCE_EXHAUSTED, gzip/deflate requests, TLS and mTLS, Unix sockets,
 * SETTINGS_MAX_CONCURRENT_STREAMS, GOAWAY on shutdown. Unary and
 * server-streaming methods of a grpc-js style service definition (the health
 * service) are served through a small adapter.
 */
import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { GrpcServerCall } from './server-call';
import { GrpcStatus } from './grpc-status';
import { frameMessage } from './message-framing';

export interface GrpcHttp2ServerOptions {
  maxMessageBytes: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. */
  maxConcurrentStreams: number;
  /** Node's HTTP/2 rapid-reset guard (see options.ts http2StreamResetBurst). */
  streamResetBurst: number;
  streamResetRate: number;
  /** PEM material; with clientCa a client must present a certificate it signed. Absent: plaintext. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
}

export type CallHandler = (call: GrpcServerCall) => void;

export class GrpcHttp2Server {
  private readonly server: http2.Http2Server | http2.Http2SecureServer;
  private readonly handlers = new Map<string, CallHandler>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(private readonly options: GrpcHttp2ServerOptions) {
    const common: http2.ServerOptions = {
      settings: { maxConcurrentStreams: options.maxConcurrentStreams },
      // Node's session memory guard refuses new streams under load with ENHANCE_YOUR_CALM;
      // the ext_proc port bounds its work by streams and message size instead.
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
      ...({ streamResetBurst: options.streamResetBurst, streamResetRate: options.streamResetRate } as object),
    };
    const tls = options.tls;
    this.server =
      tls === undefined
        ? http2.createServer(common)
        : http2.createSecureServer({ ...common, cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: tls.clientCa !== undefined, rejectUnauthorized: tls.clientCa !== undefined });
    this.server.setTimeout(0);
    this.server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      // A broken connection fails its own calls only.
      session.on('error', () => undefined);
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /** Serves `path` (/package.Service/Method) with a raw call handler. */
  handle(path: string, handler: CallHandler): void {
    this.handlers.set(path, handler);
  }

  /** Serves the unary and server-streaming methods of a grpc-js style service definition. */
  addService(definition: grpc.ServiceDefinition, implementation: Record<string, unknown>): void {
    for (const [name, method] of Object.entries(definition)) {
      const impl = (implementation[(method as { originalName?: string }).originalName ?? name] ?? implementation[name]) as ((...args: unknown[]) => void) | undefined;
      if (impl === undefined) continue;
      if (method.requestStream) throw new Error(`${method.path}: client-streaming methods are not served by this server`);
      this.handle(method.path, (call) => serveSingleRequest(call, method, impl));
    }
  }

  /** Binds a TCP address (port 0: any) or a Unix socket path; returns the TCP port, 0 for a socket. */
  async listen(target: { host: string; port: number } | { unixPath: string }): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      const done = (): void => {
        this.server.off('error', reject);
        resolve();
      };
      if ('unixPath' in target) this.server.listen(target.unixPath, done);
      else this.server.listen(target.port, target.host, done);
    });
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? (address as net.AddressInfo).port : 0;
  }

  /** Stops accepting connections and sends GOAWAY; resolves when every connection closed. */
  async shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    await closed;
  }

  /** Drops every connection at once (their open calls are reset). */
  forceShutdown(): void {
    for (const session of this.sessions) session.destroy();
    this.server.close();
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // Errors after a reset are reported on 'close'; without a listener they would be thrown.
    stream.on('error', () => undefined);
    const contentType = headers['content-type'];
    if (headers[':method'] !== 'POST' || typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const path = headers[':path'] ?? '';
    const handler = this.handlers.get(path);
    const call = new GrpcServerCall(stream, headers, this.options.maxMessageBytes);
    if (handler === undefined) {
      call.end(GrpcStatus.UNIMPLEMENTED, `the server does not implement the method ${path}`);
      return;
    }
    handler(call);
  }
}

/**
 * A unary or server-streaming method called the way grpc-js calls its
 * handlers: the one request, then a callback (unary) or a writable call
 * (server streaming) that emits 'cancelled' when the client goes away.
 */
function serveSingleRequest(call: GrpcServerCall, method: grpc.MethodDefinition<unknown, unknown>, impl: (...args: unknown[]) => void): void {
  let request: Buffer | undefined;
  let requests = 0;
  const surface = Object.assign(new EventEmitter(), {
    cancelled: false,
    request: undefined as unknown,
    metadata: undefined,
    write: (value: unknown): boolean => call.write(frameMessage(method.responseSerialize(value))),
    end: (): void => call.end(),
    getPath: (): string => method.path,
  });
  call.listen({
    message: (bytes) => {
      request = bytes;
      requests += 1;
    },
    halfClosed: () => {
      if (requests !== 1) {
        call.end(GrpcStatus.UNIMPLEMENTED, `${method.path} expects exactly one request message, got ${requests}`);
        return;
      }
      try {
        surface.request = method.requestDeserialize(request!);
      } catch (err) {
        call.end(GrpcStatus.INTERNAL, `request could not be decoded: ${String(err)}`);
        return;
      }
      if (method.responseStream) {
        impl(surface);
        return;
      }
      impl(surface, (err: { code?: number; details?: string } | null, value?: unknown) => {
        if (err) {
          call.end((err.code ?? GrpcStatus.INTERNAL) as never, err.details);
          return;
        }
        call.write(frameMessage(method.responseSerialize(value)));
        call.end();
      });
    },
    cancelled: () => {
      surface.cancelled = true;
      surface.emit('cancelled');
    },
  });
}
