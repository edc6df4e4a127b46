/**
 * The capture browser's JSON API over real HTTP, against a real capture
 * service whose exchanges came through the ext_proc emulator.
 */
import * as http from 'node:http';
import { harErrors } from './har-validator';
import { HOSTILE_BODY, HOSTILE_PATH, NEEDLE, startSeededCapture, type SeededCapture } from './seeded-capture';

let c: SeededCapture;
beforeAll(async () => {
  c = await startSeededCapture();
});
afterAll(async () => {
  await c.stop();
});

async function api<T = any>(path: string): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${c.adminUrl}${path}`);
  const text = await res.text();
  return { status: res.status, body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text, headers: res.headers };
}

const requestIds = (rows: Array<{ RequestId: string }>): string[] => rows.map((row) => row.RequestId);

describe('GET /api/exchanges', () => {
  test('lists every stored exchange newest first, with the list columns and no bodies', async () => {
    const { status, body, headers } = await api('/api/exchanges');
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(requestIds(body.exchanges)).toEqual([c.ids.needle, c.ids.hostile, c.ids.serverError, c.ids.notFound, c.ids.chat]);
    const chat = body.exchanges.at(-1);
    expect(chat).toMatchObject({ Method: 'POST', Authority: 'api.openai.com', Path: '/v1/chat/completions', StatusCode: 200, Outcome: 'complete', GenAiProvider: 'openai' });
    expect(chat).not.toHaveProperty('RequestBody');
    expect(body.next).toBeNull();
  });

  test('pages with limit and the next cursor, without gaps or repeats', async () => {
    const first = await api('/api/exchanges?limit=2');
    expect(requestIds(first.body.exchanges)).toEqual([c.ids.needle, c.ids.hostile]);
    const second = await api(`/api/exchanges?limit=2&cursor=${first.body.next}`);
    expect(requestIds(second.body.exchanges)).toEqual([c.ids.serverError, c.ids.notFound]);
    const third = await api(`/api/exchanges?limit=2&cursor=${second.body.next}`);
    expect(requestIds(third.body.exchanges)).toEqual([c.ids.chat]);
    expect(third.body.next).toBeNull();
  });

  test('paging through a search one row at a time gives every match once, newest first', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const { body } = await api(`/api/exchanges?q=%2F&limit=1${cursor === '' ? '' : `&cursor=${cursor}`}`);
      seen.push(...requestIds(body.exchanges));
      if (body.next === null) break;
      cursor = body.next;
    }
    expect(seen).toEqual([c.ids.needle, c.ids.hostile, c.ids.serverError, c.ids.notFound, c.ids.chat]);
  });

  test.each([
    ['status=4xx', ['notFound']],
    ['status=500', ['serverError']],
    ['errors=1', ['serverError', 'notFound']],
    ['method=get', ['notFound']],
    ['authority=api.openai.com', ['chat']],
    ['provider=openai', ['chat']],
    ['model=gpt-4o-mini', ['chat']],
    ['outcome=complete&status=201', ['needle']],
    [`q=${NEEDLE.toUpperCase()}`, ['needle']],
    ['q=upstream%20exploded', ['serverError']],
    ['q=%2Fv1%2Fmissing', ['notFound']],
    ['q=quick%20brown', ['chat']],
    // A chat stream is searched through what was folded out of it (its id and model too),
    // not its framing: `chunk` is only in every event's "object":"chat.completion.chunk".
    ['q=chatcmpl', ['chat']],
    ['q=chunk', []],
    // Whole words, in any order, case ignored: what the text index answers.
    ['q=EXPLODED%20upstream', ['serverError']],
    ['q=explod', []],
    ['range=5m', ['needle', 'hostile', 'serverError', 'notFound', 'chat']],
    ['to=2000-01-01T00:00:00Z&from=1999-01-01T00:00:00Z', []],
  ] as const)('filter %s', async (filter, expected) => {
    const { status, body } = await api(`/api/exchanges?${filter}`);
    expect(status).toBe(200);
    expect(requestIds(body.exchanges)).toEqual(expected.map((name) => c.ids[name as keyof typeof c.ids]));
  });

  test('requestId and traceId filters find one exchange', async () => {
    const { body } = await api(`/api/exchanges?requestId=${encodeURIComponent(c.ids.hostile)}`);
    expect(requestIds(body.exchanges)).toEqual([c.ids.hostile]);
    expect(body.exchanges[0].Path).toBe(HOSTILE_PATH);
  });

  test('a value is bound, never SQL: quotes and braces match nothing and break nothing', async () => {
    for (const value of ["x' OR 1=1 --", '{q:String}', "') UNION SELECT 1 --", '\\']) {
      const { status, body } = await api(`/api/exchanges?authority=${encodeURIComponent(value)}&q=${encodeURIComponent(value)}`);
      expect(status).toBe(200);
      expect(body.exchanges).toEqual([]);
    }
  });

  test.each([
    ['range=2w', /range="2w" is not a quick range; expected one of 5m, 15m/],
    ['status=abc', /status="abc": expected a class/],
    ['from=yesterday', /from="yesterday" is not a time; expected ISO 8601/],
    ['limit=0', /limit="0": expected a whole number from 1 to 1000/],
    ['cursor=nope', /cursor="nope" is not a cursor/],
  ])('bad %s is a 400 naming the parameter, the value and the expected form', async (query, message) => {
    const { status, body } = await api(`/api/exchanges?${query}`);
    expect(status).toBe(400);
    expect(body.error).toMatch(message);
  });
});

describe('GET /api/exchanges/{CaptureId}', () => {
  test('one exchange with headers, bodies, the folded answer and usage', async () => {
    const listed = await api(`/api/exchanges?requestId=${c.ids.chat}`);
    const id = listed.body.exchanges[0].CaptureId;
    const { status, body } = await api(`/api/exchanges/${id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ CaptureId: id, RequestId: c.ids.chat, GenAiStreaming: true, GenAiRequestModel: 'gpt-4o-mini' });
    expect(body.GenAiOutputText).toContain('quick brown');
    expect(body.ResponseBody).toContain('data: [DONE]');
    expect(JSON.parse(body.RequestBody).user).toBe(c.ids.chat);
    // Captured credentials stay redacted.
    expect(body.RequestHeaders.authorization).not.toContain('sk-test-0000000000000000');
    expect(body.ResponseHeaders['content-type']).toContain('text/event-stream');
  });

  test('an unknown id is a 404, a malformed one a 400', async () => {
    expect((await api('/api/exchanges/01900000-0000-7000-8000-000000000000')).status).toBe(404);
    const bad = await api(`/api/exchanges/${encodeURIComponent("x' OR 1")}`);
    expect(bad.status).toBe(400);
  });
});

describe('charts, facets, in flight, export', () => {
  test('charts cover the range bucket by bucket with the stored counts', async () => {
    const { status, body } = await api('/api/charts?range=1h');
    expect(status).toBe(200);
    expect(body.stepSeconds).toBe(30);
    expect(body.t.length).toBeGreaterThanOrEqual(120);
    expect(body.requests.reduce((a: number, b: number) => a + b, 0)).toBe(5);
    const errorBuckets = body.errorRate.filter((rate: number | null) => rate !== null && rate > 0);
    expect(errorBuckets.length).toBeGreaterThan(0);
    expect(Object.keys(body.tokensByModel)).toEqual(['gpt-4o-mini-2024-07-18']);
  });

  test('facets list what the range holds', async () => {
    const { body } = await api('/api/facets');
    expect(body.authorities).toEqual(['api.example.com', 'api.openai.com']);
    expect(body.methods).toEqual(['GET', 'POST']);
    expect(body.providers).toEqual(['openai']);
  });

  test('in flight is empty between exchanges', async () => {
    const { body } = await api('/api/inflight');
    expect(body.exchanges).toEqual([]);
  });

  test('HAR export is HAR 1.2 with the stored bodies; CSV defuses formulas', async () => {
    const har = await api(`/api/export?format=har&requestId=${c.ids.hostile}`);
    expect(har.status).toBe(200);
    expect(har.headers.get('content-disposition')).toBe('attachment; filename="exchanges.har"');
    const parsed = har.body;
    expect(harErrors(parsed)).toEqual([]);
    expect(parsed.log.version).toBe('1.2');
    expect(parsed.log.entries[0].response.content.text).toBe(HOSTILE_BODY);
    const listed = await api('/api/exchanges?authority=api.example.com');
    const ids = listed.body.exchanges.map((row: { CaptureId: string }) => row.CaptureId).slice(0, 2);
    const chosen = await api(`/api/export?format=json&ids=${ids.join(',')}`);
    expect(chosen.body.map((row: { CaptureId: string }) => row.CaptureId)).toEqual(ids);
    expect(chosen.body[0]).toHaveProperty('RequestBody');
    const csv = await api('/api/export?format=csv');
    expect((csv.body as unknown as string).split('\r\n')[0]).toMatch(/^Time,Path,CaptureId,Method,Authority,StatusCode/);
  });
});

test('without credentials on loopback, the page and the API refuse a foreign Host (DNS rebinding)', async () => {
  const port = Number(new URL(c.adminUrl).port);
  for (const path of ['/ui/', '/api/exchanges']) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, headers: { host: 'rebound.example:9003' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect({ path, status }).toEqual({ path, status: 403 });
  }
});
