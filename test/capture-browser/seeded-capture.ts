/**
 * A real capture service with a known set of exchanges recorded through the
 * Envoy emulator (real gRPC, real workers, real embedded ClickHouse), for
 * the capture browser's API and page tests.
 */
import { chatCompletionExchange, type HttpExchangeSpec } from '../emulator';
import { DEFAULT_CAPTURE_CONTENT_TYPES } from '../../src/gateway/defaults';
import type { RuntimeConfig } from '../../src/config/runtime-config';
import { jsonPost, newRequestId, requestHeaders, startScenarios, type Scenarios } from '../scenarios/scenario-support';

/** Markup a captured body or path may carry: it must reach the page as text. */
export const HOSTILE_BODY = '<script>window.__pwned = "script"</script><img src=x onerror="window.__pwned = \'img\'">';
export const HOSTILE_PATH = '/hostile/<img src=x onerror=alert(1)>';
/** A word only one stored body holds. */
export const NEEDLE = 'zanzibar-quokka';

export interface SeededIds {
  chat: string;
  notFound: string;
  serverError: string;
  hostile: string;
  needle: string;
}

export interface SeededCapture {
  s: Scenarios;
  ids: SeededIds;
  adminUrl: string;
  /** Records one more exchange (live tail). */
  record(spec: HttpExchangeSpec): Promise<void>;
  stop(): Promise<void>;
}

function answered(status: number, contentType: string, body: string): HttpExchangeSpec['response'] {
  return {
    headers: [
      [':status', String(status)],
      ['content-type', contentType],
    ],
    body: [body],
  };
}

export async function startSeededCapture(overrides: Partial<RuntimeConfig> = {}): Promise<SeededCapture> {
  // HTML kept too: the hostile exchange answers with markup.
  const s = await startScenarios({ includeContentTypes: [...DEFAULT_CAPTURE_CONTENT_TYPES, 'text/html'], ...overrides });
  const ids: SeededIds = {
    chat: newRequestId('chat'),
    notFound: newRequestId('missing'),
    serverError: newRequestId('broken'),
    hostile: newRequestId('hostile'),
    needle: newRequestId('needle'),
  };
  // Bodies both ways, streamed, as the README's recommended Envoy configuration sends them.
  const envoy = await s.warmEnvoy({ processingMode: { requestBodyMode: 'STREAMED', responseBodyMode: 'STREAMED' } });
  const specs: HttpExchangeSpec[] = [
    chatCompletionExchange({ id: ids.chat, events: 12, eventDelayMs: 2 }),
    { name: ids.notFound, request: { headers: requestHeaders('GET', '/v1/missing', ids.notFound) }, response: answered(404, 'application/json', '{"error":"no such thing"}') },
    jsonPost('/v1/broken', ids.serverError, ['{"ask":"fail please"}'], answered(500, 'application/json', '{"error":{"message":"upstream exploded"}}')),
    jsonPost(HOSTILE_PATH, ids.hostile, [JSON.stringify({ html: HOSTILE_BODY })], answered(200, 'text/html', HOSTILE_BODY)),
    jsonPost('/v1/notes', ids.needle, [JSON.stringify({ note: `remember the ${NEEDLE}` })], answered(201, 'application/json', '{"ok":true}')),
  ];
  for (const spec of specs) await envoy.runExchange(spec);
  // Every seeded exchange is stored before a test looks.
  for (const id of Object.values(ids)) await s.row(id);
  return {
    s,
    ids,
    adminUrl: s.harness.adminUrl,
    async record(spec) {
      await envoy.runExchange(spec);
    },
    stop: () => s.stop(),
  };
}
