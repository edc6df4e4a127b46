/**
 * The capture browser in a real browser (headless Chromium), against a real
 * capture service whose exchanges came through the ext_proc emulator: what
 * a user sees in the list, the filters, the search, one exchange, live tail,
 * the in-flight view, the downloads, cURL, the diff, and hostile content
 * staying text.
 *
 * EGRESS_CAPTURE_SCREENSHOTS=1 writes the main views to docs/screenshots/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chatCompletionExchange } from '../emulator';
import { newRequestId, requestHeaders } from '../scenarios/scenario-support';
import { harErrors } from './har-validator';
import { HOSTILE_BODY, HOSTILE_PATH, NEEDLE, startSeededCapture, type SeededCapture } from './seeded-capture';
import { launchChromium } from './system-chromium';

const SCREENSHOTS = process.env.EGRESS_CAPTURE_SCREENSHOTS === '1' ? path.resolve(__dirname, '..', '..', '..', 'docs', 'screenshots') : undefined;

let c: SeededCapture;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  c = await startSeededCapture();
});
afterAll(async () => {
  await browser?.close();
  await c?.stop();
});
beforeEach(async () => {
  pageErrors.length = 0;
  page = await browser.newPage({ viewport: { width: 1500, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (message) => {
    // A CSP violation would mean the page itself relies on inline code.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) pageErrors.push(`${response.status()} ${response.url()}`);
  });
});
afterEach(async () => {
  await page.close();
  expect(pageErrors).toEqual([]);
});

async function shot(name: string): Promise<void> {
  if (SCREENSHOTS === undefined) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

const rowsShown = (): Promise<string[]> =>
  page.locator('[data-testid=exchanges] tbody tr').evaluateAll((rows) => rows.map((row) => (row as unknown as { dataset: Record<string, string> }).dataset.requestId ?? ''));

/** Polls `check` until it holds (the page's CSP refuses Playwright's string predicates). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const listedRows = (n: number): Promise<void> => until(`${n} listed rows`, async () => (await page.locator('[data-testid=exchanges] tbody tr').count()) === n);
const inFlightRows = (): Promise<number> => page.locator('[data-testid=inflight] tbody tr').count();

async function openList(query = ''): Promise<void> {
  await page.goto(`${c.adminUrl}/ui/${query}`);
  await page.locator('[data-testid=row-count]').filter({ hasText: 'exchanges' }).waitFor();
}

test('the list shows every exchange newest first, with its columns', async () => {
  await openList();
  expect(await rowsShown()).toEqual([c.ids.needle, c.ids.hostile, c.ids.serverError, c.ids.notFound, c.ids.chat]);
  const chat = page.locator(`tr[data-request-id="${c.ids.chat}"]`);
  await expect(chat.textContent()).resolves.toMatch(/POST\s*api\.openai\.com\s*\/v1\/chat\/completions\s*200\s*complete/);
  await expect(page.locator(`tr[data-request-id="${c.ids.serverError}"]`).getAttribute('class')).resolves.toBe('failed');
  await shot('list');
});

test('each filter narrows the list, lives in the URL and survives a reload', async () => {
  await openList();
  await page.selectOption('select[name=status]', '4xx');
  await page.waitForURL(/status=4xx/);
  await listedRows(1);
  expect(await rowsShown()).toEqual([c.ids.notFound]);
  await page.reload();
  await page.locator('[data-testid=row-count]').filter({ hasText: '1 exchanges' }).waitFor();
  expect(await rowsShown()).toEqual([c.ids.notFound]);
  await expect(page.locator('select[name=status]').inputValue()).resolves.toBe('4xx');

  for (const [query, expected] of [
    ['?errors=1', [c.ids.serverError, c.ids.notFound]],
    ['?authority=api.openai.com', [c.ids.chat]],
    ['?method=GET', [c.ids.notFound]],
    ['?model=gpt-4o-mini', [c.ids.chat]],
    ['?provider=openai', [c.ids.chat]],
    [`?requestId=${c.ids.hostile}`, [c.ids.hostile]],
    ['?range=5m&outcome=complete&status=5xx', [c.ids.serverError]],
  ] as const) {
    await openList(query);
    expect({ query, rows: await rowsShown() }).toEqual({ query, rows: expected });
  }

  await openList();
  await page.check('input[name=errors]');
  await page.waitForURL(/errors=1/);
  await listedRows(2);
  expect(await rowsShown()).toEqual([c.ids.serverError, c.ids.notFound]);
});

test('search finds text in paths, request and response bodies, and the folded answer', async () => {
  for (const [text, expected] of [
    [NEEDLE, c.ids.needle],
    ['upstream exploded', c.ids.serverError],
    ['/v1/missing', c.ids.notFound],
    ['quick brown fox', c.ids.chat],
  ] as const) {
    await openList();
    await page.fill('input[name=q]', text);
    await page.press('input[name=q]', 'Enter');
    await page.waitForURL((url) => url.searchParams.get('q') === text);
    await listedRows(1);
    expect(await rowsShown()).toEqual([expected]);
  }
  await shot('search');
});

test('one exchange: a streamed answer as its events and folded, headers redacted, timings', async () => {
  await openList();
  await page.click(`tr[data-request-id="${c.ids.chat}"] td.time a`);
  await page.locator('[data-testid=detail]').waitFor();
  await expect(page.locator('[data-testid=answer]').textContent()).resolves.toMatch(/^ quick brown fox jumps over the lazy dog\.The quick/);
  // 12 events and [DONE].
  await expect(page.locator('[data-testid=response-body] [data-testid=events] > li').count()).resolves.toBe(13);
  await expect(page.locator('[data-testid=response-body] [data-testid=events] > li').first().textContent()).resolves.toContain('"object": "chat.completion.chunk"');
  // The request body pretty-printed.
  await expect(page.locator('[data-testid=request-body] pre').textContent()).resolves.toContain('\n  "model": "gpt-4o-mini",');
  await expect(page.locator('.redacted').first().textContent()).resolves.toMatch(/^\[REDACTED len=\d+ hmac=/);
  await expect(page.locator('[data-testid=usage]').textContent()).resolves.toContain('gpt-4o-mini-2024-07-18');
  await expect(page.locator('[data-testid=timeline] .tl-row').count()).resolves.toBeGreaterThanOrEqual(3);
  expect(page.url()).toContain('id=');
  await shot('detail');
  // Back returns to the list.
  await page.goBack();
  await page.locator('[data-testid=exchanges]').waitFor();
});

test('hostile content in a body, a header or a path stays text and runs nothing', async () => {
  await openList();
  await expect(page.locator(`tr[data-request-id="${c.ids.hostile}"] td.path`).textContent()).resolves.toBe(HOSTILE_PATH);
  await page.click(`tr[data-request-id="${c.ids.hostile}"] td.time a`);
  await page.locator('[data-testid=detail]').waitFor();
  await expect(page.locator('[data-testid=response-body] pre').textContent()).resolves.toBe(HOSTILE_BODY);
  await expect(page.locator('.summary .url').textContent()).resolves.toContain(HOSTILE_PATH);
  await page.waitForTimeout(300);
  expect(await page.evaluate('window.__pwned')).toBeUndefined();
  // Nothing from the captured text became an element.
  expect(await page.locator('main img, main script').count()).toBe(0);
  const response = await page.request.get(`${c.adminUrl}/ui/`);
  expect(response.headers()['content-security-policy']).toMatch(/script-src 'self'/);
  expect(response.headers()['content-security-policy']).not.toContain('unsafe-inline');
});

test('live tail shows a new exchange within 2 s; paused, the view stays still', async () => {
  await openList();
  await page.check('input[name=tail]');
  await page.waitForURL(/tail=1/);
  const live = newRequestId('live');
  await c.record({ name: live, request: { headers: requestHeaders('GET', '/v1/live', live) }, response: { headers: [[':status', '200']] } });
  const recorded = Date.now();
  await page.locator(`tr[data-request-id="${live}"]`).waitFor({ timeout: 10_000 });
  expect(Date.now() - recorded).toBeLessThan(2000);
  expect((await rowsShown())[0]).toBe(live);

  await page.uncheck('input[name=tail]');
  const later = newRequestId('paused');
  await c.record({ name: later, request: { headers: requestHeaders('GET', '/v1/paused', later) }, response: { headers: [[':status', '200']] } });
  await c.s.row(later);
  await page.waitForTimeout(2000);
  expect(await page.locator(`tr[data-request-id="${later}"]`).count()).toBe(0);
});

test('in flight: a slow stream shows while it runs, with its bytes so far', async () => {
  await page.goto(`${c.adminUrl}/ui/?view=inflight`);
  const id = newRequestId('slow');
  const running = c.record(chatCompletionExchange({ id, events: 30, eventDelayMs: 150 }));
  const row = page.locator('[data-testid=inflight] tbody tr').filter({ hasText: 'api.openai.com' });
  await row.waitFor({ timeout: 5000 });
  await expect(row.textContent()).resolves.toContain('/v1/chat/completions');
  // Response bytes arrive while the stream is still listed.
  await until('a response chunk in flight', async () => / ago/.test((await row.textContent()) ?? ''), 5000);
  await shot('inflight');
  await running;
  await until('the stream to leave the in-flight view', async () => (await inFlightRows()) === 0, 5000);
});

test('HAR download of the list is valid HAR 1.2 and holds the stored exchanges', async () => {
  await openList('?authority=api.example.com');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-har]')]);
  const har = JSON.parse(fs.readFileSync((await download.path())!, 'utf8'));
  expect(harErrors(har)).toEqual([]);
  expect(har.log.version).toBe('1.2');
  const urls = har.log.entries.map((entry: { request: { url: string } }) => entry.request.url);
  expect(urls).toContain('https://api.example.com/v1/notes');
  expect(urls).toContain('https://api.example.com/v1/broken');
});

test('copy as cURL gives a command with the stored request, secrets still redacted', async () => {
  await page.goto(`${c.adminUrl}/ui/`);
  await page.click(`tr[data-request-id="${c.ids.chat}"] td.time a`);
  await page.click('[data-testid=copy-curl]');
  const command = (await page.locator('[data-testid=curl]').textContent())!;
  expect(command).toMatch(/^curl -X 'POST' 'https:\/\/api\.openai\.com\/v1\/chat\/completions' /);
  expect(command).toContain(`-H 'x-request-id: ${c.ids.chat}'`);
  expect(command).toMatch(/-H 'authorization: \[REDACTED len=\d+ hmac=[0-9a-f]+\]'/);
  expect(command).not.toContain('sk-test-0000000000000000');
  expect(command).toContain(`--data-raw '{"model":"gpt-4o-mini"`);
});

test('compare two exchanges: headers and bodies diffed', async () => {
  await openList();
  await page.check(`tr[data-request-id="${c.ids.serverError}"] input[type=checkbox]`);
  await page.check(`tr[data-request-id="${c.ids.needle}"] input[type=checkbox]`);
  await page.click('[data-testid=compare-selected]');
  await page.locator('[data-testid=compare]').waitFor();
  const diffs = page.locator('[data-testid=body-diff]');
  await expect(diffs.nth(0).locator('.del').allTextContents()).resolves.toEqual(['-   "ask": "fail please"']);
  await expect(diffs.nth(0).locator('.add').allTextContents()).resolves.toEqual([`+   "note": "remember the ${NEEDLE}"`]);
  await expect(page.locator('.diff-headers tr.changed th').allTextContents()).resolves.toContain('x-request-id');
  await shot('compare');
});

test('overview draws the four charts over the range', async () => {
  await page.goto(`${c.adminUrl}/ui/?view=overview&range=1h`);
  await page.locator('[data-testid=overview]').waitFor();
  for (const chart of ['chart-rps', 'chart-errors', 'chart-duration', 'chart-tokens']) {
    await expect(page.locator(`[data-testid=${chart}] canvas`).count()).resolves.toBe(1);
  }
  await expect(page.locator('[data-testid=chart-tokens]').textContent()).resolves.toContain('gpt-4o-mini-2024-07-18');
  await shot('overview');
});
