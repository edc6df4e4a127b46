/**
 * ClickHouse HTTP sessions with writes allowed: a temporary table lives in
 * its session (session_id) until session_timeout, is seen by no other
 * session and by no request without one, and a request without a session
 * keeps its temporary table to itself — as ClickHouse scopes them. External
 * data tables belong to their request, also in a session.
 */
import { CLIENT_PASSWORD, CLIENT_USER, useClientHarness } from '../clickhouse-clients/client-harness';

const AUTH = `Basic ${Buffer.from(`${CLIENT_USER}:${CLIENT_PASSWORD}`).toString('base64')}`;

describe('admin ClickHouse interface: sessions', () => {
  const harness = useClientHarness();

  async function post(body: string, params: Record<string, string> = {}): Promise<{ status: number; code: string | null; text: string }> {
    const url = new URL('/', harness().adminUrl);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    const res = await fetch(url, { method: 'POST', body, headers: { authorization: AUTH } });
    return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), text: await res.text() };
  }

  it('keeps a temporary table for its session only', async () => {
    expect((await post('CREATE TEMPORARY TABLE staging (id UInt32)', { session_id: 'a' })).status).toBe(200);
    expect((await post('INSERT INTO staging FORMAT CSV\n1\n2\n', { session_id: 'a' })).status).toBe(200);
    expect((await post('SELECT sum(id) FROM staging', { session_id: 'a' })).text).toBe('3\n');
    expect(await post('SELECT sum(id) FROM staging', { session_id: 'b' })).toMatchObject({ code: '60' });
    expect(await post('SELECT sum(id) FROM staging')).toMatchObject({ code: '60' });
    expect(await post('SELECT 1', { session_id: 'never-created', session_check: '1' })).toMatchObject({ status: 404, code: '372' });
  });

  it('drops a temporary table made without a session at the end of its request', async () => {
    expect((await post('CREATE TEMPORARY TABLE scratch (id UInt32)')).status).toBe(200);
    expect(await post('SELECT count() FROM scratch')).toMatchObject({ code: '60' });
  });

  it("gives a request's external tables to that request only, not to its session", async () => {
    const url = new URL('/', harness().adminUrl);
    url.searchParams.set('session_id', 'external');
    url.searchParams.set('ids_types', 'UInt32');
    url.searchParams.set('query', 'INSERT INTO kept SELECT _1 FROM ids');
    expect((await post('CREATE TEMPORARY TABLE kept (id UInt32)', { session_id: 'external' })).status).toBe(200);
    const form = new FormData();
    form.append('ids', new Blob(['4\n5\n']), 'ids.tsv');
    const res = await fetch(url, { method: 'POST', body: form, headers: { authorization: AUTH } });
    expect(res.status).toBe(200);
    await res.text();
    // The session's own table kept the rows; the external one went with its request.
    expect((await post('SELECT sum(id) FROM kept', { session_id: 'external' })).text).toBe('9\n');
    expect(await post('SELECT * FROM ids', { session_id: 'external' })).toMatchObject({ code: '60' });
  });

  it('ends a session after session_timeout seconds without a request', async () => {
    expect((await post('CREATE TEMPORARY TABLE short (id UInt32)', { session_id: 'short', session_timeout: '1' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await post('SELECT count() FROM short', { session_id: 'short', session_check: '1' })).toMatchObject({ code: '372' });
  });

  it('serves one request at a time per session, as ClickHouse does', async () => {
    const slow = post('SELECT sleep(1)', { session_id: 'busy' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const concurrent = await post('SELECT 1', { session_id: 'busy' });
    expect(concurrent).toMatchObject({ status: 409, code: '373' });
    expect((await slow).status).toBe(200);
  });

  it('refuses a session_timeout above the maximum, naming it', async () => {
    expect(await post('SELECT 1', { session_id: 'long', session_timeout: '7200' })).toMatchObject({ status: 400, code: '374', text: expect.stringContaining('maximum 3600') });
  });
});
