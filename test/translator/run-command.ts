// Test helper: runs the translate command in-process with string stdin and captured output.
import { Readable, Writable } from 'node:stream';
import { runTranslateCommand } from '../../src/translator/translate-command';

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export async function runTranslate(argv: string[], stdinText = ''): Promise<CommandRun> {
  const stdout = collector();
  const stderr = collector();
  const code = await runTranslateCommand(argv, { stdin: Readable.from([stdinText]), stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** "# args: --target envoy" on the first line of a fixture's in.yaml. */
export function fixtureArgs(inputText: string): string[] {
  const first = inputText.split('\n', 1)[0];
  const match = /^# args:(.*)$/.exec(first);
  return match ? match[1].trim().split(/\s+/).filter(Boolean) : [];
}
