/**
 * The recorded ext_proc traces stay true: every scenario of trace-scenarios.ts
 * runs through each pinned Envoy, and what Envoy sent must equal the fixture
 * in test/fixtures/envoy-traces/ (body chunk boundaries compared as exactly as
 * the scenario's timing allows).
 *
 *   EGRESS_CAPTURE_RECORD_TRACES=1 npx jest dist/test/envoy/traces.test.js   (re)write the fixtures
 *   EGRESS_CAPTURE_TRACE_SCENARIOS=id,id …                                   only these scenarios
 */
import { describeEnvoy } from './describe-envoy';
import { comparableTrace, readTrace, writeTrace, type EnvoyTrace } from './envoy-trace';
import { recordTraces } from './trace-recorder';
import { TRACE_SCENARIOS } from './trace-scenarios';

const RECORD = ['1', 'true'].includes(process.env.EGRESS_CAPTURE_RECORD_TRACES ?? '');
const ONLY = (process.env.EGRESS_CAPTURE_TRACE_SCENARIOS ?? '').split(',').filter(Boolean);
const SCENARIOS = ONLY.length > 0 ? TRACE_SCENARIOS.filter((s) => ONLY.includes(s.id)) : TRACE_SCENARIOS;

describeEnvoy('ext_proc traces', (version, binary) => {
  let traces: EnvoyTrace[] = [];

  beforeAll(async () => {
    traces = await recordTraces(binary, version, SCENARIOS);
    if (RECORD) for (const trace of traces) writeTrace(trace);
  }, 120_000);

  test.each(SCENARIOS.map((s) => [s.id, s] as const))('%s matches its recording', (id, scenario) => {
    const live = traces.find((t) => t.scenario === id);
    expect(live).toBeDefined();
    const recorded = readTrace(id, version);
    if (!recorded) throw new Error(`no fixture for ${id} on Envoy ${version}: run with EGRESS_CAPTURE_RECORD_TRACES=1`);
    expect(comparableTrace(live!, scenario.chunking)).toEqual(comparableTrace(recorded, scenario.chunking));
  });
});
