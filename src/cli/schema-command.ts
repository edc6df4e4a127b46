/**
 * `egress-capture schema [--cluster NAME] [--engine ENGINE] [--distributed] …`:
 * prints the DDL the service would run on a remote ClickHouse with the same
 * options, so a DBA can review and apply it by hand (then serve with
 * --no-create-schema). Connects to nothing.
 *
 * The options are serve's own (--clickhouse-cluster …, same parsers, same env
 * twins, so run in the pod's environment it prints what the pod would create);
 * each may drop its `clickhouse-` prefix here, where every option is about
 * ClickHouse.
 */
import { parseArgs } from 'node:util';
import { STORE_LAYOUT_KEYS, storeLayoutProblems } from '../config/load-config';
import { defaultShown, FLAG_OPTIONS, optionDefaults, type OptionValues } from '../config/options';
import { isParseError } from '../config/option-parsers';
import { TABLE_DEFINITION } from '../sinks/clickhouse/schema';
import { createStatements, layoutFromOptions, migrationStatements } from '../sinks/clickhouse/table-layout';
import type { CommandIo } from './main';

const ENTRIES = FLAG_OPTIONS.filter((entry) => (STORE_LAYOUT_KEYS as readonly string[]).includes(entry.key) || entry.key === 'ttlDays');

function shortFlag(flag: string): string {
  return flag.replace(/^clickhouse-/, '');
}

function usage(): string {
  const lines = ENTRIES.map(
    ({ spec, env }) => `  --${`${shortFlag(spec.flag)}${spec.switch === true ? '' : ' VALUE'}`.padEnd(24)} ${spec.doc} (${defaultShown(spec)})\n  ${''.padEnd(26)} (serve: --${spec.flag}, env ${env})`,
  );
  return `usage: egress-capture schema [options] [--migrations]

Prints the DDL for the http_exchanges table on a remote ClickHouse with these options, to review
and apply by hand (in the database of --clickhouse-url), then serve with --no-create-schema.

${lines.join('\n')}
  --migrations               also print the idempotent ALTER statements that bring an older table up to date
`;
}

export async function runSchemaCommand(argv: string[], io: CommandIo): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { migrations: { type: 'boolean' }, help: { type: 'boolean' } };
  for (const { spec } of ENTRIES) {
    options[spec.flag] = { type: spec.switch === true ? 'boolean' : 'string' };
    options[shortFlag(spec.flag)] = options[spec.flag]!;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }));
  } catch (err) {
    io.stderr.write(`egress-capture schema: ${(err as Error).message}\n${usage()}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout.write(usage());
    return 0;
  }
  const config = optionDefaults();
  const problems: string[] = [];
  for (const { key, spec, env } of ENTRIES) {
    const fromFlag = values[spec.flag] ?? values[shortFlag(spec.flag)];
    const raw = fromFlag ?? io.env[env];
    if (raw === undefined || raw === '') continue;
    const parsed = spec.parse(String(raw));
    if (isParseError(parsed)) {
      problems.push(`${fromFlag !== undefined ? `--${shortFlag(spec.flag)}` : `${env} (env)`}: "${String(raw)}" ${parsed.error}`);
      continue;
    }
    (config as unknown as Record<string, unknown>)[key] = parsed;
  }
  problems.push(...storeLayoutProblems(config).map((problem) => problem.replace(/--clickhouse-/g, '--')));
  if (problems.length > 0) {
    io.stderr.write(`egress-capture: CAP_ERR_CONFIG_INVALID: invalid configuration:\n  ${problems.join('\n  ')}\n`);
    return 2;
  }
  io.stdout.write(schemaScript(config, values.migrations === true));
  return 0;
}

/** The statements, each ending in `;`, after a comment saying what they are for. */
export function schemaScript(config: Pick<OptionValues, (typeof STORE_LAYOUT_KEYS)[number] | 'ttlDays'>, withMigrations: boolean): string {
  const layout = layoutFromOptions(config);
  const statements = createStatements(TABLE_DEFINITION, layout, config.ttlDays);
  if (withMigrations) statements.push(...migrationStatements(TABLE_DEFINITION, layout, config.ttlDays));
  const described = [
    layout.cluster === '' ? 'one server' : `cluster ${layout.cluster}`,
    layout.engine,
    ...(layout.distributed ? ['Distributed'] : []),
    config.ttlDays > 0 ? `TTL ${config.ttlDays} days (a row's own RetentionDays wins)` : 'TTL only for rows with a RetentionDays of their own',
  ].join(', ');
  return `-- egress-capture table for ${described}; run in the database of --clickhouse-url.\n\n${statements.map((statement) => `${statement};\n`).join('\n')}`;
}
