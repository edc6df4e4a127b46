/**
 * One gRPC call on one HTTP/2 stream, server side: messages in as they
 * complete, replies out as framed bytes, a status in the trailers at the end.
 *
 * Replies written while a received chunk is being handled are gathered and
 * leave in one write when the chunk is done: Envoy (or a load client) often
 * puts several messages in one DATA frame, and each stream write costs far
 * more than the few bytes of an acknowledgment. A reply is never held past
 * the chunk that asked for it.
 */
import * as http2 from 'node:http2';
import { GrpcMessageReader } from './message-framing';
import { GrpcCallError, GrpcStatus, type GrpcStatusCode } from './grpc-status';

/** What the handler of a call hears; each is called at most once except `message`. */
export interface CallListener {
  message(bytes: Buffer): void;
  /** The client half-closed: it sends nothing more (the call may still answer). */
  halfClosed(): void;
  /** The stream went away before this side ended the call: reset, connection lost, or (with `failure`) bad framing, already answered with its status. */
  cancelled(failure?: GrpcCallError): void;
}

const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': 'identity,deflate,gzip' };

export class GrpcServerCall {
  private listener: CallListener | undefined;
  private readonly reader: GrpcMessageReader;
  private headersSent = false;
  /** This side ended the call (status sent or being sent). */
  private ended = false;
  private cancelNotified = false;
  /** Framed replies waiting for the end of the chunk being handled. */
  private outgoing: Buffer[] = [];
  private handlingChunk = false;
  private trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(GrpcStatus.OK) };

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    /** The request headers (gRPC metadata included). */
    readonly headers: http2.IncomingHttpHeaders,
    maxMessageBytes: number,
  ) {
    const encoding = headers['grpc-encoding'];
    this.reader = new GrpcMessageReader(maxMessageBytes, typeof encoding === 'string' ? encoding : 'identity');
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onEnd());
    stream.on('close', () => {
      if (!this.ended) this.cancel();
    });
    // A stream error is followed by 'close'; without a listener it would be thrown.
    stream.on('error', () => undefined);
    stream.on('wantTrailers', () => {
      try {
        stream.sendTrailers(this.trailers);
      } catch {
        // The stream was reset meanwhile.
      }
    });
  }

  /** Starts delivery; set once, before the event loop turns (the stream's data is read from then on). */
  listen(listener: CallListener): void {
    this.listener = listener;
  }

  /** A metadata value the client sent, or undefined. */
  metadata(name: string): string | undefined {
    const value = this.headers[name];
    return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined;
  }

  /** True once the call can take no more replies. */
  get closed(): boolean {
    return this.ended || this.stream.destroyed || this.stream.closed;
  }

  /** Queues one framed reply; false when the call is already closed. */
  write(framed: Buffer): boolean {
    if (this.closed) return false;
    this.outgoing.push(framed);
    if (!this.handlingChunk) this.flush();
    return true;
  }

  /** Ends the call with `code` (OK by default) after the replies written so far. */
  end(code: GrpcStatusCode = GrpcStatus.OK, message?: string): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    if (this.stream.destroyed || this.stream.closed) return;
    const status: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (message !== undefined) status['grpc-message'] = encodeURIComponent(message);
    try {
      if (!this.headersSent) {
        // Trailers-only: the status rides on the only HEADERS frame.
        this.headersSent = true;
        this.stream.respond({ ...RESPONSE_HEADERS, ...status }, { endStream: true });
      } else {
        this.trailers = status;
        this.stream.end();
      }
    } catch {
      // Reset by the peer between the check and the write.
    }
  }

  private onData(chunk: Buffer): void {
    if (this.listener === undefined || this.ended) return;
    this.handlingChunk = true;
    try {
      this.reader.push(chunk, (message) => {
        if (!this.ended) this.listener!.message(message);
      });
    } catch (err) {
      const failure = err instanceof GrpcCallError ? err : new GrpcCallError(GrpcStatus.INTERNAL, String(err));
      this.handlingChunk = false;
      this.end(failure.code, failure.message);
      this.cancel(failure);
      return;
    }
    this.handlingChunk = false;
    this.flush();
  }

  private onEnd(): void {
    if (this.ended || this.listener === undefined) return;
    if (!this.reader.idle) {
      const failure = new GrpcCallError(GrpcStatus.INTERNAL, 'stream ended in the middle of a message');
      this.end(failure.code, failure.message);
      this.cancel(failure);
      return;
    }
    this.listener.halfClosed();
  }

  private cancel(failure?: GrpcCallError): void {
    if (this.cancelNotified) return;
    this.cancelNotified = true;
    this.ended = true;
    this.outgoing = [];
    this.listener?.cancelled(failure);
  }

  private flush(): void {
    const outgoing = this.outgoing;
    if (outgoing.length === 0 || this.stream.destroyed || this.stream.closed) {
      this.outgoing = [];
      return;
    }
    this.outgoing = [];
    try {
      if (!this.headersSent) {
        this.headersSent = true;
        this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
      }
      this.stream.write(outgoing.length === 1 ? outgoing[0] : Buffer.concat(outgoing));
    } catch {
      // Reset by the peer; 'close' tells the listener.
    }
  }
}
