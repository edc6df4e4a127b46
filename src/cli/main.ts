/**
 * `egress-capture` command line: thin dispatch to the commands. main() takes
 * argv and streams and returns an exit status, so tests call it directly.
 *
 *   serve      run the capture service (npm start)
 *   query      run SQL against the store (through a running server's admin port when there is one)
 *   schema     print the remote table's DDL for given cluster options
 *   translate  EgressGateway/Backend/TCPRoute → Envoy Gateway resources or an Envoy bootstrap
 *   ca init    a new CA for TLS interception
 */
import { PRODUCT_VERSION } from '../product-version';

export interface CommandIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const USAGE = `usage: egress-capture <command> [options]

commands:
  serve       run the ext_proc capture service (see --help for options)
  query       egress-capture query [--data-dir DIR | --admin URL | --clickhouse-url URL] "SQL"   (prints JSONEachRow)
  status      egress-capture status [--admin URL | --data-dir DIR] [--json]   (spool and per-sink delivery)
  replay      egress-capture replay --since TIME [--until TIME] [--endpoint URL]   (re-export stored exchanges as OTLP logs)
  schema      egress-capture schema [--cluster NAME] [--engine ENGINE] [--distributed] [--migrations]   (the remote table's DDL)
  translate   egress-capture translate -f FILE... [--target envoy-gateway|envoy] [--capture-service NS/NAME:PORT] [--status]
  ca init     egress-capture ca init --out DIR [--name TEXT] [--key-type ecdsa|rsa]   (a CA for intercepting HTTPS)
  version     print the version and the Node.js runtime
`;

/**
 * Each command's module is loaded when that command runs, so a command pays
 * only for its own dependencies: `egress-capture version` starts in ~30 ms
 * instead of ~250, and `serve` does not hold the translator or the replay
 * exporter.
 */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return (require('./serve-command') as typeof import('./serve-command')).runServeCommand(rest, io);
    case 'query':
      return (require('./query-command') as typeof import('./query-command')).runQueryCommand(rest, io);
    case 'status':
      return (require('./status-command') as typeof import('./status-command')).runStatusCommand(rest, io);
    case 'replay':
      return (require('./replay-command') as typeof import('./replay-command')).runReplayCommand(rest, io);
    case 'schema':
      return (require('./schema-command') as typeof import('./schema-command')).runSchemaCommand(rest, io);
    case 'translate':
      return (require('./translate-entry') as typeof import('./translate-entry')).runTranslate(rest, io);
    case 'ca':
      return (require('./ca-command') as typeof import('./ca-command')).runCaCommand(rest, io);
    case 'version':
    case '--version':
      io.stdout.write(`egress-capture ${PRODUCT_VERSION} (node ${process.version})\n`);
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

if (require.main === module) {
  main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`egress-capture: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
