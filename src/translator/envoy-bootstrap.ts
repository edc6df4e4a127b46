// Standalone Envoy bootstrap (placeholder until implemented).
import { GatewayPlan } from './gateway-plan';
import { TranslateOptions } from './options';
import { OutputObject } from './output-object';

export function buildEnvoyBootstrap(plans: GatewayPlan[], options: TranslateOptions, warnings: string[]): OutputObject {
  void plans;
  void options;
  void warnings;
  throw new Error('not implemented');
}
