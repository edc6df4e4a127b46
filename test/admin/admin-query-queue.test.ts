/**
 * The admin interface's query slots are bounded on both sides: queries past
 * --admin-max-concurrent-queries wait, and past --admin-max-queued-queries
 * waiting ones they are refused at once, the way ClickHouse refuses them
 * (error 202 TOO_MANY_SIMULTANEOUS_QUERIES, HTTP 503), while the queries
 * already admitted finish normally.
 */
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';

const AUTH = `Basic ${Buffer.from('analyst:s3cret').toString('base64')}`;

let harness: CaptureHarness;

beforeAll(async () => {
  harness = await startCaptureHarness({ adminUser: 'analyst', adminPassword: 's3cret', adminMaxConcurrentQueries: 1, adminMaxQueuedQueries: 1 });
});

afterAll(() => harness?.stop());

function query(sql: string): Promise<Response> {
  const url = new URL('/', harness.adminUrl);
  url.searchParams.set('query', sql);
  return fetch(url, { headers: { authorization: AUTH } });
}

it('runs one, queues one, and refuses the third with 202 / HTTP 503 at once', async () => {
  const running = query('SELECT sleep(1.5)');
  // Let the first take the slot before the others arrive.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const queued = query('SELECT 2');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const startedAt = Date.now();
  const refused = await query('SELECT 3');
  expect(Date.now() - startedAt).toBeLessThan(1000);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('x-clickhouse-exception-code')).toBe('202');
  expect(await refused.text()).toMatch(/^Code: 202\. DB::Exception: Too many simultaneous queries on the admin interface: 1 running and 1 waiting .*\(TOO_MANY_SIMULTANEOUS_QUERIES\)\n$/);
  expect((await running).status).toBe(200);
  const second = await queued;
  expect(second.status).toBe(200);
  expect(await second.text()).toBe('2\n');
  // Once the queue drained, queries run again.
  expect(await (await query('SELECT 4')).text()).toBe('4\n');
});
