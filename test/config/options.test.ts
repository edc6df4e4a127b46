import { FLAG_OPTIONS, OPTIONS, defaultShown, optionDefaults } from '../../src/config/options';
import { optionsHelp } from '../../src/config/options-help';
import { isParseError } from '../../src/config/option-parsers';
import { loadConfig } from '../../src/config/load-config';

describe('the option table', () => {
  // A default shown in --help and the README is what the flag takes: given back, it yields the same value.
  it.each(FLAG_OPTIONS.filter(({ spec }) => defaultShown(spec) !== '—' && !defaultShown(spec).startsWith('(')).map((entry) => [entry.spec.flag, entry]))(
    '--%s takes its own default as shown',
    (_flag, { spec }) => {
      const parsed = spec.parse(defaultShown(spec));
      expect(isParseError(parsed)).toBe(false);
      expect(parsed).toEqual(spec.default);
    },
  );

  it.each(FLAG_OPTIONS.map((entry) => [entry.spec.flag, entry]))('--%s: its environment variable sets it, the flag wins over it', (_flag, { spec, env }) => {
    if (defaultShown(spec) === '—' || defaultShown(spec).startsWith('(')) return;
    const shown = defaultShown(spec);
    expect(loadConfig({ argv: [], env: { [env]: shown } })[FLAG_OPTIONS.find((entry) => entry.env === env)!.key]).toEqual(spec.default);
  });

  it('serve --help lists every flag with its default and environment variable', () => {
    const help = optionsHelp();
    for (const { spec, env } of FLAG_OPTIONS) {
      const shown = defaultShown(spec) === '—' ? 'none' : defaultShown(spec);
      expect(help).toMatch(new RegExp(`--${spec.flag}\\b[^\\n]*\\n\\s+default ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( [a-z%]+)?; env ${env}\\n`));
    }
    // Numbers carry the unit their key names.
    expect(help).toMatch(/--max-bytes VALUE[^\n]*\n\s+default 65536 bytes; env/);
    expect(help).toMatch(/--drain-timeout-ms VALUE[^\n]*\n\s+default 15000 ms; env/);
  });

  it('gives each caller its own copy of the defaults', () => {
    const first = optionDefaults();
    first.includeContentTypes.push('text/plain');
    first.grpcListen = { unixPath: '/x' };
    expect(optionDefaults().includeContentTypes).toEqual(OPTIONS.includeContentTypes.default);
    expect(OPTIONS.includeContentTypes.default).not.toContain('text/plain');
  });

  it('computes the derived values once, from the values in effect', () => {
    const config = loadConfig({ argv: ['--max-bytes', '8192', '--body-tail-percent', '50', '--stream-idle-timeout-ms', '10000'], env: {} });
    expect(config.headBytes).toBe(4096);
    expect(config.foldLimits).toEqual({ outputTextMaxBytes: 8192, toolArgsMaxBytes: 8192, maxEventBytes: OPTIONS.maxEventBytes.default });
    expect(config.staleStateMs).toBe(2 * 10_000 + OPTIONS.workerStateGraceMs.default);
    expect(loadConfig({ argv: [], env: {} }).foldLimits.toolArgsMaxBytes).toBe(OPTIONS.toolArgsMaxBytes.default);
  });
});
