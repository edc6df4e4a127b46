/** `egress-capture translate`: the translator module owns the command. */
import type { CommandIo } from './main';

type TranslateCommand = (argv: string[], io: CommandIo) => Promise<number>;

export async function runTranslate(argv: string[], io: CommandIo): Promise<number> {
  // Required on demand so that `serve` does not load the translator's schemas at start-up.
  const { runTranslateCommand } = require('../translator/translate-command') as { runTranslateCommand: TranslateCommand };
  return runTranslateCommand(argv, io);
}
