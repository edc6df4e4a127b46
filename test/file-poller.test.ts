/**
 * FilePoller: what the certificate listeners and the capture policy rely on
 * to see a file change under a running service.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FilePoller } from '../src/file-poller';
import { waitFor } from './emulator/wait-for';

let dir: string;
const pollers: FilePoller[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-capture-poller-'));
});

afterEach(() => {
  for (const poller of pollers.splice(0)) poller.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function pollerOf(files: string[]): FilePoller {
  const poller = new FilePoller(files);
  pollers.push(poller);
  return poller;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a change written after the poller was made, before it started, is reported', async () => {
  const file = path.join(dir, 'tls.crt');
  fs.writeFileSync(file, 'first');
  const poller = pollerOf([file]);
  // What a rotation does between the service reading its files and its watch starting.
  fs.writeFileSync(file, 'second, longer');
  let changes = 0;
  poller.start(20, () => (changes += 1));
  await waitFor(() => changes === 1, 5_000);
  // Reported once: the next polls see what was last seen.
  await sleep(100);
  expect(changes).toBe(1);
});

test('nothing changed: nothing reported; a file removed and one put back: both reported', async () => {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  fs.writeFileSync(cert, 'cert');
  fs.writeFileSync(key, 'key');
  const poller = pollerOf([cert, key]);
  let changes = 0;
  poller.start(20, () => (changes += 1));
  await sleep(150);
  expect(changes).toBe(0);
  fs.rmSync(key);
  await waitFor(() => changes === 1, 5_000);
  fs.writeFileSync(key, 'key');
  await waitFor(() => changes === 2, 5_000);
});

test('a swapped symlink (how Kubernetes updates a mounted Secret) is a change; close() stops the polling', async () => {
  fs.mkdirSync(path.join(dir, 'v1'));
  fs.mkdirSync(path.join(dir, 'v2'));
  fs.writeFileSync(path.join(dir, 'v1', 'tls.crt'), 'same');
  fs.writeFileSync(path.join(dir, 'v2', 'tls.crt'), 'same');
  fs.symlinkSync('v1', path.join(dir, '..data'));
  const file = path.join(dir, '..data', 'tls.crt');
  const poller = pollerOf([file]);
  let changes = 0;
  poller.start(20, () => (changes += 1));
  fs.symlinkSync('v2', path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  await waitFor(() => changes === 1, 5_000);
  poller.close();
  fs.writeFileSync(path.join(dir, 'v2', 'tls.crt'), 'changed after close');
  await sleep(150);
  expect(changes).toBe(1);
});
