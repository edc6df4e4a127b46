/**
 * The emulator against the real Envoy's recordings: every scenario recorded in
 * test/fixtures/envoy-traces/ (by test/envoy/traces.test.ts) is run through
 * the emulator, configured as that Envoy version, against a passive processor
 * that records what it receives the same way; the two traces must agree on
 * message order and kinds, end_of_stream flags, body bytes (where the
 * scenario's timing makes boundaries reproducible), headers (per-run values
 * compared by format), protocol_config, attributes, metadata_context,
 * observability_mode, what was sent before the first reply, and where and how
 * the call was closed. Scenarios about the message timer run with their own
 * message_timeout and must also agree on the order of messages and replies and
 * on which send's timer ran out. Needs no Envoy: fixtures only.
 */
import { performance } from 'node:perf_hooks';
import { ENVOY_VERSIONS } from '../envoy/envoy-install';
import { chunkedNotation, readTrace, timelineOrder, timerVerdict, traceCall, type EnvoyTrace, type TraceCall, type TraceMessage } from '../envoy/envoy-trace';
import { RecordingProcessor } from '../envoy/recording-processor';
import { TRACE_SCENARIOS, emulatorExchange, timerOf, type TraceScenario } from '../envoy/trace-scenarios';
import { EnvoyEmulator } from './envoy-emulator';
import type { ExchangeResult } from './exchange-result';
import type { HttpExchangeSpec, HttpMessageSpec } from './http-exchange-spec';

interface EmulatedRun {
  calls: TraceCall[];
  result: ExchangeResult;
}

const isBody = (m: TraceMessage) => /^(RB|SB)\(/.test(m.notation);

/** Every message in full; with inexact chunking, body messages without their bytes, repeats folded. */
function messageDetails(messages: TraceMessage[], exact: boolean): object[] {
  const out: object[] = [];
  for (const m of messages) {
    if (exact || !isBody(m)) {
      out.push(m);
      continue;
    }
    const { body: _body, notation: _notation, ...rest } = m;
    const detail = { kind: m.notation.slice(0, 2), ...rest };
    if (JSON.stringify(detail) !== JSON.stringify(out[out.length - 1])) out.push(detail);
  }
  return out;
}

/** What the emulator must reproduce of one call. */
function conformanceView(call: TraceCall, scenario: TraceScenario): object {
  const exact = scenario.chunking === 'exact';
  const { 'user-agent': _ua, ...metadata } = call.metadata;
  return {
    metadata,
    messages: chunkedNotation(call.messages, scenario.chunking),
    details: messageDetails(call.messages, exact),
    close: {
      point: scenario.closePointNotModelled ? 'not compared' : call.close.point,
      // When the server fails the call itself, whether Envoy's half-close reaches the stream before
      // grpc-js closes it after sending the status is a race the load on the machine decides.
      halfClosedThenReset: scenario.processor?.failOn !== undefined ? 'not compared' : call.close.wire?.endStream === true && call.close.wire.reset !== 'none',
    },
    ...(call.messagesBeforeFirstReply === undefined ? {} : { messagesBeforeFirstReply: call.messagesBeforeFirstReply }),
    ...(call.timeline ? { timeline: timelineOrder(call.timeline) } : {}),
    ...(call.timer ? { timer: timerVerdict(call.timer) } : {}),
  };
}

/**
 * Exact chunk boundaries hold only while every reply comes back within the
 * gaps between chunks: Envoy (and so the emulator) holds body data while a
 * headers reply is pending, then sends what piled up as one message. The
 * recordings were made with replies in about a millisecond; on a loaded
 * machine the processor here can take longer than the 150 ms gaps, so the
 * emulated run stretches them (the boundaries do not depend on their length),
 * and a held headers reply with them.
 * Timer scenarios keep their timing: it is what they are about.
 */
const GAP_STRETCH = 4;

function stretched(spec: HttpExchangeSpec): HttpExchangeSpec {
  const stretch = (message: HttpMessageSpec | undefined): HttpMessageSpec | undefined =>
    message?.body === undefined
      ? message
      : {
          ...message,
          body: message.body.map((entry) => (typeof entry === 'object' && !Buffer.isBuffer(entry) && (entry.delayMs ?? 0) > 0 ? { ...entry, delayMs: entry.delayMs! * GAP_STRETCH } : entry)),
        };
  return { ...spec, request: stretch(spec.request)!, response: stretch(spec.response) };
}

async function emulate(scenario: TraceScenario, version: string): Promise<EmulatedRun> {
  const exchange = emulatorExchange(scenario);
  const { options } = exchange;
  const spec = scenario.chunking === 'exact' && timerOf(scenario) === undefined ? stretched(exchange.spec) : exchange.spec;
  // A held headers reply is about what arrives meanwhile: stretched like the gaps, for the same reason.
  const held = scenario.processor?.requestHeadersReplyDelayMs;
  const processor = new RecordingProcessor(held !== undefined && timerOf(scenario) === undefined ? { ...scenario.processor, requestHeadersReplyDelayMs: held * GAP_STRETCH } : scenario.processor);
  const port = await processor.start();
  // Where the message timer is not what a trace is about, a loaded machine must not trip it.
  const messageTimeoutMs = timerOf(scenario) ?? 5000;
  const emulator = new EnvoyEmulator({ target: `127.0.0.1:${port}`, ...options, envoyVersion: version, messageTimeoutMs });
  try {
    await emulator.waitForReady();
    const start = performance.now();
    const result = await emulator.runExchange(spec);
    await processor.settled(1, 8000);
    const clientDoneAt = start + result.httpFinishedAtMs;
    return {
      result,
      calls: processor.calls.map((call) => traceCall(call, clientDoneAt, scenario.processor?.requestHeadersReplyDelayMs !== undefined, timerOf(scenario))),
    };
  } finally {
    emulator.close();
    processor.stop();
  }
}

const cases: Array<[string, string, TraceScenario, EnvoyTrace]> = [];
for (const version of ENVOY_VERSIONS) {
  for (const scenario of TRACE_SCENARIOS) {
    const trace = readTrace(scenario.id, version);
    if (trace) cases.push([scenario.id, version, scenario, trace]);
  }
}

describe('the emulator sends what the real Envoy sent', () => {
  const runs = new Map<string, Promise<EmulatedRun>>();
  // Every exchange runs at once (observability mode waits out its deferred close), so the file takes
  // about as long as the slowest scenario. The message-timer scenarios measure time: they run together
  // once that burst is over, so that it cannot delay a reply past the timer.
  beforeAll(() => {
    const burst: Array<Promise<unknown>> = [];
    const timed = cases.filter(([, , scenario]) => scenario.messageTimer);
    for (const [id, version, scenario] of cases) {
      if (scenario.messageTimer) continue;
      const run = emulate(scenario, version);
      run.catch(() => undefined);
      runs.set(`${id}@${version}`, run);
      burst.push(run.catch(() => undefined));
    }
    const burstOver = Promise.all(burst);
    for (const [id, version, scenario] of timed) {
      const run = burstOver.then(() => emulate(scenario, version));
      run.catch(() => undefined);
      runs.set(`${id}@${version}`, run);
    }
  });

  test('every scenario has a recording for every pinned Envoy version', () => {
    expect(cases.length).toBe(TRACE_SCENARIOS.length * ENVOY_VERSIONS.length);
  });

  test.each(cases)('%s (Envoy %s)', async (id, version, scenario, trace) => {
    const { calls, result } = await runs.get(`${id}@${version}`)!;
    expect(calls.map((c) => conformanceView(c, scenario))).toEqual(trace.calls.map((c) => conformanceView(c, scenario)));
    // A client that got headers and then lost the stream (curl reports the cut) saw Envoy reset it.
    expect(result.downstream.status).toBe(trace.downstream.error !== undefined && trace.downstream.status ? 'reset' : trace.downstream.status);
    expect(result.upstream.requestStarted).toBe(trace.upstream !== null);
    expect(result.violations).toEqual([]);
  });
});
