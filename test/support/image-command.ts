/**
 * The command deploy/Dockerfile's final stage runs, read from the file
 * itself, so the tests and the bench start the service exactly as the image
 * does (its Node flags included) without a second copy of them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DOCKERFILE = path.resolve(__dirname, '..', '..', '..', 'deploy', 'Dockerfile');

export interface ImageCommand {
  workdir: string;
  /** ENTRYPOINT in exec (JSON) form: `node`, its flags, the script. */
  entrypoint: string[];
  cmd: string[];
}

/** ENTRYPOINT and CMD of the Dockerfile's final stage, in exec (JSON) form. */
export function imageCommand(dockerfile = DOCKERFILE): ImageCommand {
  const stages = fs.readFileSync(dockerfile, 'utf8').split(/^FROM /m);
  const last = stages[stages.length - 1]!;
  const instruction = (name: string): string[] => {
    const match = new RegExp(`^${name}\\s+(\\[.*\\])\\s*$`, 'm').exec(last);
    return match ? (JSON.parse(match[1]!) as string[]) : [];
  };
  const workdir = /^WORKDIR\s+(\S+)/m.exec(last)?.[1] ?? '/';
  return { workdir, entrypoint: instruction('ENTRYPOINT'), cmd: instruction('CMD') };
}

/** The Node flags the image starts the CLI with (between `node` and the script). */
export function imageNodeFlags(image: ImageCommand = imageCommand()): string[] {
  return image.entrypoint.slice(1).filter((arg) => arg.startsWith('-'));
}
