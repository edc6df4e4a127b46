/**
 * `egress-capture` command line: thin dispatch to the commands. main() takes
 * argv and streams and returns an exit status, so tests call it directly.
 *
 *   serve      run the capture service (npm start)
 *   query      run SQL against the store (through a running server's admin port when there is one)
 *   translate  EgressGateway/Backend/TCPRoute → Envoy Gateway resources or an Envoy bootstrap
 */
import { runQueryCommand } from './query-command';
import { runReplayCommand } from './replay-command';
import { runServeCommand } from './serve-command';
import { runStatusCommand } from './status-command';
import { runTranslate } from './translate-entry';

export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const USAGE = `usage: egress-capture <command> [options]

commands:
  serve       run the ext_proc capture service (see --help for options)
  query       egress-capture query [--data-dir DIR | --admin URL] "SQL"   (prints JSONEachRow)
  status      egress-capture status [--admin URL | --data-dir DIR] [--json]   (spool and per-sink delivery)
  replay      egress-capture replay --since TIME [--until TIME] [--endpoint URL]   (re-export stored exchanges as OTLP logs)
  translate   egress-capture translate -f FILE... [--target envoy-gateway|envoy] [--capture-service NS/NAME:PORT] [--status]
  version     print the version and the Node.js runtime
`;

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServeCommand(rest, io);
    case 'query':
      return runQueryCommand(rest, io);
    case 'status':
      return runStatusCommand(rest, io);
    case 'replay':
      return runReplayCommand(rest, io);
    case 'translate':
      return runTranslate(rest, io);
    case 'version':
    case '--version':
      io.stdout.write(`egress-capture ${packageVersion()} (node ${process.version})\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr.write(`egress-capture: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

function packageVersion(): string {
  // dist/src/cli/main.js → repo root package.json
  return (require('../../../package.json') as { version: string }).version;
}

if (require.main === module) {
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`egress-capture: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
