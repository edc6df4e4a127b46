/**
 * Admin queries against the real service and its embedded store: a slow
 * query does not hold the capture writer's inserts, and every query runs
 * under the time, memory and result-size limits, which neither a URL setting
 * nor a SETTINGS clause can lift.
 */
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { captureBodilessGet } from '../support/raw-extproc-client';

const USER = 'ops';
const PASSWORD = 'limits-test';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

describe('admin queries beside the capture', () => {
  let harness: CaptureHarness;

  beforeAll(async () => {
    harness = await startCaptureHarness({
      adminUser: USER,
      adminPassword: PASSWORD,
      adminMaxExecutionTimeSeconds: 4,
      adminMaxMemoryUsageBytes: 64 * 1024 * 1024,
      adminMaxResultBytes: 100_000,
    });
  });

  afterAll(async () => {
    await harness.stop();
  });

  async function query(sql: string, params: Record<string, string> = {}): Promise<{ status: number; code: string | null; body: string }> {
    const url = new URL('/', harness.adminUrl);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const res = await fetch(url, { method: 'POST', body: sql, headers: { authorization: AUTH } });
    return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), body: await res.text() };
  }

  async function capture(authority: string): Promise<void> {
    await captureBodilessGet(harness.grpcAddress, authority);
  }

  it('stores exchanges while slow admin queries run, without waiting for them', async () => {
    // More slow queries than libuv has threads (4): unbounded, they would hold every thread the writer needs.
    let slowDone = 0;
    const slow = Array.from({ length: 6 }, () =>
      query('SELECT sleepEachRow(1) FROM numbers(3)').then((answer) => {
        slowDone++;
        return answer;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The first two slow queries hold their slots for 3 s: a row seen before any of them ends was written beside them.
    await capture('isolation.test');
    const rows = await harness.rows("SELECT Authority FROM http_exchanges WHERE Authority = 'isolation.test'");
    expect(rows).toHaveLength(1);
    expect(slowDone).toBe(0);
    const answers = await Promise.all(slow);
    for (const answer of answers) expect(answer.status).toBe(200);
  }, 30_000);

  it('stops a query at max_execution_time', async () => {
    const answer = await query('SELECT sleepEachRow(0.5) FROM numbers(20) SETTINGS max_block_size = 1');
    expect(answer.status).not.toBe(200);
    expect(answer.body).toMatch(/TIMEOUT_EXCEEDED|Timeout exceeded/);
  }, 20_000);

  it('stops a result larger than max_result_bytes', async () => {
    const answer = await query('SELECT number FROM numbers(1000000)');
    expect(answer.status).not.toBe(200);
    expect(answer.body).toMatch(/TOO_MANY_ROWS_OR_BYTES|Limit for result exceeded/);
  });

  it('stops a query past max_memory_usage', async () => {
    const answer = await query('SELECT groupArray(number) FROM numbers(20000000) FORMAT Null');
    expect(answer.status).not.toBe(200);
    expect(answer.body).toMatch(/MEMORY_LIMIT_EXCEEDED|memory limit exceeded/i);
  });

  it("lowers a client's longer max_execution_time to the limit: the query still stops there", async () => {
    // clickhouse-go sends its context deadline + 5 s on every query; refusing it would refuse the driver.
    const answer = await query('SELECT sleepEachRow(0.5) FROM numbers(20) SETTINGS max_block_size = 1', { max_execution_time: '100' });
    expect(answer.status).not.toBe(200);
    expect(answer.body).toMatch(/TIMEOUT_EXCEEDED|Timeout exceeded/);
  }, 20_000);

  it.each([
    ['max_execution_time', '0'],
    ['max_memory_usage', '0'],
    ['max_memory_usage', String(1024 * 1024 * 1024)],
    ['max_result_bytes', '0'],
    ['max_result_bytes', '100001'],
  ])('refuses %s=%s as a URL setting', async (name, value) => {
    const answer = await query('SELECT 1', { [name]: value });
    expect(answer.status).toBe(403);
    expect(answer.code).toBe('452');
  });

  it.each(['SELECT 1 SETTINGS max_execution_time = 0', 'SELECT 1 SETTINGS max_result_bytes = 1000000000', "SELECT 1 SETTINGS max_memory_usage = '0'"])(
    'refuses to lift a limit in a final SETTINGS clause: %s',
    async (sql) => {
      const answer = await query(sql);
      expect(answer.status).toBe(403);
      expect(answer.code).toBe('452');
    },
  );

  it('refuses SETTINGS inside a subquery, and SET', async () => {
    const inner = await query('SELECT * FROM (SELECT number FROM numbers(1000000) SETTINGS max_result_bytes = 0)');
    expect(inner.status).toBe(403);
    const set = await query('SET max_execution_time = 0');
    expect(set.status).toBe(403);
  });

  it('accepts a lower limit from the client', async () => {
    const answer = await query('SELECT 1', { max_execution_time: '1', max_result_bytes: '50000' });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('1\n');
    const clause = await query('SELECT 2 SETTINGS max_memory_usage = 10000000');
    expect(clause.body).toBe('2\n');
  });
});
