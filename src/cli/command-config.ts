/**
 * The configuration of every command: `serve`'s options (flags > environment >
 * --gateway manifest > defaults, the same loader and validation), beside the
 * command's own flags. `query`, `status` and `replay` thereby read
 * --data-dir, --clickhouse-url, --admin-user/--admin-password and their
 * environment twins exactly as the server does.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type GatewayContribution } from '../config/load-config';
import { FLAG_OPTIONS } from '../config/options';
import type { RuntimeConfig } from '../config/runtime-config';
import { parseAdminUrl } from './admin-client';
import { commandError } from './command-error';

export function gatewayContribution(file: string): GatewayContribution {
  // The manifest reader (YAML, schema validation) is loaded only when --gateway is given.
  const { loadGatewayCaptureSettings } = require('../gateway') as typeof import('../gateway');
  const settings = loadGatewayCaptureSettings(file);
  return {
    gatewayName: settings.gatewayName,
    gatewayNamespace: settings.gatewayNamespace,
    maxBytes: settings.captureBody.maxBytes,
    includeContentTypes: settings.captureBody.includeContentTypes,
    otlpEndpoint: settings.otlp.endpoint,
    otlpHeaders: settings.otlp.headers,
  };
}

type OwnOptions = NonNullable<ParseArgsConfig['options']>;

export interface CommandArgs<V> {
  /** The command's own flags. */
  values: V;
  positionals: string[];
  /** Everything else, for loadCommandConfig: serve options, and unknown flags it reports. */
  configArgv: string[];
}

/**
 * Splits argv into the command's own flags and serve's options. Serve's
 * string options take their value here too, so `--data-dir DIR "SQL"` leaves
 * the SQL alone as the positional. `aliases` renames a command's older
 * spelling of a serve option (query's --user is --admin-user).
 */
export function splitCommandArgs<V>(argv: string[], own: OwnOptions, aliases: Record<string, string> = {}): CommandArgs<V> {
  const serveOptions: OwnOptions = {};
  for (const { spec } of FLAG_OPTIONS) if (!(spec.flag in own)) serveOptions[spec.flag] = { type: spec.switch === true ? 'boolean' : 'string' };
  for (const alias of Object.keys(aliases)) serveOptions[alias] = { type: 'string' };
  const parsed = parseArgs({ args: argv, options: { ...serveOptions, ...own }, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const configArgv: string[] = [];
  const positionals: string[] = [];
  for (const token of parsed.tokens ?? []) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    if (token.name in own) {
      const spec = own[token.name]!;
      if (spec.type === 'boolean') values[token.name] = true;
      else if (token.value === undefined) throw new TypeError(`--${token.name}: value expected`);
      else values[token.name] = token.value;
    } else {
      const name = aliases[token.name] ?? token.name;
      configArgv.push(token.value === undefined ? `--${name}` : `--${name}=${token.value}`);
    }
  }
  return { values: values as V, positionals, configArgv };
}

/** The validated configuration, or throws CaptureError CAP_ERR_CONFIG_INVALID naming every bad field. */
export function loadCommandConfig(configArgv: string[], env: NodeJS.ProcessEnv): RuntimeConfig {
  return loadConfig({ argv: configArgv, env, loadGateway: gatewayContribution });
}

/** `--admin URL` when given, and the configuration; or what is wrong with them (the command exits 2). */
export function readAdminAndConfig(adminRaw: string | undefined, configArgv: string[], env: NodeJS.ProcessEnv): { admin: URL | undefined; config: RuntimeConfig } | { error: string } {
  const admin = adminRaw === undefined ? undefined : parseAdminUrl(adminRaw);
  if (admin !== undefined && !(admin instanceof URL)) return admin;
  try {
    return { admin, config: loadCommandConfig(configArgv, env) };
  } catch (err) {
    return { error: commandError(err) };
  }
}
