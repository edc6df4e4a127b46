/**
 * The spool on its own: what survives a reopen, what a crash leaves behind
 * and how it is repaired, rotation and deletion, and the disk budget's order
 * of sacrifice (bodies before metadata, oldest first) with counters that add up.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { BODY_DROPPED_NOTE } from '../../src/spool/body-stripper';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeRecordBlock } from '../../src/spool/record-format';
import { Spool, type SpoolOptions } from '../../src/spool/spool';
import type { SpoolConsumer } from '../../src/spool/spool-consumer';
import { SinkAccounting } from '../../src/sinks/delivery/sink-accounting';
import { waitFor } from '../emulator/wait-for';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-spool-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function row(i: number, bodyBytes = 100): string {
  return (
    JSON.stringify({
      CaptureId: `cap-${i}`,
      Method: 'POST',
      RequestBody: 'q'.repeat(bodyBytes),
      ResponseBody: 'r'.repeat(bodyBytes),
      RequestBodyNote: '',
      ResponseBodyNote: '',
      RequestBodyCaptured: true,
      ResponseBodyCaptured: true,
    }) + '\n'
  );
}

function open(dir: string, overrides: Partial<SpoolOptions> = {}): Spool {
  return Spool.open({ dir, segmentMaxBytes: 64 * 1024 * 1024, maxBytes: 1024 * 1024 * 1024, fsyncIntervalMs: 100, ...overrides });
}

/** Reads and acknowledges everything, returning the lines in order. */
async function drain(consumer: SpoolConsumer, maxRows = 1000): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const batch = await consumer.next(maxRows, 1024 * 1024);
    if (batch === undefined) return lines;
    lines.push(...batch.lines.map((line) => line.toString('utf8')));
    await consumer.ack(batch, true);
  }
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.seg'))
    .sort();
}

function balance(accounting: SinkAccounting, consumer: SpoolConsumer): number {
  const c = accounting.counts;
  return c.captured - c.delivered - consumer.pending - accounting.droppedTotal;
}

test('appended records are read back in order after a reopen, with the same batch ids', async () => {
  const dir = tempDir();
  const spool = open(dir);
  for (let i = 0; i < 50; i++) expect(spool.append(row(i))).toBe(true);
  spool.close();

  const reopened = open(dir);
  expect(reopened.recovery).toMatchObject({ records: 50, tornTailRecords: 0, corruptRegions: 0 });
  const accounting = new SinkAccounting('test');
  const consumer = reopened.registerConsumer('test', accounting);
  expect(accounting.counts).toMatchObject({ captured: 50, recovered: 50 });
  const first = await consumer.next(20, 1 << 20);
  expect(first!.id).toBe(`${reopened.spoolId}-${first!.range.segment}-0-20`);
  expect(first!.lines.map((line) => JSON.parse(line.toString()).CaptureId)).toEqual(Array.from({ length: 20 }, (_, i) => `cap-${i}`));
  await consumer.ack(first!, true);
  accounting.delivered(20);
  const rest = await drain(consumer);
  accounting.delivered(rest.length);
  expect(rest.map((line) => JSON.parse(line).CaptureId)).toEqual(Array.from({ length: 30 }, (_, i) => `cap-${i + 20}`));
  expect(consumer.pending).toBe(0);
  expect(balance(accounting, consumer)).toBe(0);
  reopened.close();
});

test('a batch in flight at a crash is re-read with exactly the same range and id', async () => {
  const dir = tempDir();
  const spool = open(dir);
  for (let i = 0; i < 10; i++) spool.append(row(i));
  const consumer = spool.registerConsumer('ch', new SinkAccounting('ch'));
  const first = await consumer.next(4, 1 << 20);
  await consumer.ack(first!, true);
  const inFlight = await consumer.next(4, 1 << 20); // "crash": never acknowledged
  for (let i = 10; i < 20; i++) spool.append(row(i)); // more data arrives before the crash
  spool.close();

  const after = open(dir);
  const again = after.registerConsumer('ch', new SinkAccounting('ch'));
  expect(again.hasReplay).toBe(true);
  const replayed = await again.next(1000, 1 << 30);
  expect(replayed!.id).toBe(inFlight!.id);
  expect(replayed!.replayed).toBe(true);
  expect(Buffer.concat(replayed!.lines).equals(Buffer.concat(inFlight!.lines))).toBe(true);
  await again.ack(replayed!, true);
  const rest = await drain(again);
  expect(rest.map((line) => JSON.parse(line).CaptureId)).toEqual(Array.from({ length: 12 }, (_, i) => `cap-${i + 8}`));
  after.close();
});

test('a torn last record is detected by its checksum, cut off and counted', async () => {
  const dir = tempDir();
  const spool = open(dir);
  for (let i = 0; i < 5; i++) spool.append(row(i));
  spool.close();
  const [file] = segmentFiles(dir);
  const full = path.join(dir, file!);
  const goodSize = fs.statSync(full).size;
  // What write(2) interrupted by kill -9 leaves: a header and half a payload.
  const payload = Buffer.from(row(5));
  const torn = Buffer.alloc(RECORD_HEADER_BYTES + Math.floor(payload.length / 2));
  torn.writeUInt32LE(payload.length, 0);
  torn.writeUInt32LE(12345, 4);
  payload.copy(torn, RECORD_HEADER_BYTES, 0, torn.length - RECORD_HEADER_BYTES);
  fs.appendFileSync(full, torn);

  const reopened = open(dir);
  expect(reopened.recovery).toMatchObject({ records: 5, tornTailRecords: 1 });
  expect(fs.statSync(full).size).toBe(goodSize);
  const accounting = new SinkAccounting('ch');
  const consumer = reopened.registerConsumer('ch', accounting);
  expect(accounting.counts.dropped).toEqual({ spool_torn_tail: 1 });
  const lines = await drain(consumer);
  accounting.delivered(lines.length);
  expect(lines).toHaveLength(5);
  expect(balance(accounting, consumer)).toBe(0);
  // Appends after the repair are readable too.
  reopened.append(row(6));
  expect((await drain(consumer)).map((line) => JSON.parse(line).CaptureId)).toEqual(['cap-6']);
  reopened.close();
});

test('a damaged record in the middle costs that record only', async () => {
  const dir = tempDir();
  const spool = open(dir);
  for (let i = 0; i < 10; i++) spool.append(row(i));
  spool.close();
  const full = path.join(dir, segmentFiles(dir)[0]!);
  const buffer = fs.readFileSync(full);
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(row(0));
  // Flip a payload byte of record 3 (all records of row(i<10) have the same size).
  buffer[SEGMENT_HEADER_BYTES + 3 * recordSize + RECORD_HEADER_BYTES + 20] ^= 0xff;
  fs.writeFileSync(full, buffer);

  const logged: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) });
  const reopened = open(dir, { log });
  expect(reopened.recovery).toMatchObject({ records: 9, corruptRegions: 1, tornTailRecords: 0 });
  // Operators find it by its code, a field of the log line.
  expect(logged).toContainEqual(expect.objectContaining({ level: 50, code: 'CAP_ERR_SPOOL_CORRUPT', regions: 1 }));
  const lines = await drain(reopened.registerConsumer('ch', new SinkAccounting('ch')));
  expect(lines.map((line) => JSON.parse(line).CaptureId)).toEqual(['cap-0', 'cap-1', 'cap-2', 'cap-4', 'cap-5', 'cap-6', 'cap-7', 'cap-8', 'cap-9']);
  reopened.close();
});

test('segments rotate at the size limit, and a segment every consumer has acknowledged is deleted', async () => {
  const dir = tempDir();
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(row(0));
  const spool = open(dir, { segmentMaxBytes: SEGMENT_HEADER_BYTES + 10 * recordSize });
  const a = spool.registerConsumer('a', new SinkAccounting('a'));
  const b = spool.registerConsumer('b', new SinkAccounting('b'));
  for (let i = 0; i < 35; i++) spool.append(row(i));
  expect(spool.segmentCount).toBe(4);
  expect(segmentFiles(dir)).toHaveLength(4);
  expect((await drain(a, 7)).map((line) => JSON.parse(line).CaptureId)).toEqual(Array.from({ length: 35 }, (_, i) => `cap-${i}`));
  // b has not read anything: nothing may be deleted yet.
  expect(segmentFiles(dir)).toHaveLength(4);
  await drain(b);
  // Everything delivered: only the active segment is left (files are deleted off the event loop).
  await spool.removed();
  expect(segmentFiles(dir)).toHaveLength(1);
  expect(spool.records).toBeGreaterThan(0);
  expect(spool.records).toBeLessThan(10);
  spool.close();
  // A reopen never reuses a segment number.
  const reopened = open(dir);
  reopened.append(row(99));
  const numbers = segmentFiles(dir).map((name) => Number(name.slice(0, -4)));
  expect(new Set(numbers).size).toBe(numbers.length);
  expect(Math.max(...numbers)).toBeGreaterThan(4);
  reopened.close();
});

test('over budget: bodies of the oldest segments go first, then whole oldest segments; every loss is counted', async () => {
  const dir = tempDir();
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(row(0, 2000));
  const segmentMaxBytes = SEGMENT_HEADER_BYTES + 10 * recordSize;
  const spool = open(dir, { segmentMaxBytes, maxBytes: 4 * segmentMaxBytes });
  const slow = new SinkAccounting('slow'); // never reads: sees every loss
  const fast = new SinkAccounting('fast');
  const slowConsumer = spool.registerConsumer('slow', slow);
  const fastConsumer = spool.registerConsumer('fast', fast);

  // Three segments of records with bodies: still below the strip watermark (one segment under the budget).
  let i = 0;
  for (; i < 27; i++) expect(spool.append(row(i, 2000))).toBe(true);
  await spool.settled();
  expect(spool.stats.segmentsStripped).toBe(0);
  const delivered = await drain(fastConsumer);
  fast.delivered(delivered.length);

  // Keep appending: past the watermark, old segments are rewritten without bodies in the background.
  for (; i < 38; i++) expect(spool.append(row(i, 2000))).toBe(true);
  await spool.settled();
  expect(spool.stats.segmentsStripped).toBeGreaterThan(0);
  for (; i < 45; i++) expect(spool.append(row(i, 2000))).toBe(true);
  await spool.settled();
  expect(spool.bytes).toBeLessThanOrEqual(4 * segmentMaxBytes);
  expect(slow.counts.bodiesDropped.spool_full).toBeGreaterThan(0);
  expect(Object.keys(slow.counts.dropped)).toHaveLength(0); // no metadata lost yet
  // The fast sink had read those records already: it lost no body.
  expect(fast.counts.bodiesDropped).toEqual({});
  const firstBatch = await slowConsumer.next(1, 1 << 20);
  const oldest = JSON.parse(firstBatch!.lines[0]!.toString());
  expect(oldest).toMatchObject({ CaptureId: 'cap-0', RequestBody: '', ResponseBody: '', RequestBodyNote: BODY_DROPPED_NOTE, ResponseBodyNote: BODY_DROPPED_NOTE });
  await slowConsumer.ack(firstBatch!, true);
  slow.delivered(1);

  // Much more: once every body is gone, whole oldest segments are deleted.
  for (; i < 2000; i++) {
    spool.append(row(i, 2000));
    if (i % 50 === 0) await spool.settled();
  }
  await spool.settled();
  expect(spool.bytes).toBeLessThanOrEqual(4 * segmentMaxBytes);
  expect(slow.counts.dropped.spool_full).toBeGreaterThan(0);
  const rest = await drain(slowConsumer);
  slow.delivered(rest.length);
  const ids = rest.map((line) => JSON.parse(line).CaptureId);
  expect(ids[ids.length - 1]).toBe('cap-1999'); // newest survive
  // captured = delivered + pending + dropped, for both sinks.
  expect(slow.counts.captured).toBe(2000);
  expect(balance(slow, slowConsumer)).toBe(0);
  const fastRest = await drain(fastConsumer);
  fast.delivered(fastRest.length);
  expect(balance(fast, fastConsumer)).toBe(0);
  expect(fast.counts.delivered + fast.droppedTotal).toBe(2000);
  spool.close();
});

test('a record larger than the whole budget keeps its metadata; an append failure is counted, never thrown', async () => {
  const dir = tempDir();
  const spool = open(dir, { maxBytes: 4096 });
  const accounting = new SinkAccounting('ch');
  const consumer = spool.registerConsumer('ch', accounting);
  expect(spool.append(row(1, 10_000))).toBe(true);
  expect(accounting.counts.bodiesDropped).toEqual({ spool_full: 1 });
  const [line] = await drain(consumer);
  expect(JSON.parse(line!)).toMatchObject({ CaptureId: 'cap-1', RequestBody: '', RequestBodyNote: BODY_DROPPED_NOTE });
  accounting.delivered(1);
  spool.close();
  expect(spool.append(row(2))).toBe(false);
  expect(accounting.counts.dropped).toEqual({ spool_closed: 1 });
  expect(balance(accounting, consumer)).toBe(0);
});

test('a group of worker-encoded records is stored as one write when it fits, and record by record across a rotation', async () => {
  const dir = tempDir();
  // Rows as a worker hands them over: JSON without the newline, non-ASCII included.
  const rows = (from: number, count: number): string[] =>
    Array.from({ length: count }, (_, k) =>
      row(from + k)
        .trimEnd()
        .replace('"POST"', '"POST é…"'),
    );
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(rows(0, 1)[0]!) + 1;
  const spool = open(dir, { segmentMaxBytes: SEGMENT_HEADER_BYTES + 10 * recordSize });
  const accounting = new SinkAccounting('ch');
  const consumer = spool.registerConsumer('ch', accounting);
  const block = encodeRecordBlock(rows(0, 6));
  expect(block.every((record) => record.buffer === block[0]!.buffer)).toBe(true);
  expect(spool.appendRecords(block)).toBe(6);
  expect(spool.segmentCount).toBe(1);
  // 6 + 8 does not fit the 10-record segment: the group goes record by record and rotates.
  expect(spool.appendRecords(encodeRecordBlock(rows(6, 8)))).toBe(8);
  expect(spool.segmentCount).toBe(2);
  expect(accounting.counts.captured).toBe(14);
  spool.close();

  const reopened = open(dir);
  expect(reopened.recovery).toMatchObject({ records: 14, tornTailRecords: 0, corruptRegions: 0 });
  const again = reopened.registerConsumer('ch', new SinkAccounting('ch'));
  const lines = await drain(again);
  expect(lines.map((line) => JSON.parse(line).CaptureId)).toEqual(Array.from({ length: 14 }, (_, i) => `cap-${i}`));
  expect(lines.every((line) => line.endsWith('\n') && JSON.parse(line).Method === 'POST é…')).toBe(true);
  expect(consumer.pending).toBe(14);
  reopened.close();
});

test('a rotation flushes nothing on the event loop; sealed segments and new entries reach the disk in the background, and sync() flushes what they have not yet', async () => {
  const dir = tempDir();
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(row(0));
  const spool = open(dir, { segmentMaxBytes: SEGMENT_HEADER_BYTES + 2 * recordSize });
  // The real module object: the spool's own import reads its functions at call time.
  const realFs = jest.requireActual<typeof fs>('node:fs');
  const flushes = [jest.spyOn(realFs, 'fdatasyncSync'), jest.spyOn(realFs, 'fsyncSync')];
  try {
    for (let i = 0; i < 7; i++) spool.append(row(i));
    expect(spool.segmentCount).toBe(4);
    // Three rotations, and not one flush the gRPC replies would have waited for.
    expect(flushes.map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
    // sync() (shutdown, after the in-flight recovery) still flushes what the background has not yet.
    spool.sync();
    expect(flushes[0]!.mock.calls.length).toBeGreaterThanOrEqual(1);
  } finally {
    for (const spy of flushes) spy.mockRestore();
  }
  // The background flushes end (three sealed segments, and sync()'s own); records read back after a reopen.
  await waitFor(() => spool.stats.fsyncs >= 4, 10_000, 20);
  expect(spool.stats.fsyncs).toBeGreaterThanOrEqual(4);
  spool.close();
  const reopened = open(dir);
  const lines = await drain(reopened.registerConsumer('ch', new SinkAccounting('ch')));
  expect(lines.map((line) => JSON.parse(line).CaptureId)).toEqual(Array.from({ length: 7 }, (_, i) => `cap-${i}`));
  reopened.close();
});

test('with an fsync interval of 0, rotations flush on the spot: nothing appended waits for the background', () => {
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(row(0));
  const spool = open(tempDir(), { fsyncIntervalMs: 0, segmentMaxBytes: SEGMENT_HEADER_BYTES + 2 * recordSize });
  const realFs = jest.requireActual<typeof fs>('node:fs');
  const fdatasync = jest.spyOn(realFs, 'fdatasyncSync');
  const fdatasyncInBackground = jest.spyOn(realFs, 'fdatasync');
  try {
    for (let i = 0; i < 7; i++) spool.append(row(i));
    expect(spool.segmentCount).toBe(4);
    // Each append, and at each of the three rotations the sealed segment and the new header.
    expect(fdatasync.mock.calls.length).toBe(7 + 2 * 3);
    expect(fdatasyncInBackground).not.toHaveBeenCalled();
  } finally {
    fdatasync.mockRestore();
    fdatasyncInBackground.mockRestore();
  }
  spool.close();
});

test('fsync policy: 0 flushes every append, the default groups appends', async () => {
  const every = open(tempDir(), { fsyncIntervalMs: 0 });
  const before = every.stats.fsyncs;
  for (let i = 0; i < 5; i++) every.append(row(i));
  expect(every.stats.fsyncs - before).toBe(5);
  every.close();

  const grouped = open(tempDir(), { fsyncIntervalMs: 50 });
  const start = grouped.stats.fsyncs;
  for (let i = 0; i < 100; i++) grouped.append(row(i));
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(grouped.stats.fsyncs - start).toBeGreaterThanOrEqual(1);
  expect(grouped.stats.fsyncs - start).toBeLessThanOrEqual(2);
  grouped.close();
});

// ---- disk full, for real: a small tmpfs filled to the last page ---------------------------------

/** Mounts a tmpfs of `bytes` (root only); undefined when this machine does not allow it. */
function mountTmpfs(bytes: number): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-spool-tmpfs-'));
  const result = require('node:child_process').spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]) as { status: number | null };
  if (result.status !== 0) {
    fs.rmdirSync(dir);
    return undefined;
  }
  mounts.push(dir);
  return dir;
}
const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts) {
    require('node:child_process').spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Takes every free byte of the filesystem holding `dir` into one file; deleting it frees them again. */
function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

const tmpfsTest = process.getuid?.() === 0 ? test : test.skip;

tmpfsTest('ENOSPC during segment rotation drops only that record; appends recover once space returns', async () => {
  const dir = mountTmpfs(1024 * 1024);
  if (dir === undefined) return console.warn('tmpfs could not be mounted; rotation under ENOSPC not exercised');
  // Sized by the longest row of the test (cap-100): five rows of any other id fit a segment, six do not.
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(row(100));
  const perSegment = 5;
  const spool = open(dir, { segmentMaxBytes: SEGMENT_HEADER_BYTES + perSegment * recordSize });
  const accounting = new SinkAccounting('ch');
  const consumer = spool.registerConsumer('ch', accounting);
  for (let i = 0; i < perSegment; i++) expect(spool.append(row(i))).toBe(true);
  expect(spool.segmentCount).toBe(1);

  const filler = fillDisk(dir);
  // The next record needs a new segment, and the disk has no page left for it.
  expect(spool.append(row(100))).toBe(false);
  expect(spool.append(row(101))).toBe(false);
  expect(accounting.counts.dropped).toEqual({ spool_write_failed: 2 });
  expect(spool.segmentCount).toBe(1);

  fs.rmSync(filler);
  for (let i = perSegment; i < 3 * perSegment; i++) expect(spool.append(row(i))).toBe(true);
  expect(spool.segmentCount).toBe(3);
  const lines = await drain(consumer);
  accounting.delivered(lines.length);
  expect(lines.map((line) => JSON.parse(line).CaptureId)).toEqual(Array.from({ length: 3 * perSegment }, (_, i) => `cap-${i}`));
  expect(balance(accounting, consumer)).toBe(0);
  spool.close();

  const reopened = open(dir);
  expect(reopened.recovery).toMatchObject({ tornTailRecords: 0, corruptRegions: 0, unreadableSegments: 0 });
  reopened.close();
});

tmpfsTest('a cursor write that fails on a full disk is retried without advancing and without counting anything as dropped', async () => {
  const dir = mountTmpfs(1024 * 1024);
  if (dir === undefined) return console.warn('tmpfs could not be mounted; cursor write under ENOSPC not exercised');
  const spool = open(dir);
  const accounting = new SinkAccounting('ch');
  const consumer = spool.registerConsumer('ch', accounting);
  for (let i = 0; i < 10; i++) spool.append(row(i));

  const filler = fillDisk(dir);
  await expect(consumer.next(4, 1 << 20)).rejects.toMatchObject({ name: 'CursorWriteError' });
  await expect(consumer.next(4, 1 << 20)).rejects.toMatchObject({ name: 'CursorWriteError' });
  expect(accounting.droppedTotal).toBe(0);
  expect(consumer.pending).toBe(10);
  expect(consumer.inflight).toBe(0);

  fs.rmSync(filler);
  const batch = await consumer.next(4, 1 << 20);
  expect(batch!.range).toMatchObject({ record: 0, count: 4 });
  expect(batch!.id).toBe(`${spool.spoolId}-${batch!.range.segment}-0-4`);
  await consumer.ack(batch!, true);
  accounting.delivered(4);
  const rest = await drain(consumer);
  accounting.delivered(rest.length);
  expect(rest.map((line) => JSON.parse(line).CaptureId)).toEqual(Array.from({ length: 6 }, (_, i) => `cap-${i + 4}`));
  expect(accounting.droppedTotal).toBe(0);
  expect(balance(accounting, consumer)).toBe(0);
  spool.close();
});

test('rewriting a 64 MiB segment without its bodies does not block the event loop', async () => {
  const dir = tempDir();
  const segmentMaxBytes = 64 * 1024 * 1024;
  // Budget: two segments and a little.
  const maxBytes = 2 * segmentMaxBytes + 1024 * 1024;
  // Rewrites start within a segment or a quarter of the budget of the limit, whichever is less.
  const watermark = maxBytes - Math.min(segmentMaxBytes, Math.floor(maxBytes / 4));
  const spool = open(dir, { segmentMaxBytes, maxBytes });
  const accounting = new SinkAccounting('ch');
  spool.registerConsumer('ch', accounting);
  const body = 16 * 1024;
  const recordSize = RECORD_HEADER_BYTES + Buffer.byteLength(row(100_000, body));
  const perSegment = Math.floor((segmentMaxBytes - SEGMENT_HEADER_BYTES) / recordSize);
  // A full first segment, and the second one filled up to just below the watermark.
  let i = 0;
  while (spool.bytes + recordSize <= watermark) expect(spool.append(row(100_000 + i++, body))).toBe(true);
  await spool.settled();
  expect(spool.segmentCount).toBe(2);
  expect(spool.stats.segmentsStripped).toBe(0);

  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const started = performance.now();
  // Cross the watermark: the first segment (~64 MiB of bodies) is rewritten.
  while (spool.bytes <= watermark) expect(spool.append(row(100_000 + i++, body))).toBe(true);
  for (let more = 0; more < 3; more++) expect(spool.append(row(100_000 + i++, body))).toBe(true);
  await spool.settled();
  lag.disable();
  const elapsedMs = performance.now() - started;
  expect(spool.stats.segmentsStripped).toBe(1);
  expect(accounting.counts.bodiesDropped.spool_full).toBe(perSegment);
  // Done in a worker: the loop kept turning (the synchronous rewrite stalled it ~0.5 s;
  // the bound leaves room for GC pauses on a loaded machine).
  expect(lag.max / 1e6).toBeLessThan(250);
  expect(elapsedMs).toBeGreaterThan(lag.max / 1e6);
  expect(spool.bytes).toBeLessThan(segmentMaxBytes + 2 * 1024 * 1024);
  spool.close();
}, 60_000);
