/**
 * The default configuration, for a command's own help text and for tests. It
 * is derived from the option table (src/config/options.ts), never a second
 * list; the service's parts receive their values from the RuntimeConfig they
 * are given, not from here.
 */
import { defaultConfig, type RuntimeConfig } from './runtime-config';

export const DEFAULTS: Readonly<RuntimeConfig> = Object.freeze(defaultConfig());
