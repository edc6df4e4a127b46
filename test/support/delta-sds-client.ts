/**
 * A Delta SDS client that behaves as Envoy's on-demand secret selector does
 * (envoy/source/extensions/config_subscription/grpc/delta_subscription_state.cc
 * and the xDS protocol doc):
 * - one stream; its first request carries the node, the type URL and, after a
 *   reconnect, `initial_resource_versions` of every secret it holds plus every
 *   name it wants in `resource_names_subscribe`;
 * - every response is answered with a request carrying its nonce: an ACK, or a
 *   NACK with `error_detail` when a resource fails validation (the client then
 *   keeps what it had);
 * - `removed_resources` drops a held secret and marks the name as not existing;
 * - subscribe/unsubscribe travel as their own requests.
 * The stream's initial metadata names the gateway and the CA, as the
 * translator configures it.
 */
import * as grpc from '@grpc/grpc-js';
import { CA_SECRET_METADATA } from '../../src/certificates/minter-contract';
import { decodeTlsSecret, sdsClientConstructor, SECRET_TYPE_URL, type DecodedTlsSecret, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from '../../src/certificates/sds-protocol';

export interface HeldSecret {
  version: string;
  secret: DecodedTlsSecret;
}

export interface DeltaSdsClientOptions {
  address: string;
  caSecret?: string;
  gateway?: string;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** Return an error message to NACK a resource (Envoy: a certificate it cannot load). */
  validate?: (secret: DecodedTlsSecret) => string | undefined;
  /** The type URL requests carry (Envoy's: the Secret type). */
  typeUrl?: string;
}

export class DeltaSdsClient {
  readonly held = new Map<string, HeldSecret>();
  /** Names the server said it cannot serve (removed_resources), in order. */
  readonly removed: string[] = [];
  readonly responses: DeltaDiscoveryResponse[] = [];
  readonly sent: DeltaDiscoveryRequest[] = [];
  private readonly wanted = new Set<string>();
  private readonly client: grpc.Client;
  private call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> | undefined;
  private waiters: Array<() => void> = [];
  streamError: grpc.ServiceError | undefined;

  constructor(private readonly options: DeltaSdsClientOptions) {
    const Client = sdsClientConstructor();
    this.client = new Client(options.address, options.credentials ?? grpc.credentials.createInsecure(), options.channelOptions);
  }

  /** Opens a stream (again): the first request says what is held and what is wanted. */
  connect(names: string[] = []): void {
    for (const name of names) this.wanted.add(name);
    const metadata = new grpc.Metadata();
    if (this.options.caSecret !== undefined) metadata.set(CA_SECRET_METADATA, this.options.caSecret);
    if (this.options.gateway !== undefined) metadata.set('x-egress-capture-gateway', this.options.gateway);
    const call = (this.client as unknown as { DeltaSecrets(metadata: grpc.Metadata): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> }).DeltaSecrets(metadata);
    this.call = call;
    this.streamError = undefined;
    call.on('data', (response: DeltaDiscoveryResponse) => this.onResponse(call, response));
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call === call) this.streamError = err;
      this.wake();
    });
    const initial: Record<string, string> = {};
    for (const [name, held] of this.held) initial[name] = held.version;
    this.send({
      node: { id: 'envoy-test', cluster: 'egress-gateway' },
      type_url: SECRET_TYPE_URL,
      resource_names_subscribe: [...this.wanted],
      initial_resource_versions: initial,
    });
  }

  subscribe(names: string[]): void {
    for (const name of names) this.wanted.add(name);
    this.send({ type_url: SECRET_TYPE_URL, resource_names_subscribe: names });
  }

  unsubscribe(names: string[]): void {
    for (const name of names) {
      this.wanted.delete(name);
      this.held.delete(name);
    }
    this.send({ type_url: SECRET_TYPE_URL, resource_names_unsubscribe: names });
  }

  /** Drops the stream as a network failure would (the client side cancels). */
  disconnect(): void {
    this.call?.cancel();
    this.call = undefined;
  }

  close(): void {
    this.call?.end();
    this.call = undefined;
    this.client.close();
  }

  /** Waits until `check` holds (re-checked after every response), or fails after `timeoutMs`. */
  async until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.streamError) throw new Error(`stream failed while waiting for ${what}: ${this.streamError.message}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; responses: ${JSON.stringify(this.responses.map((r) => ({ nonce: r.nonce, resources: r.resources.map((x) => `${x.name}@${x.version}`), removed: r.removed_resources })))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private send(request: DeltaDiscoveryRequest): void {
    if (this.options.typeUrl !== undefined) request.type_url = this.options.typeUrl;
    this.sent.push(request);
    this.call?.write(request);
  }

  private onResponse(call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>, response: DeltaDiscoveryResponse): void {
    if (call !== this.call) return;
    this.responses.push(response);
    let error: string | undefined;
    const accepted: Array<[string, HeldSecret]> = [];
    for (const resource of response.resources ?? []) {
      const secret = decodeTlsSecret(resource.resource);
      const problem = secret.name !== resource.name ? `secret named ${secret.name} for ${resource.name}` : this.options.validate?.(secret);
      if (problem !== undefined) error = problem;
      else accepted.push([resource.name, { version: resource.version, secret }]);
    }
    if (error === undefined) {
      for (const [name, held] of accepted) this.held.set(name, held);
      for (const name of response.removed_resources ?? []) {
        this.held.delete(name);
        this.removed.push(name);
      }
      this.send({ type_url: SECRET_TYPE_URL, response_nonce: response.nonce });
    } else {
      // Envoy rejects the whole update and keeps its previous state.
      this.send({ type_url: SECRET_TYPE_URL, response_nonce: response.nonce, error_detail: { code: grpc.status.INVALID_ARGUMENT, message: error } });
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
