// Everything the per-kind builders need about the gateway being translated, plus the sink for
// "cannot be expressed" notes (they become both an output comment and a command warning).
import { EgressGateway } from '../gateway';
import { GatewayPlan } from './gateway-plan';
import { childName, gatewayObjectName } from './naming';
import { TranslateOptions } from './options';

export interface GatewayContext {
  plan: GatewayPlan;
  gateway: EgressGateway;
  namespace: string;
  /** Name of the generated Gateway (and EnvoyProxy): egc-<name>. */
  objectName: string;
  options: TranslateOptions;
  child(...parts: Array<string | number>): string;
  /** Record a limitation: returns the comment line and queues the warning. */
  note(message: string): string;
}

export function createGatewayContext(plan: GatewayPlan, options: TranslateOptions, warnings: string[]): GatewayContext {
  const gateway = plan.gateway.resource;
  const label = `EgressGateway ${gateway.metadata.namespace}/${gateway.metadata.name}`;
  return {
    plan,
    gateway,
    namespace: gateway.metadata.namespace,
    objectName: gatewayObjectName(gateway.metadata.name),
    options,
    child: (...parts) => childName(gateway.metadata.name, ...parts),
    note(message: string): string {
      warnings.push(`${label}: ${message}`);
      return `NOTE: ${message}`;
    },
  };
}
