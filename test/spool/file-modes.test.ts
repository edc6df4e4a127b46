/**
 * What the spool and the in-flight journal put on disk holds captured
 * traffic: files 0600, folders 0700, whatever the process umask, and a
 * folder an older version made 0755 is narrowed when it is opened.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SinkAccounting } from '../../src/sinks/delivery/sink-accounting';
import { InflightJournal } from '../../src/spool/inflight-journal';
import { Spool } from '../../src/spool/spool';

const roots: string[] = [];
let umask: number;
beforeAll(() => {
  // The most permissive umask: the modes must come from the code, not from the environment.
  umask = process.umask(0);
});
afterAll(() => {
  process.umask(umask);
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function modesUnder(dir: string): Array<{ file: string; mode: number }> {
  return fs.readdirSync(dir).map((name) => ({ file: name, mode: mode(path.join(dir, name)) }));
}

test('spool segments, meta and cursor files are 0600 in a 0700 folder', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-modes-'));
  roots.push(root);
  const dir = path.join(root, 'data', 'spool');
  const spool = Spool.open({ dir, segmentMaxBytes: 1024, maxBytes: 1024 * 1024, fsyncIntervalMs: 0 });
  const consumer = spool.registerConsumer('ch', new SinkAccounting('ch'));
  // Enough rows for a rotation, so sealed and active segments are both there.
  for (let i = 0; i < 20; i++) spool.append(JSON.stringify({ CaptureId: `cap-${i}`, RequestBody: 'x'.repeat(100) }) + '\n');
  const batch = await consumer.next(5, 1024 * 1024);
  await consumer.ack(batch!, true);
  spool.close();
  expect(mode(dir)).toBe(0o700);
  expect(mode(path.join(root, 'data'))).toBe(0o700);
  const files = modesUnder(dir);
  expect(files.filter((f) => f.file.endsWith('.seg')).length).toBeGreaterThan(1);
  expect(files.filter((f) => !f.file.endsWith('.seg')).length).toBeGreaterThan(0);
  expect(files.filter((f) => f.mode !== 0o600)).toEqual([]);
});

test('in-flight journal files are 0600 in a 0700 folder, and an existing 0755 folder is narrowed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-modes-'));
  roots.push(root);
  const dir = path.join(root, 'inflight');
  fs.mkdirSync(dir, { mode: 0o755 });
  expect(mode(dir)).toBe(0o755);
  const journal = InflightJournal.open({ dir, rotateBytes: 1024 * 1024, spoolSegment: () => 1 });
  journal.begin('cap-1', JSON.stringify({ id: 'cap-1' }));
  journal.close();
  expect(mode(dir)).toBe(0o700);
  const files = modesUnder(dir);
  expect(files.length).toBeGreaterThan(0);
  expect(files.filter((f) => f.mode !== 0o600)).toEqual([]);
});

test('a spool an older version left 0755/0644 is narrowed when it is opened, and its records are still read', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-modes-'));
  roots.push(root);
  const dir = path.join(root, 'spool');
  const first = Spool.open({ dir, segmentMaxBytes: 1024, maxBytes: 1024 * 1024, fsyncIntervalMs: 0 });
  first.registerConsumer('ch', new SinkAccounting('ch'));
  for (let i = 0; i < 20; i++) first.append(JSON.stringify({ CaptureId: `old-${i}`, RequestBody: 'x'.repeat(100) }) + '\n');
  first.close();
  // What an older version left behind.
  fs.chmodSync(dir, 0o755);
  for (const name of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, name), 0o644);
  expect(modesUnder(dir).filter((f) => f.mode === 0o644).length).toBeGreaterThan(1);

  const reopened = Spool.open({ dir, segmentMaxBytes: 1024, maxBytes: 1024 * 1024, fsyncIntervalMs: 0 });
  const consumer = reopened.registerConsumer('ch', new SinkAccounting('ch'));
  expect(mode(dir)).toBe(0o700);
  expect(modesUnder(dir).filter((f) => f.mode !== 0o600)).toEqual([]);
  const read: string[] = [];
  for (let batch = await consumer.next(100, 1024 * 1024); batch !== undefined && batch.lines.length > 0; batch = await consumer.next(100, 1024 * 1024)) {
    read.push(...batch.lines.map((line) => (JSON.parse(line.toString()) as { CaptureId: string }).CaptureId));
    await consumer.ack(batch, true);
  }
  expect(read).toEqual(Array.from({ length: 20 }, (_, i) => `old-${i}`));
  reopened.close();
});
