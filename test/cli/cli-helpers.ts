/** Helpers of the CLI tests. */
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main';
import { freePort } from '../support/listen-port';

/** Runs the CLI's main() in this process with captured output (no child process, no wrapper). */
export async function runInProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await main(args, { stdin: new PassThrough(), stdout, stderr, env });
  return { code, stdout: out, stderr: err };
}

/** A port nothing listens on: bound, then released (the same as a free port for a server). */
export const closedPort = freePort;
