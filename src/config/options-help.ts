/** `serve --help`, written from the option table. */
import { FLAG_OPTIONS, defaultShown, type FlagEntry } from './options';

/** The unit a key names (…Bytes, …Ms, …Seconds, …Days, …Percent), for a bare number. */
const UNITS: Array<[RegExp, string]> = [
  [/Bytes$/, 'bytes'],
  [/Ms$/, 'ms'],
  [/Seconds$/, 's'],
  [/Days$/, 'days'],
  [/Percent$/, '%'],
];

function shownWithUnit({ key, spec }: FlagEntry): string {
  const shown = defaultShown(spec);
  if (shown === '—') return 'none';
  if (!/^\d+$/.test(shown)) return shown;
  const unit = UNITS.find(([pattern]) => pattern.test(key))?.[1];
  return unit === undefined ? shown : `${shown} ${unit}`;
}

export function optionsHelp(): string {
  const lines = FLAG_OPTIONS.map((entry) => {
    const value = entry.spec.switch === true ? '' : ' VALUE';
    return `  --${`${entry.spec.flag}${value}`.padEnd(34)} ${entry.spec.doc}\n  ${''.padEnd(36)} default ${shownWithUnit(entry)}; env ${entry.env}`;
  });
  return `Precedence: flags > environment > --gateway manifest > defaults.\n\n${lines.join('\n')}\n`;
}
