/**
 * The costly half of the disk budget's first rule, on its own thread: read a
 * sealed segment, empty the bodies of its records (JSON parse + serialize of
 * every row, ~0.5 s for 64 MiB) and write the result beside it as
 * `<segment>.tmp`, synced. The spool renames it over the segment and updates
 * its index on the event loop, in one tick (spool.ts, stripSegment).
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PRIVATE_FILE_MODE } from './atomic-file';
import { stripBodies } from './body-stripper';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, encodeRecord, encodeSegmentHeader } from './record-format';
import { describeError } from '../errors';

export interface StripJob {
  file: string;
  tmp: string;
  /** Segment header flags of the rewritten file. */
  flags: number;
  offsets: number[];
  lengths: number[];
}

export interface StripResult {
  offsets: number[];
  lengths: number[];
  /** Indexes of the records that lost bodies. */
  strippedIndexes: number[];
  size: number;
}

export type StripReply = { ok: true; result: StripResult } | { ok: false; error: string };

export function stripSegmentFile(job: StripJob): StripResult {
  const buffer = fs.readFileSync(job.file);
  const parts: Buffer[] = [encodeSegmentHeader(job.flags)];
  const offsets: number[] = [];
  const lengths: number[] = [];
  const strippedIndexes: number[] = [];
  let size = SEGMENT_HEADER_BYTES;
  for (let i = 0; i < job.offsets.length; i++) {
    const start = job.offsets[i]! + RECORD_HEADER_BYTES;
    let payload = buffer.subarray(start, start + job.lengths[i]!);
    const stripped = stripBodies(payload.toString('utf8'));
    if (stripped !== undefined) {
      payload = Buffer.from(stripped, 'utf8');
      strippedIndexes.push(i);
    }
    const encoded = encodeRecord(payload);
    parts.push(encoded);
    offsets.push(size);
    lengths.push(payload.length);
    size += encoded.length;
  }
  const fd = fs.openSync(job.tmp, 'w', PRIVATE_FILE_MODE);
  try {
    fs.writeSync(fd, Buffer.concat(parts));
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { offsets, lengths, strippedIndexes, size };
}

const job = (workerData as { stripJob?: StripJob } | null)?.stripJob;
if (parentPort !== null && job !== undefined) {
  let reply: StripReply;
  try {
    reply = { ok: true, result: stripSegmentFile(job) };
  } catch (err) {
    fs.rmSync(job.tmp, { force: true });
    reply = { ok: false, error: describeError(err) };
  }
  parentPort.postMessage(reply);
}
