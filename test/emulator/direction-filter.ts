/**
 * One direction (decoding = request, encoding = response) of Envoy's ext_proc
 * filter: the counterpart of Envoy's ProcessorState. It receives the HTTP
 * message piece by piece, decides what to send to the processor and what to
 * hold, validates replies against what awaits one (FIFO), and forwards the
 * message onward (to the upstream or the client) as replies release it.
 */
import type { CommonResponse, ProcessingResponse } from '../../src/extproc/wire/protocol';
import type { BodySendModeName, HeaderSendMode, ResolvedExchangeOptions } from './emulator-options';
import type { ViolationKind } from './exchange-result';
import type { HeaderList } from './http-exchange-spec';

export type Direction = 'request' | 'response';
export type MessagePart = 'headers' | 'body' | 'trailers';

/** What the exchange provides to a direction: the call, failure handling and the far side. */
export interface FilterHost {
  readonly options: ResolvedExchangeOptions;
  /** False once processing completed (server end, fail-open, error) or the call was closed. */
  readonly active: boolean;
  send(dir: Direction, part: MessagePart, payload: object): void;
  /** A reply broke the protocol: record it and apply Envoy's spurious-message handling. */
  spurious(dir: Direction, kind: ViolationKind, detail: string): void;
  violation(kind: ViolationKind, detail: string): void;
  acceptedReply(dir: Direction, part: MessagePart, isLastBody: boolean): void;
  messageTimeout(dir: Direction): void;
  bufferOverflow(dir: Direction): void;
  /** True once body data was seen in an FDS direction (fail-open no longer possible). */
  activity(): void;
  forwardHeaders(dir: Direction, headers: HeaderList): void;
  forwardData(dir: Direction, data: Buffer): void;
  forwardTrailers(dir: Direction, trailers: HeaderList): void;
  forwardEnd(dir: Direction): void;
}

type Pending = { kind: 'headers' } | { kind: 'body'; data: Buffer; eos: boolean; partial: boolean; streamed: boolean } | { kind: 'trailers' };

const EMPTY = Buffer.alloc(0);

export class DirectionFilter {
  headerSend: boolean;
  bodyMode: BodySendModeName;
  trailerSend: boolean;
  /** Nothing of this direction is ever sent (Envoy's noExternalProcess()). */
  readonly noExternalProcess: boolean;
  /** Whether the HTTP message has a body or trailers (headers did not carry end of stream). */
  hasBody = false;
  attributesSent = false;
  /** FDS: body data went to the processor, so failure_mode_allow can no longer apply. */
  fdsBodySent = false;
  /** Envoy answered this request with a local reply (413): nothing more of it is processed or forwarded. */
  abandoned = false;

  private headersToForward?: HeaderList;
  private headersPending = false;
  /** BUFFERED keeps the headers from the client/upstream until the body is processed. */
  private headersHeld = false;
  private readonly awaiting: Pending[] = [];
  private held: Buffer[] = [];
  private heldBytes = 0;
  private heldEos = false;
  private queuedBytes = 0;
  private pendingTrailers?: HeaderList;
  private trailersToForward?: HeaderList;
  private partialProcessed = false;
  private ended = false;
  private timer?: NodeJS.Timeout;
  private drainWaiters: Array<() => void> = [];
  private finishedResolve!: () => void;
  /** Settles when the whole message was forwarded (or the exchange stopped). */
  readonly finished: Promise<void>;

  // FULL_DUPLEX_STREAMED bookkeeping: bytes sent but not yet echoed, in order.
  private fdsUnechoed: Buffer[] = [];
  private fdsUnechoedOffset = 0;
  private fdsUnechoedBytes = 0;
  private fdsSentEos = false;
  private fdsTrailersSent = false;
  private fdsHeadersReplied = false;
  private fdsMismatchReported = false;

  constructor(
    readonly dir: Direction,
    private readonly host: FilterHost,
  ) {
    const m = host.options.modes;
    this.headerSend = (dir === 'request' ? m.requestHeaderMode : m.responseHeaderMode) === 'SEND';
    this.bodyMode = dir === 'request' ? m.requestBodyMode : m.responseBodyMode;
    this.trailerSend = (dir === 'request' ? m.requestTrailerMode : m.responseTrailerMode) === 'SEND';
    this.noExternalProcess = !this.headerSend && this.bodyMode === 'NONE' && !this.trailerSend;
    // With headers SKIP there is no headers reply to wait for before streamed bodies.
    this.fdsHeadersReplied = !this.headerSend;
    this.finished = new Promise((resolve) => (this.finishedResolve = resolve));
  }

  /**
   * A mode_override Envoy accepted (request headers reply, allow_mode_override):
   * the modes of what this direction has not sent yet. Header and trailer
   * modes of DEFAULT (undefined here) leave the mode as it is (1.34+).
   */
  overrideModes(modes: { header?: HeaderSendMode; body: BodySendModeName; trailer?: HeaderSendMode }): void {
    if (modes.header !== undefined) this.headerSend = modes.header === 'SEND';
    this.bodyMode = modes.body;
    if (modes.trailer !== undefined) this.trailerSend = modes.trailer === 'SEND';
  }

  private get observability(): boolean {
    return this.host.options.observabilityMode;
  }

  // ---- HTTP events -------------------------------------------------------

  onHeaders(headers: HeaderList, endOfStream: boolean): void {
    this.hasBody = !endOfStream;
    this.host.activity();
    if (!this.host.active || !this.headerSend) return this.passHeaders(headers);
    if (this.observability) {
      this.host.send(this.dir, 'headers', { headers, end_of_stream: endOfStream });
      return this.passHeaders(headers);
    }
    this.host.send(this.dir, 'headers', { headers, end_of_stream: endOfStream });
    this.headersToForward = headers;
    this.headersPending = true;
    this.awaiting.push({ kind: 'headers' });
    this.armTimer();
  }

  onData(data: Buffer, endOfStream: boolean): void {
    if (this.abandoned) return;
    this.host.activity();
    if (!this.host.active) return this.passData(data, endOfStream);
    if (this.observability) {
      // Only STREAMED is honoured in observability mode; other modes send nothing ("Wrong body mode").
      if (this.bodyMode === 'STREAMED') this.host.send(this.dir, 'body', { body: data, end_of_stream: endOfStream });
      return this.passData(data, endOfStream);
    }
    if (this.bodyMode === 'FULL_DUPLEX_STREAMED') return this.sendFdsBody(data, endOfStream);
    const earlyBody = this.bodyMode === 'STREAMED' && this.host.options.sendBodyWithoutWaiting;
    if (this.headersPending && !earlyBody) {
      this.hold(data, endOfStream);
      if (this.bodyMode === 'BUFFERED' && this.heldBytes > this.host.options.bufferLimitBytes) this.host.bufferOverflow(this.dir);
      return;
    }
    switch (this.bodyMode) {
      case 'NONE':
        return this.passData(data, endOfStream);
      case 'STREAMED':
        return this.sendChunk(data, endOfStream);
      case 'BUFFERED':
        this.hold(data, endOfStream);
        if (this.heldBytes > this.host.options.bufferLimitBytes) return this.host.bufferOverflow(this.dir);
        if (endOfStream) this.sendHeld(true, false);
        return;
      case 'BUFFERED_PARTIAL':
        if (this.partialProcessed) return this.passData(data, endOfStream);
        this.hold(data, endOfStream);
        if (this.awaiting.length > 0) return; // a partial body is out: later data waits, then flows unprocessed
        if (endOfStream) this.sendHeld(true, false);
        else if (this.heldBytes > this.host.options.bufferLimitBytes) this.sendHeld(false, true);
        return;
    }
  }

  onTrailers(trailers: HeaderList): void {
    if (this.abandoned) return;
    this.host.activity();
    if (!this.host.active) return this.passTrailers(trailers);
    if (this.observability) {
      if (this.trailerSend) this.host.send(this.dir, 'trailers', { trailers });
      return this.passTrailers(trailers);
    }
    if (this.bodyMode === 'FULL_DUPLEX_STREAMED') {
      // Sent at once, not after body replies; forwarded when the trailers reply comes.
      this.host.send(this.dir, 'trailers', { trailers });
      this.fdsTrailersSent = true;
      this.trailersToForward = trailers;
      return;
    }
    if (this.headersPending || this.awaiting.length > 0) {
      this.pendingTrailers = trailers; // STREAMED: held until every body reply arrived
      return;
    }
    const buffering = this.bodyMode === 'BUFFERED' || (this.bodyMode === 'BUFFERED_PARTIAL' && !this.partialProcessed);
    if (buffering && this.held.length > 0) {
      // The buffered body goes first (end_of_stream=false), the trailers after its reply.
      this.pendingTrailers = trailers;
      this.sendHeld(false, false);
      return;
    }
    this.handleTrailers(trailers);
  }

  /** Back-pressure on the source: resolves when Envoy would re-enable reading. */
  writable(): Promise<void> | undefined {
    if (!this.host.active || this.pressureBytes() <= this.host.options.bufferLimitBytes) return undefined;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  // ---- replies -------------------------------------------------------------

  onReply(part: MessagePart, reply: ProcessingResponse, payload: { response?: CommonResponse } | undefined): void {
    if (this.abandoned) {
      // A late reply for a message of the abandoned request: nothing waits for it any more.
      if (this.awaiting[0]?.kind === part) this.awaiting.shift();
      return;
    }
    if (this.bodyMode === 'FULL_DUPLEX_STREAMED' && part !== 'headers') return this.onFdsReply(part, payload);
    const front = this.awaiting[0];
    if (front === undefined) {
      return this.host.spurious(this.dir, 'reply-for-unknown-message', `${this.dir}_${part} reply while nothing awaits one`);
    }
    if (front.kind !== part) {
      const later = this.awaiting.some((p) => p.kind === part);
      return this.host.spurious(this.dir, later ? 'wrong-order' : 'spurious-reply', `${this.dir}_${part} reply while ${this.dir}_${front.kind} awaits one`);
    }
    const common = payload?.response;
    if (part === 'body' && common?.body_mutation?.streamed_response !== undefined) {
      return this.host.spurious(this.dir, 'streamed-response-outside-fds', `streamed_response in ${this.bodyMode} mode`);
    }
    this.checkPassive(reply, common);
    this.awaiting.shift();
    this.disarmTimer();
    let isLastBody = false;
    if (front.kind === 'headers') this.afterHeadersReply();
    else if (front.kind === 'body') isLastBody = this.afterBodyReply(front);
    else this.passTrailers(this.trailersToForward ?? []);
    this.checkDrain();
    this.host.acceptedReply(this.dir, part, isLastBody);
  }

  private afterHeadersReply(): void {
    this.headersPending = false;
    if (this.bodyMode === 'FULL_DUPLEX_STREAMED') this.fdsHeadersReplied = true;
    const headers = this.headersToForward ?? [];
    this.headersToForward = undefined;
    if (!this.hasBody) return this.passHeaders(headers);
    if (this.bodyMode === 'BUFFERED') this.headersHeld = true;
    this.passHeaders(headers);
    if (this.bodyMode === 'FULL_DUPLEX_STREAMED') return;
    if (this.bodyMode === 'NONE') {
      this.flushHeld();
      if (this.pendingTrailers) this.takePendingTrailers();
      return;
    }
    if (this.bodyMode === 'STREAMED' && this.host.options.sendBodyWithoutWaiting) {
      if (this.awaiting.length === 0 && this.pendingTrailers) this.takePendingTrailers();
      return;
    }
    const completeBody = this.heldEos || this.pendingTrailers !== undefined;
    if (completeBody) {
      // The whole body arrived while the headers were processed: one message, whatever the mode.
      if (this.held.length > 0) this.sendHeld(this.pendingTrailers === undefined, false);
      else this.takePendingTrailers();
      return;
    }
    if (this.bodyMode === 'STREAMED' && this.held.length > 0) {
      // Everything that arrived meanwhile goes as one coalesced chunk, then chunk by chunk.
      const data = this.takeHeld();
      this.sendChunk(data, false);
    } else if (this.bodyMode === 'BUFFERED_PARTIAL' && this.heldBytes > this.host.options.bufferLimitBytes) {
      this.sendHeld(false, true);
    }
  }

  /** Returns whether this was the last body reply in Envoy's sense (STREAMED eos chunk only). */
  private afterBodyReply(front: Extract<Pending, { kind: 'body' }>): boolean {
    if (front.streamed) this.queuedBytes -= front.data.length;
    if (front.partial) {
      this.passData(front.data, false);
      this.partialProcessed = true;
      this.flushHeld();
    } else {
      this.passData(front.data, front.eos);
    }
    if (this.awaiting.length === 0 && this.pendingTrailers) this.takePendingTrailers();
    return this.bodyMode === 'STREAMED' && front.eos;
  }

  private onFdsReply(part: MessagePart, payload: { response?: CommonResponse } | undefined): void {
    if (part === 'trailers') {
      if (!this.fdsTrailersSent) {
        return this.host.spurious(this.dir, 'reply-for-unknown-message', `${this.dir}_trailers reply before trailers were sent`);
      }
      if (!this.fdsHeadersReplied) {
        return this.host.spurious(this.dir, 'fds-out-of-order', `${this.dir}_trailers reply before the headers reply`);
      }
      if (this.fdsUnechoedBytes > 0) {
        this.reportEchoMismatch(`trailers reply with ${this.fdsUnechoedBytes} sent bytes never echoed`);
      }
      this.fdsTrailersSent = false;
      this.passTrailers(this.trailersToForward ?? []);
      this.host.acceptedReply(this.dir, 'trailers', false);
      return;
    }
    if (!this.fdsHeadersReplied) {
      return this.host.spurious(this.dir, 'fds-out-of-order', `${this.dir}_body reply before the headers reply`);
    }
    const streamed = payload?.response?.body_mutation?.streamed_response;
    if (streamed === undefined) {
      return this.host.spurious(this.dir, 'fds-out-of-order', `${this.dir}_body reply without streamed_response`);
    }
    const body = streamed.body ?? EMPTY;
    this.matchEcho(body);
    this.host.activity();
    if (body.length > 0) this.host.forwardData(this.dir, body);
    const eos = streamed.end_of_stream === true;
    if (eos) {
      if (!this.fdsSentEos) {
        this.host.violation('fds-end-of-stream', `${this.dir}: end_of_stream echoed before Envoy sent it`);
      } else if (this.fdsUnechoedBytes > 0) {
        this.reportEchoMismatch(`end_of_stream echoed with ${this.fdsUnechoedBytes} sent bytes never echoed`);
      }
      this.end();
    }
    this.host.acceptedReply(this.dir, 'body', eos);
  }

  // ---- sending -------------------------------------------------------------

  private sendChunk(data: Buffer, eos: boolean): void {
    this.host.send(this.dir, 'body', { body: data, end_of_stream: eos });
    this.awaiting.push({ kind: 'body', data, eos, partial: false, streamed: true });
    this.queuedBytes += data.length;
    this.armTimer();
  }

  private sendHeld(eos: boolean, partial: boolean): void {
    const data = this.takeHeld();
    this.host.send(this.dir, 'body', { body: data, end_of_stream: eos });
    this.awaiting.push({ kind: 'body', data, eos, partial, streamed: false });
    this.armTimer();
  }

  private sendFdsBody(data: Buffer, eos: boolean): void {
    // No message timer and no queue: Envoy drains the bytes and forwards only what comes back.
    this.host.send(this.dir, 'body', { body: data, end_of_stream: eos });
    this.fdsBodySent = true;
    if (data.length > 0) {
      this.fdsUnechoed.push(data);
      this.fdsUnechoedBytes += data.length;
    }
    if (eos) this.fdsSentEos = true;
  }

  private handleTrailers(trailers: HeaderList): void {
    this.flushHeld();
    if (this.trailerSend && this.host.active) {
      this.host.send(this.dir, 'trailers', { trailers });
      this.trailersToForward = trailers;
      this.awaiting.push({ kind: 'trailers' });
      this.armTimer();
    } else {
      this.passTrailers(trailers);
    }
  }

  private takePendingTrailers(): void {
    const trailers = this.pendingTrailers;
    this.pendingTrailers = undefined;
    if (trailers) this.handleTrailers(trailers);
  }

  // ---- failure paths -----------------------------------------------------------

  /** Processing stopped (fail-open, server ended the call): release everything in order, unprocessed. */
  releaseAll(): void {
    this.disarmTimer();
    for (const pending of this.awaiting.splice(0)) {
      if (pending.kind === 'headers') {
        this.headersPending = false;
        this.passHeaders(this.headersToForward ?? []);
        this.headersToForward = undefined;
      } else if (pending.kind === 'body') {
        this.passData(pending.data, pending.eos);
      } else {
        this.passTrailers(this.trailersToForward ?? []);
      }
    }
    this.queuedBytes = 0;
    if (this.fdsUnechoedBytes > 0) {
      // Assumption: bytes Envoy drained but never got back are let through unprocessed.
      const first = this.fdsUnechoed[0].subarray(this.fdsUnechoedOffset);
      const rest = this.fdsUnechoed.slice(1);
      this.fdsUnechoed = [];
      this.fdsUnechoedBytes = 0;
      this.passData(Buffer.concat([first, ...rest]), false);
    }
    if (this.fdsSentEos && !this.ended && this.pendingTrailers === undefined && !this.fdsTrailersSent) this.end();
    if (this.fdsTrailersSent) this.passTrailers(this.trailersToForward ?? []);
    this.flushHeld();
    if (this.pendingTrailers) {
      const trailers = this.pendingTrailers;
      this.pendingTrailers = undefined;
      this.passTrailers(trailers);
    }
    this.checkDrain();
  }

  /** The request was answered locally (buffer overflow): drop what is held, send and forward nothing more. */
  abandon(): void {
    this.abandoned = true;
    this.disarmTimer();
    this.held = [];
    this.heldBytes = 0;
    this.pendingTrailers = undefined;
    this.finishedResolve();
    this.checkDrain(true);
  }

  /** The call is closed: no reply can come any more. */
  stopTimer(): void {
    this.disarmTimer();
  }

  /** The exchange is over: no timers, no waiting sources. */
  stop(): void {
    this.disarmTimer();
    this.finishedResolve();
    this.checkDrain(true);
  }

  /** FDS bytes sent but never echoed with end_of_stream (for the idle-timeout diagnosis). */
  fdsIncomplete(): string | undefined {
    if (this.bodyMode !== 'FULL_DUPLEX_STREAMED' || this.ended) return undefined;
    if (this.fdsSentEos) return `${this.dir}: Envoy sent end_of_stream, the server never echoed it (${this.fdsUnechoedBytes} bytes unechoed)`;
    return undefined;
  }

  // ---- helpers -------------------------------------------------------------

  private matchEcho(body: Buffer): void {
    let offset = 0;
    while (offset < body.length) {
      const head = this.fdsUnechoed[0];
      if (head === undefined) {
        this.reportEchoMismatch(`${body.length - offset} more bytes echoed than Envoy sent`);
        return;
      }
      const available = head.length - this.fdsUnechoedOffset;
      const n = Math.min(available, body.length - offset);
      if (head.compare(body, offset, offset + n, this.fdsUnechoedOffset, this.fdsUnechoedOffset + n) !== 0) {
        this.reportEchoMismatch('echoed bytes differ from the bytes Envoy sent');
      }
      offset += n;
      this.fdsUnechoedBytes -= n;
      if (n === available) {
        this.fdsUnechoed.shift();
        this.fdsUnechoedOffset = 0;
      } else {
        this.fdsUnechoedOffset += n;
      }
    }
  }

  private reportEchoMismatch(detail: string): void {
    if (this.fdsMismatchReported) return;
    this.fdsMismatchReported = true;
    this.host.violation('fds-echo-mismatch', `${this.dir}: ${detail}`);
  }

  private checkPassive(reply: ProcessingResponse, common: CommonResponse | undefined): void {
    const mutation = (common as { header_mutation?: { set_headers?: unknown[]; remove_headers?: unknown[] } } | undefined)?.header_mutation;
    if (
      (common?.status ?? 0) !== 0 ||
      (mutation?.set_headers?.length ?? 0) > 0 ||
      (mutation?.remove_headers?.length ?? 0) > 0 ||
      common?.body_mutation !== undefined ||
      (reply as { dynamic_metadata?: unknown }).dynamic_metadata !== undefined
    ) {
      this.host.violation('active-reply', `${this.dir} reply carries a mutation; a passive processor must send none`);
    }
  }

  private hold(data: Buffer, eos: boolean): void {
    this.held.push(data);
    this.heldBytes += data.length;
    if (eos) this.heldEos = true;
  }

  private takeHeld(): Buffer {
    const data = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    this.heldEos = false;
    return data;
  }

  private flushHeld(): void {
    if (this.held.length === 0) return;
    const eos = this.heldEos;
    this.passData(this.takeHeld(), eos);
  }

  private passHeaders(headers: HeaderList): void {
    if (this.headersHeld) {
      this.headersToForward = headers;
      return;
    }
    this.host.forwardHeaders(this.dir, headers);
    if (!this.hasBody) this.end();
  }

  private releaseHeldHeaders(): void {
    if (!this.headersHeld) return;
    this.headersHeld = false;
    const headers = this.headersToForward ?? [];
    this.headersToForward = undefined;
    this.host.forwardHeaders(this.dir, headers);
  }

  private passData(data: Buffer, eos: boolean): void {
    this.releaseHeldHeaders();
    if (data.length > 0) this.host.forwardData(this.dir, data);
    if (eos) this.end();
  }

  private passTrailers(trailers: HeaderList): void {
    this.releaseHeldHeaders();
    this.host.forwardTrailers(this.dir, trailers);
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.host.forwardEnd(this.dir);
    this.finishedResolve();
  }

  private pressureBytes(): number {
    return this.bodyMode === 'BUFFERED' || this.bodyMode === 'FULL_DUPLEX_STREAMED' ? 0 : this.queuedBytes + this.heldBytes;
  }

  private checkDrain(force = false): void {
    if (this.drainWaiters.length === 0) return;
    if (force || !this.host.active || this.pressureBytes() < this.host.options.bufferLimitBytes / 2) {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  /** (Re)armed on every send that needs a reply (reference §4.4; Envoy 1.39/1.40 traces `message-timeout-*`). */
  private armTimer(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.host.messageTimeout(this.dir);
    }, this.host.options.messageTimeoutMs);
  }

  /**
   * Disarmed by any accepted reply, even with later chunks outstanding (Envoy's quirk, §4.4): a chunk
   * sent before the reply to an earlier one may then wait for its own reply without limit, until the
   * next send re-arms the timer (trace `message-timeout-disarmed-by-late-reply`).
   */
  private disarmTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
