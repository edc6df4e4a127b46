/**
 * Runs the trace scenarios through one real Envoy: one listener per scenario,
 * each with its own ext_proc cluster pointing at its own RecordingProcessor,
 * all routing to one loopback upstream. Scenarios run one after another (body
 * chunk boundaries depend on timing), and their calls are awaited together at
 * the end (observability mode closes its call seconds after the exchange).
 */
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import type { Endpoint, ListenerConfig } from './envoy-bootstrap';
import { startEnvoy, type EnvoyProcess } from './envoy-process';
import { headerPair, traceBody, traceCall, type EnvoyTrace, type Pair, type TraceHttp } from './envoy-trace';
import { curl, nodeHttp2, type ClientResponse } from './http-clients';
import { RecordingProcessor } from './recording-processor';
import { testId, timerOf, type TraceScenario } from './trace-scenarios';
import { startUpstream, type UpstreamServer } from './upstream-server';

function listenerName(scenario: TraceScenario): string {
  return `trace_${scenario.id.replace(/-/g, '_')}`;
}

/** The filter config as Envoy reads it, for the fixture (what was configured, in Envoy's words). */
function describeConfig(scenario: TraceScenario): object {
  const { processingMode, ...rest } = scenario.extProc;
  return { processingMode, ...rest, ...(scenario.listener?.bufferLimitBytes ? { perConnectionBufferLimitBytes: scenario.listener.bufferLimitBytes } : {}) };
}

async function runClient(scenario: TraceScenario, port: number): Promise<ClientResponse> {
  const { client } = scenario;
  const request = { port, method: client.method, path: client.path, headers: client.headers, body: client.body, testId: testId(scenario.id), timeoutMs: 15_000 };
  if (client.kind === 'node-h2') return nodeHttp2({ ...request, bodyPieces: client.bodyPieces });
  return curl(request, { http2: client.kind === 'curl-h2', extraArgs: client.curlArgs });
}

function describeClient(scenario: TraceScenario): string {
  const { kind, method, path, body, bodyPieces } = scenario.client;
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const pieces = bodyPieces && ` (body in pieces: ${bodyPieces.map((piece) => `${piece.data.length} B after ${piece.delayMs} ms`).join(', ')}; the last ends the stream)`;
  return `${kind} ${method} ${path}${pieces ?? (body ? ` (body ${body.length} B, sha256 ${sha(body)})` : '')}`;
}

function pairsOf(headers: Record<string, string | string[] | undefined>): Pair[] {
  const out: Pair[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(headerPair(name, v));
  }
  return out;
}

interface Pending {
  scenario: TraceScenario;
  processor: RecordingProcessor;
  response?: ClientResponse;
  clientDoneAt: number;
  upstream: TraceHttp | null;
}

/** Records every scenario through Envoy `version`; returns one trace per scenario, in order. */
export async function recordTraces(binary: string, version: string, scenarios: TraceScenario[]): Promise<EnvoyTrace[]> {
  const upstream: UpstreamServer = await startUpstream();
  const processors = scenarios.map((s) => new RecordingProcessor(s.processor));
  let envoy: EnvoyProcess | undefined;
  try {
    const clusters: Record<string, Endpoint> = {};
    const listeners: ListenerConfig[] = [];
    for (let i = 0; i < scenarios.length; i++) {
      const cluster = `ext_proc_trace_${i}`;
      clusters[cluster] = { port: await processors[i]!.start() };
      listeners.push({ ...scenarios[i]!.listener, name: listenerName(scenarios[i]!), extProc: { ...scenarios[i]!.extProc, cluster } });
    }
    envoy = await startEnvoy(binary, version, {
      listeners,
      upstreamH1: { port: upstream.h1Port },
      upstreamH2: { port: upstream.h2Port },
      extProcClusters: clusters,
    });
    const pending: Pending[] = [];
    for (let i = 0; i < scenarios.length; i++) {
      const scenario = scenarios[i]!;
      const response = await runClient(scenario, envoy.ports[listenerName(scenario)]!);
      const clientDoneAt = performance.now();
      const sent = upstream.sent(testId(scenario.id));
      let upstreamSeen: TraceHttp | null = null;
      if (sent !== undefined) {
        const received = await upstream.received(testId(scenario.id));
        upstreamSeen = { protocol: received.protocol, headers: pairsOf(received.headers), body: traceBody(received.body) };
      }
      pending.push({ scenario, processor: processors[i]!, response, clientDoneAt, upstream: upstreamSeen });
      // Let this scenario's call finish before the next one starts (unless it lingers, as observability mode does).
      await processors[i]!.settled(1, 1000);
    }
    const traces: EnvoyTrace[] = [];
    for (const p of pending) {
      await p.processor.settled(1, 8000);
      const response = p.response!;
      const stats = await envoy.extProcStats(listenerName(p.scenario));
      const downstream: TraceHttp = {
        status: response.status,
        headers: Object.entries(response.headers).map(([name, value]) => headerPair(name, value)),
        // curl --head writes the response head to -o: a HEAD answer has no body to record.
        body: traceBody(p.scenario.client.method === 'HEAD' ? Buffer.alloc(0) : response.body),
        ...(response.trailers ? { trailers: Object.entries(response.trailers).map(([name, value]) => headerPair(name, value)) } : {}),
        ...(response.error ? { error: response.error } : {}),
      };
      traces.push({
        scenario: p.scenario.id,
        envoyVersion: version,
        description: p.scenario.description,
        extProcConfig: describeConfig(p.scenario),
        client: describeClient(p.scenario),
        calls: p.processor.calls.map((call) => traceCall(call, p.clientDoneAt, p.scenario.processor?.requestHeadersReplyDelayMs !== undefined, timerOf(p.scenario))),
        downstream,
        upstream: p.upstream,
        envoyStats: Object.fromEntries(
          Object.entries(stats)
            .filter(([, value]) => value !== 0)
            .sort(([a], [b]) => a.localeCompare(b)),
        ),
      });
    }
    return traces;
  } finally {
    await envoy?.stop();
    for (const p of processors) p.stop();
    await upstream.close();
  }
}
