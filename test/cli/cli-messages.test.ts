/**
 * Every subcommand answers --help, and a bad --admin names the value and the
 * expected form instead of "Invalid URL" or "fetch failed".
 */
import { closedPort, runInProcess } from './cli-helpers';

const cli = (args: string[]) => runInProcess(args);

const ADMIN_COMMANDS: Array<[string, string[]]> = [
  ['query', ['SELECT 1']],
  ['status', []],
  ['replay', ['--since', '-1h', '--endpoint', 'http://127.0.0.1:4318']],
];

describe('egress-capture subcommands', () => {
  it.each(['serve', 'query', 'status', 'replay', 'translate', 'ca', 'ca init'])('%s --help prints its usage on stdout and exits 0', async (command) => {
    for (const flag of ['--help', '-h']) {
      const result = await cli([...command.split(' '), flag]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`egress-capture ${command.split(' ')[0]}`);
      expect(result.stderr).toBe('');
    }
  });

  it.each(ADMIN_COMMANDS)('%s --admin not-a-url names the value and the expected form', async (command, rest) => {
    const result = await cli([command, '--admin', 'not-a-url', ...rest]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--admin: "not-a-url" expected http://HOST:PORT');
  });

  it('never echoes credentials of a bad --admin', async () => {
    const result = await cli(['query', '--admin', 'http://ops:s3cret@', 'SELECT 1']);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('s3cret');
  });

  it.each(ADMIN_COMMANDS)('%s --admin to a closed port says where it tried and why', async (command, rest) => {
    const port = await closedPort();
    const result = await cli([command, '--admin', `http://127.0.0.1:${port}`, ...rest]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the admin port at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(result.stderr).not.toContain('fetch failed');
  });
});
