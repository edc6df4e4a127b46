/**
 * --shutdown-delay-ms: after SIGTERM the service keeps capturing new ext_proc
 * calls for the delay (Envoy has not yet learnt that the pod left its
 * Service), with its gRPC health already NOT_SERVING; then it drains and
 * exits 0 with every exchange stored, the ones that came during the delay
 * included.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { rawClient } from '../support/raw-extproc-client';
import { BIN, REPO_ROOT, simpleExchange, sleep, startService } from './service-process';

it('captures calls that arrive during the delay, then drains and keeps them all', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-shutdown-delay-'));
  const service = await startService(dataDir, ['--shutdown-delay-ms', '3000', '--batch-max-delay-ms', '50']);
  const client = rawClient(service.grpc);
  try {
    await simpleExchange(client, 'delay.test', 'before-term');
    const termAt = Date.now();
    service.child.kill('SIGTERM');
    await sleep(500);
    expect(service.child.exitCode).toBeNull();
    // Taken and answered like any other call, not refused.
    await simpleExchange(client, 'delay.test', 'during-delay');
    expect(await service.exited).toBe(0);
    // It waited out the delay before draining (a lower bound only: a loaded machine may take longer).
    expect(Date.now() - termAt).toBeGreaterThanOrEqual(2900);
    const out = execFileSync(process.execPath, [BIN, 'query', '--data-dir', dataDir, "SELECT RequestId FROM http_exchanges WHERE Authority = 'delay.test' ORDER BY RequestId"], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(
      out
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { RequestId: string }).RequestId),
    ).toEqual(['before-term', 'during-delay']);
  } finally {
    client.close();
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
