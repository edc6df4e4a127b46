/**
 * The capture service's runtime configuration: plain values, no Kubernetes
 * or Envoy types. The options and their defaults are declared once, in
 * src/config/options.ts; what is read from files and what follows from other
 * values is added here, computed once (deriveConfig) so no part of the
 * service recomputes or re-declares it.
 */
import type { BodyRedactorOptions } from '../processing/redaction/body-redactor';
import type { ProviderMappingEntry } from '../processing/genai/provider-detection';
import { BUILT_IN_REDACT_HEADERS, optionDefaults, type OptionValues } from './options';

export type { ListenAddress, UnixSocketAddress } from '../listen-address';

/** What the files named by options hold, validated at load. */
export interface LoadedSettings {
  /** Gateway identity from --gateway ('' when none). */
  gatewayName: string;
  gatewayNamespace: string;
  /** OTLP export from the gateway manifest's spec.otlp ('' endpoint = no export). */
  otlpEndpoint: string;
  otlpHeaders: Record<string, string>;
  /** Parsed from providerMappingFile. */
  providerMapping: ProviderMappingEntry[];
  /** Parsed from bodyRedactionRulesFile. */
  bodyRedactionRules: BodyRedactorOptions;
  /** The capture policy file in force (validated): --capture-policy, else capture-policy.yaml beside --gateway; '' = none, everything in full. */
  capturePolicyPath: string;
}

/** The limits a folded exchange is kept within. */
export interface FoldLimits {
  /** Folded output text kept (bytes of UTF-8): as much as a body. */
  outputTextMaxBytes: number;
  /** Arguments kept per tool call (bytes of UTF-8). */
  toolArgsMaxBytes: number;
  /** Largest single SSE event / JSON document folded, bytes. */
  maxEventBytes: number;
}

/** Values that follow from the others. */
export interface DerivedSettings {
  /** Lower-cased: the built-in list and extraRedactHeaders. */
  redactHeaders: string[];
  /** Bytes of a long body kept from its start; the rest of maxBytes keeps its end. */
  headBytes: number;
  /** Worker state of an exchange untouched this long is dropped (its finish never came). */
  staleStateMs: number;
  foldLimits: FoldLimits;
}

/** What a configuration is made from: the options and the files' contents. */
export type ConfigInput = OptionValues & LoadedSettings;

export type RuntimeConfig = ConfigInput & DerivedSettings;

export function deriveConfig(input: ConfigInput): RuntimeConfig {
  return {
    ...input,
    redactHeaders: [...new Set([...BUILT_IN_REDACT_HEADERS, ...input.extraRedactHeaders.map((name) => name.toLowerCase())])],
    headBytes: Math.floor((input.maxBytes * (100 - input.bodyTailPercent)) / 100),
    // Long enough that only an exchange whose finish was lost (a crashed stream) is ever dropped.
    staleStateMs: 2 * input.streamIdleTimeoutMs + input.workerStateGraceMs,
    foldLimits: {
      outputTextMaxBytes: Math.max(input.maxBytes, 1),
      toolArgsMaxBytes: Math.max(Math.min(input.maxBytes, input.toolArgsMaxBytes), 1),
      maxEventBytes: input.maxEventBytes,
    },
  };
}

export function noLoadedSettings(): LoadedSettings {
  return { gatewayName: '', gatewayNamespace: '', otlpEndpoint: '', otlpHeaders: {}, providerMapping: [], bodyRedactionRules: {}, capturePolicyPath: '' };
}

/** The defaults with some values replaced, derived values recomputed (tests and embedders). */
export function configWith(overrides: Partial<ConfigInput> = {}): RuntimeConfig {
  return deriveConfig({ ...optionDefaults(), ...noLoadedSettings(), ...overrides });
}

export function defaultConfig(): RuntimeConfig {
  return configWith();
}
