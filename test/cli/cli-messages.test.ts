/**
 * Every subcommand answers --help, and a bad --admin names the value and the
 * expected form instead of "Invalid URL" or "fetch failed".
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SERVER_INFO_FILE } from '../../src/service/capture-service';
import { SinkAccounting } from '../../src/sinks/delivery/sink-accounting';
import { Spool } from '../../src/spool/spool';
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

describe('status after a crash', () => {
  it('reads the data directory when the server it names does not answer, though its pid is alive', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-status-crash-'));
    try {
      const spool = Spool.open({ dir: path.join(dataDir, 'spool'), segmentMaxBytes: 1024 * 1024, maxBytes: 64 * 1024 * 1024, fsyncIntervalMs: 0 });
      spool.registerConsumer('clickhouse', new SinkAccounting('clickhouse'));
      spool.append(JSON.stringify({ CaptureId: 'before-the-crash' }) + '\n');
      spool.close();
      // What a kill -9 leaves: the server file, naming a pid that lives on (here: this process) and a port nobody answers.
      const port = await closedPort();
      fs.writeFileSync(path.join(dataDir, SERVER_INFO_FILE), JSON.stringify({ pid: process.pid, adminUrl: `http://127.0.0.1:${port}`, grpcAddress: '127.0.0.1:1' }));
      const result = await runInProcess(['status', '--data-dir', dataDir]);
      expect(result.stderr).toContain(`the server recorded in ${dataDir} does not answer at http://127.0.0.1:${port}; reading the data directory`);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/1 record/);
      // An --admin the user named is not second-guessed: it is reported as unreachable.
      const named = await runInProcess(['status', '--admin', `http://127.0.0.1:${port}`]);
      expect(named.code).toBe(1);
      expect(named.stderr).toContain(`cannot reach the admin port at http://127.0.0.1:${port} (ECONNREFUSED)`);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
