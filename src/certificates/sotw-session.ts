/**
 * One state-of-the-world SDS stream: StreamSecrets, what an Envoy config with
 * `sds_config.api_config_source.api_type: GRPC` speaks. The rules followed,
 * from Envoy's xDS protocol documentation (docs/root/api-docs/xds_protocol.rst,
 * "ACK/NACK and resource type instance version", "When to send an update",
 * "Resource warming"):
 *
 * 1. Every request names the complete set of secrets the client wants;
 *    a response carries them all, under one `version_info` for the set.
 * 2. `response_nonce` names the response a request answers. A request whose
 *    nonce is not the latest one sent is stale and is ignored: a newer
 *    response is already on its way to the client.
 * 3. A request with the latest nonce and no `error_detail` ACKs that version;
 *    with `error_detail` it NACKs it: the client keeps its previous version
 *    (its `version_info` says which) and the rejected set is not sent again
 *    until something changes.
 * 4. The first request of a stream may carry the `version_info` the client
 *    already holds (a reconnect): when it equals the current set's version
 *    nothing is sent.
 * 5. A secret that cannot be served is left out (the protocol has no removal
 *    for SDS in this variant); the client's warming timeout applies.
 * 6. The server pushes when the set changes: a leaf due for renewal, a CA
 *    rotation, a changed name list.
 */
import * as crypto from 'node:crypto';
import { SdsSession } from './sds-session';
import { SECRET_TYPE_URL, type AnyMessage, type DiscoveryRequest, type DiscoveryResponse } from './sds-protocol';

export class SotwSession extends SdsSession<DiscoveryRequest, DiscoveryResponse> {
  private names: string[] = [];
  private lastNonce = '';
  /** Version of the set last sent (or announced as held on the first request). */
  private sentVersion = '';
  private nonceCounter = 0;
  private first = true;

  refreshAll(): void {
    this.push();
  }

  protected onRenewalDue(): void {
    this.push();
  }

  protected onRequest(request: DiscoveryRequest): void {
    const nonce = request.response_nonce ?? '';
    if (this.first) {
      this.first = false;
      this.sentVersion = request.version_info ?? '';
    } else if (nonce !== this.lastNonce) {
      return; // stale (rule 2)
    }
    if (nonce !== '' && request.error_detail !== undefined) this.logNack('sotw', request.error_detail.message, this.names);
    this.names = [...new Set(request.resource_names ?? [])];
    this.push();
  }

  /** Sends the whole set when its version differs from what was last sent. */
  private push(): void {
    if (this.closed) return;
    const resources: AnyMessage[] = [];
    const versions: string[] = [];
    for (const name of this.names) {
      const resolution = this.context.source.resolve(this.context.caRef, name);
      if (!resolution.ok) {
        this.renewals.cancel(name);
        continue;
      }
      this.renewals.schedule(name, resolution.renewAt);
      resources.push(resolution.resource);
      versions.push(`${name}=${resolution.version}`);
    }
    const version = crypto.createHash('sha256').update(versions.join('\n')).digest('hex').slice(0, 16);
    if (version === this.sentVersion) return;
    this.sentVersion = version;
    this.lastNonce = `${this.context.streamId}-${++this.nonceCounter}`;
    this.call.write({ version_info: version, resources, type_url: SECRET_TYPE_URL, nonce: this.lastNonce });
  }
}
