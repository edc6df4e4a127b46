/**
 * One incremental (delta) SDS stream: DeltaSecrets, as Envoy's on-demand
 * certificate selector speaks it. The rules followed, from Envoy's xDS
 * protocol documentation (docs/root/api-docs/xds_protocol.rst, sections
 * "Incremental xDS", "ACK/NACK and resource type instance version",
 * "Resource does not exist" and "Knowing When a Requested Resource Does Not
 * Exist"):
 *
 * 1. Subscriptions change by difference: `resource_names_subscribe` adds
 *    names, `resource_names_unsubscribe` drops them; one stream carries any
 *    number of names (Envoy opens one stream per selector and config source,
 *    not one per name).
 * 2. Every subscribed name is answered: a Resource with its own `version`, or
 *    its name in `removed_resources` when it cannot be served ("the server
 *    signals the non-existence of a resource by including its name in
 *    removed_resources"), so a handshake fails at once instead of waiting
 *    for the selector's timeout.
 * 3. Each response carries a fresh `nonce`. The client answers each with a
 *    request whose `response_nonce` names it: an ACK without `error_detail`
 *    (the client now holds those versions) or a NACK with it (the client
 *    keeps what it had). A NACKed version is never recorded as held, and is
 *    not pushed again: the next push is a new leaf (renewal, CA rotation).
 *    A request may carry an ACK and subscription changes together; the
 *    changes are applied whatever its nonce.
 * 4. `initial_resource_versions` (first request of a stream, after a
 *    reconnect) lists what the client already holds: a name whose version
 *    still matches is not sent again.
 * 5. Unsubscribing needs no answer. `*` (wildcard subscription) has no
 *    meaning for certificates minted per name; it is ignored.
 * 6. `system_version_info` is for debugging only: it names the stream's CA.
 * 7. The server pushes without being asked when a held resource changes:
 *    here, a leaf reaching 2/3 of its validity, or the stream's CA rotated.
 */
import { SdsSession } from './sds-session';
import { SECRET_TYPE_URL, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type XdsResource } from './sds-protocol';

interface Subscription {
  /** Version the client holds (ACKed, or announced in initial_resource_versions). */
  held?: string;
  /** Version last sent and not yet ACKed or NACKed. */
  inFlight?: string;
  /** Version the client NACKed: not pushed again (a new subscription to the name is answered anew). */
  rejected?: string;
}

const WILDCARD = '*';
/**
 * Responses awaiting an ACK or NACK, at most. Envoy answers each at once; a
 * client that never does must not grow the map without bound (its oldest
 * unanswered responses are forgotten: their names stay as sent).
 */
const PENDING_MAX = 1024;

export class DeltaSession extends SdsSession<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  private readonly names = new Map<string, Subscription>();
  /** nonce -> the name/version pairs that response carried. */
  private readonly pending = new Map<string, Array<[string, string]>>();
  private nonceCounter = 0;
  private first = true;

  refreshAll(): void {
    this.refresh([...this.names.keys()]);
  }

  protected onRenewalDue(name: string): void {
    this.refresh([name]);
  }

  protected onRequest(request: DeltaDiscoveryRequest): void {
    if (this.first) {
      this.first = false;
      for (const [name, version] of Object.entries(request.initial_resource_versions ?? {})) this.names.set(name, { held: version });
    }
    if (request.response_nonce) this.onAnswer(request.response_nonce, request.error_detail?.message);
    for (const name of request.resource_names_unsubscribe ?? []) {
      this.names.delete(name);
      this.renewals.cancel(name);
    }
    const subscribed: string[] = [];
    for (const name of request.resource_names_subscribe ?? []) {
      if (name === WILDCARD) continue;
      const subscription = this.names.get(name) ?? {};
      subscription.rejected = undefined;
      this.names.set(name, subscription);
      subscribed.push(name);
    }
    if (subscribed.length > 0) this.respond(subscribed, true);
  }

  /** ACK or NACK of one response. An unknown nonce (already answered, or never sent) changes nothing. */
  private onAnswer(nonce: string, error: string | undefined): void {
    const carried = this.pending.get(nonce);
    if (carried === undefined) return;
    this.pending.delete(nonce);
    for (const [name, version] of carried) {
      const subscription = this.names.get(name);
      if (subscription === undefined) continue;
      if (subscription.inFlight === version) subscription.inFlight = undefined;
      if (error === undefined) subscription.held = version;
      else subscription.rejected = version;
    }
    if (error !== undefined)
      this.logNack(
        'delta',
        error,
        carried.map(([name]) => name),
      );
  }

  /** Re-resolve names and push those whose leaf changed from what the client holds or was sent. */
  private refresh(names: string[]): void {
    if (this.closed) return;
    this.respond(
      names.filter((name) => this.names.has(name)),
      false,
    );
  }

  /**
   * Sends one response for `names`. `answerAll`: every name is answered
   * (subscriptions; rule 2), except those the client announced holding at
   * the same version (rule 4); otherwise only names whose version changed.
   */
  private respond(names: string[], answerAll: boolean): void {
    const resources: XdsResource[] = [];
    const removed: string[] = [];
    const carried: Array<[string, string]> = [];
    for (const name of names) {
      const subscription = this.names.get(name)!;
      const resolution = this.context.source.resolve(this.context.caRef, name);
      if (!resolution.ok) {
        this.renewals.cancel(name);
        if (answerAll || subscription.held !== undefined || subscription.inFlight !== undefined) {
          removed.push(name);
          subscription.held = undefined;
          subscription.inFlight = undefined;
        }
        continue;
      }
      this.renewals.schedule(name, resolution.renewAt);
      const known = subscription.inFlight ?? subscription.held;
      if (known === resolution.version || (!answerAll && subscription.rejected === resolution.version)) continue;
      resources.push({ name, version: resolution.version, resource: resolution.resource });
      subscription.inFlight = resolution.version;
      carried.push([name, resolution.version]);
    }
    if (resources.length === 0 && removed.length === 0) return;
    const nonce = `${this.context.streamId}-${++this.nonceCounter}`;
    if (carried.length > 0) {
      this.pending.set(nonce, carried);
      if (this.pending.size > PENDING_MAX) this.pending.delete(this.pending.keys().next().value!);
    }
    this.call.write({
      system_version_info: `ca:${this.context.caRef || '(default)'}`,
      resources,
      type_url: SECRET_TYPE_URL,
      nonce,
      removed_resources: removed,
    });
  }
}
