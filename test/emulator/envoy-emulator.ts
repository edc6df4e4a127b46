/**
 * An Envoy ext_proc filter emulator for tests and the bench. One instance holds
 * one grpc-js client, i.e. one HTTP/2 connection, like Envoy's connection to
 * the ext_proc cluster; every exchange opens its own Process call on it.
 *
 *   const envoy = new EnvoyEmulator({ target: '127.0.0.1:9002', processingMode: { responseBodyMode: 'STREAMED' } });
 *   const result = await envoy.runExchange(spec);            // one exchange
 *   const all = await envoy.runConcurrent(200, (i) => spec, { concurrency: 50 });
 *   envoy.close();
 */
import * as grpc from '@grpc/grpc-js';
import { extProcClientConstructor } from '../../src/extproc/wire/protocol';
import { EMULATOR_DEFAULTS } from './emulator-defaults';
import { resolveExchangeOptions, type ExchangeOptions } from './emulator-options';
import { ExchangeRun } from './exchange-run';
import type { ExchangeResult } from './exchange-result';
import type { HttpExchangeSpec } from './http-exchange-spec';

export interface EnvoyEmulatorOptions extends ExchangeOptions {
  /** host:port of the ext_proc server. */
  target: string;
  /** Extra grpc-js channel options (merged over the emulator's). */
  channelOptions?: grpc.ChannelOptions;
}

export class EnvoyEmulator {
  readonly client: grpc.Client;
  private readonly baseOptions: ExchangeOptions;

  constructor(options: EnvoyEmulatorOptions) {
    const { target, channelOptions, ...exchangeOptions } = options;
    // Validate the configuration up front, as Envoy does when it loads it.
    resolveExchangeOptions(exchangeOptions);
    this.baseOptions = exchangeOptions;
    const Client = extProcClientConstructor();
    this.client = new Client(target, grpc.credentials.createInsecure(), {
      // A private subchannel pool: this emulator's calls share exactly one connection.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': EMULATOR_DEFAULTS.maxReceiveMessageBytes,
      'grpc.max_send_message_length': EMULATOR_DEFAULTS.maxReceiveMessageBytes,
      // Envoy's async client does not retry ext_proc streams by default.
      'grpc.enable_retries': 0,
      ...channelOptions,
    });
  }

  /** Resolves once the HTTP/2 connection is up (so the first exchange's timer does not include connecting). */
  waitForReady(timeoutMs: number = EMULATOR_DEFAULTS.connectTimeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Runs one exchange; resolves when the HTTP exchange is over and the call is closed or ended. */
  runExchange(spec: HttpExchangeSpec, overrides?: ExchangeOptions): Promise<ExchangeResult> {
    const options = resolveExchangeOptions(this.baseOptions, overrides);
    return new ExchangeRun(this.client, spec, options).run();
  }

  /**
   * Runs `total` exchanges with at most `concurrency` in flight (like N concurrent
   * clients each starting a new request as soon as its previous one ends).
   * Results are in exchange order.
   */
  async runConcurrent(
    total: number,
    makeSpec: (index: number) => HttpExchangeSpec,
    options: { concurrency?: number; overrides?: ExchangeOptions; onResult?: (result: ExchangeResult, index: number) => void } = {},
  ): Promise<ExchangeResult[]> {
    const concurrency = Math.max(1, Math.min(options.concurrency ?? total, total));
    const results: ExchangeResult[] = new Array(total);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const index = next++;
        const result = await this.runExchange(makeSpec(index), options.overrides);
        results[index] = result;
        options.onResult?.(result, index);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return results;
  }

  close(): void {
    this.client.close();
  }
}
