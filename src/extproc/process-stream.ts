/**
 * Handles one ext_proc call (= one HTTP exchange through Envoy).
 *
 *   Envoy ──ProcessingRequest──▶ handleMessage ──▶ ExchangeAssembler (record only)
 *         ◀──empty ack / echo──┘  (synchronously, in arrival order)
 *   call ends (end marker, half-close, cancel, error, idle) ──▶ finish ──▶ onExchange(snapshot)
 *
 * Replies are written synchronously while the message is handled, so they
 * are FIFO per direction by construction and never wait on storage or
 * workers: Envoy's default message_timeout is 200 ms and a late reply fails
 * the user's request. Nothing here throws into the transport; a problem with one
 * message is logged and counted, and the traffic continues.
 */
import type { Logger } from 'pino';
import { ExchangeAssembler, type AssemblerLimits, type BodyShipper, type ExchangeProgress, type PolicyView } from '../capture/exchange-assembler';
import type { ContentTypeFilter } from '../capture/content-type-filter';
import type { ExchangeSnapshot } from '../capture/exchange-snapshot';
import type { BodyContext } from '../capture/body-context';
import type { CaptureMetrics } from '../metrics';
import { acknowledgment, framedReply, requestHeadersWithModeOverride, streamedBodyEcho } from './replies';
import type { ProcessingRequest, ProcessingResponse } from './wire/protocol';
import { decodeProcessingRequest } from './wire/processing-request-decoder';
import type { GrpcServerCall } from './transport/server-call';
import { GrpcStatus, type GrpcCallError } from './transport/grpc-status';
import { GATEWAY_METADATA_HEADER } from '../capture/gateway-identity';
import { describeError, type ErrorCode } from '../errors';

export interface StreamContext {
  limits: AssemblerLimits;
  contentTypes: ContentTypeFilter;
  idleTimeoutMs: number;
  metrics: CaptureMetrics;
  log: Logger;
  /** Hands chunks of large kept bodies to the exchange's worker while they stream. */
  shipBody: BodyShipper;
  /** The capture policy in force; decided per exchange at its request headers. */
  policy: PolicyView;
  onExchange: (snapshot: ExchangeSnapshot, context: BodyContext) => void;
}

export class ProcessStream {
  private readonly assembler: ExchangeAssembler;
  private finished = false;
  private callEnded = false;
  private idleTimer: NodeJS.Timeout;
  /** Date.now() of the last message; the idle timer checks it instead of being re-armed per message. */
  private lastMessageMs = Date.now();

  constructor(
    private readonly call: GrpcServerCall,
    private readonly ctx: StreamContext,
    private readonly onDone: (stream: ProcessStream) => void,
  ) {
    this.assembler = new ExchangeAssembler(ctx.limits, ctx.contentTypes, ctx.shipBody, ctx.policy);
    const gateway = call.metadata(GATEWAY_METADATA_HEADER);
    if (gateway !== undefined && gateway !== '') this.assembler.setGateway(gateway);
    this.idleTimer = setTimeout(() => this.onIdle(), ctx.idleTimeoutMs);
    this.idleTimer.unref();
    call.listen({
      message: (bytes) => this.handleBytes(bytes),
      // Half-close from Envoy: the exchange is over (Envoy's close is a half-close then a reset).
      halfClosed: () => this.finish('ended'),
      cancelled: (failure) => this.onCancelled(failure),
    });
  }

  /** Where this exchange stands (the admin port's in-flight view). */
  progress(): ExchangeProgress {
    return this.assembler.progress();
  }

  /** Stores what arrived so far and ends the call (used on shutdown). */
  abandon(): void {
    this.finish('shutdown');
  }

  private onCancelled(failure: GrpcCallError | undefined): void {
    if (failure === undefined) {
      this.finish('ended');
      return;
    }
    // Bad gRPC framing: the call already ended with its status; what arrived is stored.
    this.ctx.metrics.errors.inc({ kind: 'stream_error' });
    this.ctx.log.warn({ code: 'CAP_ERR_PROTOCOL' satisfies ErrorCode, captureId: this.assembler.captureId, err: failure.message }, 'ext_proc stream ended on bad gRPC framing');
    this.finish('error');
  }

  /**
   * One ProcessingRequest off the wire. One that does not decode ends its own
   * call with INTERNAL (as any gRPC server answers an unreadable request);
   * Envoy then applies the filter's failure_mode_allow to that request only.
   */
  private handleBytes(bytes: Buffer): void {
    if (this.finished) return;
    let message: ProcessingRequest;
    try {
      message = decodeProcessingRequest(bytes);
    } catch (err) {
      this.ctx.metrics.messageCounter('malformed').inc();
      this.ctx.metrics.errors.inc({ kind: 'protocol_undecodable' });
      this.ctx.log.warn({ code: 'CAP_ERR_PROTOCOL' satisfies ErrorCode, captureId: this.assembler.captureId, err: describeError(err) }, 'ProcessingRequest could not be decoded; call ended');
      this.call.end(GrpcStatus.INTERNAL, `ProcessingRequest could not be decoded: ${describeError(err)}`);
      this.finish('error');
      return;
    }
    this.handleMessage(message);
  }

  private handleMessage(message: ProcessingRequest): void {
    this.lastMessageMs = Date.now();
    const part = message.request;
    if (part === undefined) {
      this.ctx.metrics.messageCounter('malformed').inc();
      this.ctx.metrics.errors.inc({ kind: 'protocol_no_oneof' });
      this.ctx.log.warn({ code: 'CAP_ERR_PROTOCOL' satisfies ErrorCode, captureId: this.assembler.captureId }, 'ProcessingRequest with no request part set; ignored');
      return;
    }
    this.ctx.metrics.messageCounter(part).inc();
    this.assembler.accept(message);

    if (message.observability_mode !== true) this.reply(message, part);

    // Level none keeps nothing of the exchange: end the call once the request
    // headers are answered, and Envoy sends nothing more of it (the traffic
    // goes on unprocessed, as after any call the processor ends with OK).
    if (part === 'request_headers' && this.assembler.captureDecision.level === 'none') {
      this.finish('ended');
      return;
    }
    // End the call ourselves once the exchange is complete: Envoy closes with a
    // reset, and a call we already finished turns that reset into a no-op
    // instead of one more hit on the HTTP/2 rapid-reset budget.
    if (this.assembler.responseEnded && this.assembler.requestEnded) this.finish('ended');
  }

  private reply(message: ProcessingRequest, part: NonNullable<ProcessingRequest['request']>): void {
    let response: ProcessingResponse;
    if (part === 'request_body' && this.assembler.isFullDuplex('request')) {
      response = streamedBodyEcho(part, message.request_body!.body, message.request_body!.end_of_stream === true);
    } else if (part === 'response_body' && this.assembler.isFullDuplex('response')) {
      response = streamedBodyEcho(part, message.response_body!.body, message.response_body!.end_of_stream === true);
    } else if (part === 'request_headers') {
      const override = this.assembler.modeOverride();
      response = override === undefined ? acknowledgment(part) : requestHeadersWithModeOverride(override.request_body_mode, override.response_body_mode);
    } else {
      response = acknowledgment(part);
    }
    if (!this.call.write(framedReply(response))) {
      // The call is already gone (Envoy reset it); nothing to answer.
      this.ctx.metrics.errors.inc({ kind: 'reply_write' });
    }
  }

  private onIdle(): void {
    if (this.finished) return;
    const quietMs = Date.now() - this.lastMessageMs;
    if (quietMs < this.ctx.idleTimeoutMs) {
      // Messages came since the timer was armed: wait out the rest of the quiet period.
      this.idleTimer = setTimeout(() => this.onIdle(), this.ctx.idleTimeoutMs - quietMs);
      this.idleTimer.unref();
      return;
    }
    this.ctx.metrics.errors.inc({ kind: 'stream_idle_timeout' });
    this.ctx.log.warn({ captureId: this.assembler.captureId, idleMs: this.ctx.idleTimeoutMs }, 'ext_proc stream idle past the limit; storing what arrived');
    this.finish('idle');
  }

  private finish(reason: 'ended' | 'error' | 'idle' | 'shutdown'): void {
    if (!this.finished) {
      this.finished = true;
      clearTimeout(this.idleTimer);
      if (this.assembler.messageCount > 0) {
        this.countDecision();
        if (this.assembler.captureDecision.level === 'none') {
          this.onDone(this);
          this.endCall();
          return;
        }
        const snapshot = this.assembler.finish(reason);
        if (this.assembler.headersCut > 0) {
          this.ctx.metrics.errors.inc({ kind: 'headers_over_limit' });
          this.ctx.log.warn(
            { captureId: this.assembler.captureId, entries: this.assembler.headersCut, bytes: this.assembler.headerBytesCut },
            'header entries over the per-exchange limit were counted, not stored',
          );
        }
        this.ctx.metrics.exchangeCounter(snapshot.outcome).inc();
        this.ctx.onExchange(snapshot, this.assembler.context);
      } else {
        // A call that ended before its first message was read (Envoy gave up on it, e.g. its
        // message timer fired while this loop was busy): there is nothing to store, but it is counted.
        this.ctx.metrics.errors.inc({ kind: 'stream_without_message' });
      }
      this.onDone(this);
    }
    this.endCall();
  }

  private countDecision(): void {
    const decision = this.assembler.captureDecision;
    this.ctx.metrics.policyExchanges.inc({ level: decision.level, rule: decision.rule });
    if (decision.optOut !== 'none') this.ctx.metrics.policyOptOuts.inc({ outcome: decision.optOut });
  }

  /** Ends the call with OK if it is still open: harmless to Envoy, and it frees the HTTP/2 stream at once. */
  private endCall(): void {
    if (this.callEnded) return;
    this.callEnded = true;
    this.call.end();
  }
}
