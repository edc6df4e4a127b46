/** `serve --help`, written from the option table. */
import { FLAG_OPTIONS, defaultShown } from './options';

export function optionsHelp(): string {
  const lines = FLAG_OPTIONS.map(({ spec, env }) => {
    const shown = defaultShown(spec) === '—' ? 'none' : defaultShown(spec);
    const value = spec.switch === true ? '' : ' VALUE';
    return `  --${`${spec.flag}${value}`.padEnd(34)} ${spec.doc}\n  ${''.padEnd(36)} default ${shown}; env ${env}`;
  });
  return `Precedence: flags > environment > --gateway manifest > defaults.\n\n${lines.join('\n')}\n`;
}
