/**
 * The in-flight journal and the start-up that reads it, in one process
 * ("kill -9" = the old objects abandoned with their files as they are):
 *   - what was begun and not done is what the next open reports unfinished,
 *     whatever the rotations in between, and a torn last write is cut and counted;
 *   - the hub rebuilds exactly the unfinished exchanges whose row never
 *     reached the spool, as rows without bodies saying lost_in_crash, skips the
 *     one whose row did (killed between the spool write and the done mark),
 *     counts an entry it cannot rebuild as dropped for every sink, and a
 *     crash in the middle of that recovery does not make duplicates.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExchangeAssembler } from '../../src/capture/exchange-assembler';
import { DEFAULTS } from '../../src/config/defaults';
import { configWith } from '../../src/config/runtime-config';
import { silentLogger } from '../../src/logger';
import { CaptureMetrics } from '../../src/metrics';
import { buildRow } from '../../src/processing/build-row';
import { LOST_IN_CRASH, inflightEntryJson, rebuildRowLine, type InflightEntry } from '../../src/processing/inflight-entry';
import { DeliveryHub, LOST_IN_FLIGHT, inflightDir } from '../../src/sinks/delivery/delivery-hub';
import type { RowBatch, Sink, WriteResult } from '../../src/sinks/sink';
import { InflightJournal } from '../../src/spool/inflight-journal';
import { encodeRecord } from '../../src/spool/record-format';
import { assembledExchange } from '../support/assembled-exchange';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-inflight-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const ROW_OPTIONS = { maxBytes: 65536, redactHeaders: DEFAULTS.redactHeaders };
const REDACT = new Set(DEFAULTS.redactHeaders);
const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

function openJournal(dir: string, rotateBytes = DEFAULTS.inflightJournalRotateBytes): InflightJournal {
  return InflightJournal.open({ dir, rotateBytes, spoolSegment: () => 1 });
}

function journalFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith('.jnl'));
}

/** A finished exchange as the event loop hands it over: headers, a secret, bodies. */
function finished(requestId: string): ExchangeAssembler {
  return assembledExchange({
    requestHeaders: [
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'inflight.test'],
      [':path', `/v1/${requestId}`],
      ['authorization', 'Bearer sk-do-not-journal'],
      ['x-request-id', requestId],
      ['content-type', 'application/json'],
    ],
    requestBody: '{"q":1}',
    responseHeaders: [
      [':status', '201'],
      ['content-type', 'application/json'],
    ],
    responseBody: '{"a":2}',
  });
}

function entryOf(requestId: string): { id: string; json: string; row: string } {
  const assembler = finished(requestId);
  const snapshot = assembler.finish('ended');
  const json = inflightEntryJson(snapshot, assembler.context, REDACT);
  snapshot.request.bodyPending = undefined;
  snapshot.response.bodyPending = undefined;
  return { id: snapshot.captureId, json, row: JSON.stringify(buildRow(snapshot, ROW_OPTIONS).row) + '\n' };
}

class MemorySink implements Sink {
  readonly name = 'memory';
  readonly rows: Array<Record<string, unknown>> = [];
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async write(batch: RowBatch): Promise<WriteResult> {
    for (const line of batch.jsonEachRow.split('\n')) if (line !== '') this.rows.push(JSON.parse(line) as Record<string, unknown>);
    return { ok: true };
  }
}

test('the journal: begun and not done is what the next open finds, through rotations; a torn last write is cut and counted', async () => {
  const dir = path.join(root, 'journal');
  // Small files: every few records the file is replaced by one carrying the open entries.
  const first = openJournal(dir, 2048);
  const stuck = entryOf('stuck');
  first.begin(stuck.id, stuck.json);
  const finishedIds: string[] = [];
  for (let i = 0; i < 200; i++) {
    const entry = entryOf(`r-${i}`);
    first.begin(entry.id, entry.json);
    await tick();
    if (i % 3 !== 2) {
      first.done([entry.id]);
      finishedIds.push(entry.id);
    }
    // However many rotations, one file: the stuck entry travels with the open ones.
    expect(journalFiles(dir)).toHaveLength(1);
  }
  expect(first.openCount).toBe(1 + 200 - finishedIds.length);
  // Rewritten, not grown: at most about twice what the open entries take.
  expect(fs.statSync(path.join(dir, journalFiles(dir)[0]!)).size).toBeLessThan(2 * first.openCount * stuck.json.length + 4096);
  // kill -9 in the middle of a write: half a record at the end.
  const last = entryOf('torn');
  fs.appendFileSync(path.join(dir, journalFiles(dir)[0]!), encodeRecord(Buffer.from(`{"begin":[${last.json}]}`)).subarray(0, 100));

  const second = openJournal(dir);
  expect(second.recovery).toMatchObject({ files: 1, unfinished: first.openCount, tornRecords: 1, corruptRegions: 0 });
  const unfinished = new Set(second.unfinished.map((entry) => entry.id));
  expect(unfinished.has(stuck.id)).toBe(true);
  expect(finishedIds.filter((id) => unfinished.has(id))).toEqual([]);
  // The bodies and the secret never reach the journal.
  const text = fs.readFileSync(path.join(dir, journalFiles(dir).sort()[0]!), 'latin1');
  expect(text).not.toContain('sk-do-not-journal');
  expect(text).not.toContain('"q":1');
  second.discardPrevious();
  expect(journalFiles(dir)).toHaveLength(1);
  second.close();
  expect(journalFiles(dir)).toEqual([]);
});

test('a rebuilt row keeps what identifies the exchange and says why the rest is missing', () => {
  const entry = entryOf('req-rebuilt');
  const row = JSON.parse(rebuildRowLine(JSON.parse(entry.json) as InflightEntry, ROW_OPTIONS)) as Record<string, unknown>;
  const original = JSON.parse(entry.row) as Record<string, unknown>;
  for (const column of ['Timestamp', 'CaptureId', 'RequestId', 'Method', 'Scheme', 'Authority', 'Path', 'StatusCode', 'Outcome', 'DurationMs', 'RequestBodySize', 'ResponseBodySize']) {
    expect([column, row[column]]).toEqual([column, original[column]]);
  }
  expect(row).toMatchObject({
    RequestBody: '',
    ResponseBody: '',
    RequestBodyCaptured: false,
    RequestBodyNote: LOST_IN_CRASH,
    ResponseBodyNote: LOST_IN_CRASH,
    RequestHeaders: { 'x-request-id': 'req-rebuilt' },
  });
});

test('start-up after a kill: rebuilt once, the spooled one skipped, the unreadable one counted; a crash during that recovery adds no duplicate', async () => {
  const config = configWith({ dataDir: path.join(root, 'hub'), batchMaxDelayMs: 10 });
  const metrics = (): CaptureMetrics => new CaptureMetrics({ processMetrics: false });
  const spooled = entryOf('req-spooled');
  const lost = entryOf('req-lost');

  // The killed run: two exchanges handed to a worker; one row reached the spool, its done mark did not.
  const killed = DeliveryHub.open(config, silentLogger(), metrics());
  killed.addSink('clickhouse', new MemorySink());
  killed.journal.begin(spooled.id, spooled.json);
  killed.journal.begin(lost.id, lost.json);
  killed.journal.begin('broken', '{"id":"broken"}');
  await tick();
  killed.appendRecords([encodeRecord(Buffer.from(spooled.row, 'utf8'))]);
  killed.spool.sync();
  const journalDir = inflightDir(config.dataDir);
  const leftBehind = new Map(journalFiles(journalDir).map((name) => [name, fs.readFileSync(path.join(journalDir, name))]));

  // The next start dies in the middle of its recovery: rows appended, old journal not yet removed.
  const interrupted = DeliveryHub.open(config, silentLogger(), metrics());
  interrupted.addSink('clickhouse', new MemorySink());
  interrupted.recoverInflight((entry) => rebuildRowLine(entry as InflightEntry, ROW_OPTIONS));
  expect(interrupted.status().inflight.recovery).toMatchObject({ unfinished: 3, alreadySpooled: 1, rebuilt: 1, lost: 1 });
  for (const [name, bytes] of leftBehind) fs.writeFileSync(path.join(journalDir, name), bytes);

  const sink = new MemorySink();
  const hubMetrics = metrics();
  const restarted = DeliveryHub.open(config, silentLogger(), hubMetrics);
  restarted.addSink('clickhouse', sink);
  restarted.recoverInflight((entry) => rebuildRowLine(entry as InflightEntry, ROW_OPTIONS));
  restarted.start();
  await restarted.flush();
  const status = restarted.status();
  // Both rows were already in the spool this time; the broken entry is counted again, as this run's drop.
  expect(status.inflight.recovery).toMatchObject({ unfinished: 3, alreadySpooled: 2, rebuilt: 0, lost: 1 });
  expect(sink.rows.map((row) => row.RequestId).sort()).toEqual(['req-lost', 'req-spooled']);
  expect(sink.rows.find((row) => row.RequestId === 'req-lost')).toMatchObject({ CaptureId: lost.id, ResponseBodyNote: LOST_IN_CRASH, StatusCode: 201 });
  // The spooled one is the worker's row, not a rebuilt one.
  expect(sink.rows.find((row) => row.RequestId === 'req-spooled')).toMatchObject({ CaptureId: spooled.id, ResponseBodyNote: JSON.parse(spooled.row).ResponseBodyNote });
  expect(status.sinks[0]).toMatchObject({ captured: 3, delivered: 2, pending: 0, dropped: { [LOST_IN_FLIGHT]: 1 }, unaccounted: 0 });
  expect(status.balanced).toBe(true);
  expect(await hubMetrics.exposition()).toContain('egress_capture_inflight_recovered_total{result="already_spooled"} 2');
  // Settled: the next start finds nothing in flight.
  expect(journalFiles(journalDir)).toHaveLength(1);
  await restarted.stop(1000);
  expect(journalFiles(journalDir)).toEqual([]);
});
