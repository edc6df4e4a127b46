/**
 * The capture browser's page and API answer only who the admin ClickHouse
 * interface answers: with --admin-user/--admin-password set, nothing without
 * them (the browser is asked for them: WWW-Authenticate Basic).
 */
import { startCaptureHarness, type CaptureHarness } from '../support/capture-harness';
import { launchChromium } from './system-chromium';

let h: CaptureHarness;
beforeAll(async () => {
  h = await startCaptureHarness({ adminUser: 'viewer', adminPassword: 's3cret-pass' });
});
afterAll(async () => {
  await h.stop();
});

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test.each(['/ui/', '/ui/index.html', '/api/exchanges', '/api/exchanges/01900000-0000-7000-8000-000000000000', '/api/charts', '/api/inflight', '/api/export?format=har'])(
  '%s is 401 without credentials and with a wrong password, 200/404 with the right ones',
  async (path) => {
    const none = await fetch(`${h.adminUrl}${path}`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(await none.text()).not.toContain('CaptureId');
    const wrong = await fetch(`${h.adminUrl}${path}`, { headers: { authorization: basic('viewer', 'nope') } });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${h.adminUrl}${path}`, { headers: { authorization: basic('viewer', 's3cret-pass') } });
    expect(right.status).toBe(path.includes('0190') ? 404 : 200);
  },
);

test('the API is read-only: other methods are refused', async () => {
  const res = await fetch(`${h.adminUrl}/api/exchanges`, { method: 'POST', headers: { authorization: basic('viewer', 's3cret-pass') }, body: 'DROP TABLE http_exchanges' });
  expect(res.status).toBe(405);
  expect((await h.rows('SELECT count() AS n FROM http_exchanges'))[0]).toEqual({ n: 0 });
});

test('in a browser: refused without credentials, the list with them', async () => {
  const browser = await launchChromium();
  try {
    const anonymous = await browser.newPage();
    // Headless Chromium has no one to ask for the password: the 401's Basic challenge ends the navigation.
    await expect(anonymous.goto(`${h.adminUrl}/ui/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    expect(await anonymous.locator('[data-testid=exchanges]').count()).toBe(0);
    const signedIn = await browser.newPage({ httpCredentials: { username: 'viewer', password: 's3cret-pass' } });
    const page = await signedIn.goto(`${h.adminUrl}/ui/`);
    expect(page?.status()).toBe(200);
    await signedIn.locator('[data-testid=row-count]').filter({ hasText: '0 exchanges' }).waitFor();
  } finally {
    await browser.close();
  }
});
