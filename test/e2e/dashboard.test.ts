/**
 * The dashboard in real headless Chromium: it loads from the bridge with no external request, shows
 * connected tabs live, runs a call from its form, kicks a tab, shows hostile page titles as text, asks
 * for the token when the bridge has one, lays out sanely (checked on a screenshot), says how to
 * connect a page when none is, words counts of one in the singular and shows page stacks as text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { postJson, startTestBridge, until } from '../helpers/bridge.js';
import { connectFakePage } from '../helpers/fake-page.js';
import { openStream } from '../helpers/stream-reader.js';

const XSS_TITLE = '<img src=x onerror=alert(1)>';
const TOKEN = 'dashboard-e2e-token-0123456789';
const SCREENSHOT = join(process.env.PAGECALL_SCREENSHOT_DIR ?? tmpdir(), 'pagecall-dashboard.png');

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

let site: TestSite;
let browser: Browser;
const cleanups: Array<() => unknown> = [];

before(async () => {
  // A tab: ?bridge=&group=&title=&key= — loads the injector the way the snippet does and registers functions.
  site = await startSite({
    '/tab': (req, res) => {
      const q = new URL(req.url!, 'http://x').searchParams;
      const src = new URL('/injector.js', q.get('bridge')!);
      const connect = JSON.stringify({ url: `${q.get('bridge')!.replace(/^http/, 'ws')}/v1/ws`, group: q.get('group'), key: q.get('key') }).replace(/</g, '\\u003c');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>${escapeHtml(q.get('title') ?? 'tab')}</title>
<script src="${escapeHtml(src.href)}"></script>
<script>pagecall.connect(${connect});
pagecall.register('add', (a, b) => a + b); pagecall.register('shout', (s) => String(s).toUpperCase());
pagecall.register('boom', function checkLimit() { throw new RangeError('out of range: 7'); });</script>`);
    },
  });
  browser = await launchTestBrowser();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await browser?.close();
  await site?.close();
});

async function openTab(context: BrowserContext, bridge: Bridge, group: string, title: string): Promise<{ page: Page; clientId: string }> {
  const page = await context.newPage();
  const url = new URL('/tab', site.url);
  url.searchParams.set('bridge', bridge.url);
  url.searchParams.set('group', group);
  url.searchParams.set('title', title);
  url.searchParams.set('key', bridge.groupKey(group));
  const before = new Set(bridge.clients(group).map((c) => c.id));
  await page.goto(url.href);
  const client = await until(() => bridge.clients(group).find((c) => !before.has(c.id) && c.title === title), `tab "${title}" joins`);
  return { page, clientId: client.id };
}

interface Watch {
  requests: string[];
  dialogs: string[];
  errors: string[];
}

async function openDashboard(context: BrowserContext, bridge: Bridge): Promise<{ page: Page; watch: Watch; csp: string | undefined }> {
  const page = await context.newPage();
  const watch: Watch = { requests: [], dialogs: [], errors: [] };
  page.on('request', (r) => watch.requests.push(r.url()));
  page.on('dialog', (d) => {
    watch.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => watch.errors.push(e.message));
  const response = await page.goto(`${bridge.url}/`);
  assert.equal(response?.status(), 200);
  return { page, watch, csp: response?.headers()['content-security-policy'] };
}

const row = (page: Page, clientId: string) => page.locator(`tr[data-client-id="${clientId}"]`);

/** Boxes of the main regions: all visible, inside the viewport's width, none overlapping another. */
async function checkLayout(page: Page): Promise<void> {
  const layout = await page.evaluate(() => {
    const win = globalThis as any;
    const boxes: Record<string, { x: number; y: number; w: number; h: number }> = {};
    for (const sel of ['header.top', '#pages', '#streams', '#calls', '#throughput', '#try', '#snippet']) {
      const r = win.document.querySelector(sel).getBoundingClientRect();
      boxes[sel] = { x: r.left, y: r.top + win.scrollY, w: r.width, h: r.height };
    }
    return { boxes, viewport: win.innerWidth as number, scrollWidth: win.document.documentElement.scrollWidth as number };
  });
  assert.ok(layout.scrollWidth <= layout.viewport, `page is ${layout.scrollWidth}px wide in a ${layout.viewport}px viewport`);
  const entries = Object.entries(layout.boxes);
  for (const [name, b] of entries) {
    assert.ok(b.w > 50 && b.h > 20, `${name} is visible (${b.w}×${b.h})`);
    assert.ok(b.x >= 0 && b.x + b.w <= layout.viewport + 0.5, `${name} fits the viewport width`);
  }
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const [an, a] = entries[i]!;
      const [bn, b] = entries[j]!;
      const overlapX = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const overlapY = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      assert.ok(overlapX <= 0.5 || overlapY <= 0.5, `${an} and ${bn} overlap`);
    }
  }
}

describe('dashboard', () => {
  test('shows connected tabs live, runs a call from the form, kicks a tab; page text stays text', async (t) => {
    const bridge = await startTestBridge();
    cleanups.push(() => bridge.close());
    const tabs = await browser.newContext();
    cleanups.push(() => tabs.close());
    const first = await openTab(tabs, bridge, 'shop', 'Shop — first tab');
    const hostile = await openTab(tabs, bridge, 'shop', XSS_TITLE);

    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, permissions: ['clipboard-read', 'clipboard-write'] });
    cleanups.push(() => context.close());
    const { page, watch, csp } = await openDashboard(context, bridge);
    assert.match(csp ?? '', /default-src 'none'/);
    assert.match(csp ?? '', /script-src 'self'/);

    await row(page, first.clientId).waitFor();
    await row(page, hostile.clientId).waitFor();
    // Frames and workers are marked by their id; a tab's top document is not.
    const worker = await connectFakePage({ bridgeUrl: bridge.url, group: 'shop', context: 'worker', url: 'blob:http://shop.test/1', title: '', handlers: { decode: () => 'x' } });
    cleanups.push(() => worker.close());
    await row(page, worker.clientId).locator('.page-context', { hasText: 'worker' }).waitFor();
    assert.equal(await row(page, first.clientId).locator('.page-context').textContent(), '');
    await worker.close();
    await row(page, worker.clientId).waitFor({ state: 'detached' });
    assert.equal(await page.locator('#status').textContent(), 'live');
    assert.equal(await row(page, first.clientId).locator('.page-title').textContent(), 'Shop — first tab');
    assert.equal(await row(page, first.clientId).locator('.functions').textContent(), 'addboomshout');

    // A title made of markup is shown as exactly that text: no element, no script, no dialog.
    assert.equal(await row(page, hostile.clientId).locator('.page-title').textContent(), XSS_TITLE);
    assert.equal(await page.locator('img').count(), 0);

    // A tab that joins later appears without reloading the dashboard.
    const third = await openTab(tabs, bridge, 'other', 'Third tab');
    await row(page, third.clientId).waitFor();
    assert.equal(await page.locator('.group[data-group="other"] h3').textContent(), 'other');

    // Try a call.
    await page.selectOption('#try-group', 'shop');
    await page.fill('#try-action', 'add');
    await page.fill('#try-args', '[2, 40]');
    await page.click('#try-run');
    await page.locator('#try-output.ok').waitFor();
    const output = (await page.locator('#try-output').textContent())!;
    assert.match(output, /^ok · [\d.]+ ms · page [a-z0-9]{12}\n42$/);
    await page.locator('#calls-body tr', { hasText: 'add' }).first().waitFor();

    // A failing call from the form shows its code and message.
    await page.fill('#try-action', 'nope');
    await page.click('#try-run');
    await page.locator('#try-output.failed').waitFor();
    assert.match((await page.locator('#try-output').textContent())!, /^ACTION_NOT_FOUND: no page in group "shop" has registered "nope"/);

    // Calls made elsewhere show up in the log and the counters.
    for (let i = 0; i < 5; i++) await postJson(`${bridge.url}/v1/call`, { group: 'shop', action: 'shout', args: [`hello ${i}`] });
    await page.locator('#calls-body tr', { hasText: 'shout' }).nth(4).waitFor();
    await until(async () => Number(await page.locator('#total-calls').textContent()) >= 7, 'totals updated');

    // The injector snippet imports the public module from this bridge and connects with the group's
    // key, shown hidden; copying puts the whole snippet on the clipboard. No key in any URL.
    await page.fill('#snippet-group', 'mygroup');
    await page.locator('#snippet-code', { hasText: '"group":"mygroup"' }).waitFor();
    const snippet = (await page.locator('#snippet-code').textContent())!;
    const key = bridge.groupKey('mygroup');
    assert.equal(snippet, `(async () => (await import("${bridge.url}/injector.mjs")).default.connect({"url":"${bridge.url.replace('http', 'ws')}/v1/ws","group":"mygroup","key":"••••••••"}))()`);
    await page.click('#snippet-copy');
    await page.locator('#snippet-copied', { hasText: 'copied' }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText() as Promise<string>), snippet.replace('••••••••', key));
    assert.ok(watch.requests.every((url) => !url.includes(key)), 'the key is in no URL the dashboard loaded');
    // Each page's origin is shown beside its URL.
    assert.equal(await row(page, first.clientId).locator('.page-origin').textContent(), `from ${site.url}`);

    // Screenshot for a person to look at, and a layout check on the same state.
    await until(async () => Number(await page.locator('#chart').getAttribute('data-calls')) >= 7, 'throughput chart has the calls');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);
    const png = readFileSync(SCREENSHOT);
    assert.equal(png.readUInt32BE(16), 1280, 'screenshot is the viewport wide');
    assert.ok(png.length > 20_000, 'screenshot has content');
    await checkLayout(page);

    // Kick the first tab: it leaves the bridge and the dashboard, and does not come back.
    await row(page, first.clientId).locator('button.kick').click();
    await row(page, first.clientId).waitFor({ state: 'detached' });
    assert.equal(bridge.clients('shop').some((c) => c.id === first.clientId), false);
    assert.equal(await page.locator('#pages tr[data-client-id]').count(), 2);

    // A narrow window stacks the columns instead of overflowing.
    await page.setViewportSize({ width: 760, height: 900 });
    await checkLayout(page);

    assert.deepEqual(watch.dialogs, []);
    assert.deepEqual(watch.errors, []);
    const foreign = watch.requests.filter((url) => !url.startsWith(`${bridge.url}/`));
    assert.deepEqual(foreign, [], 'the dashboard makes no request outside the bridge');
  });

  test('with no page it says how to connect one; counts of one read in the singular; a page error shows its stack as lines', async () => {
    const bridge = await startTestBridge();
    cleanups.push(() => bridge.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    cleanups.push(() => context.close());
    const { page, watch } = await openDashboard(context, bridge);

    // Nothing connected: the group picker says so, the hint points at the snippet, Run is off.
    await page.locator('#try-hint').waitFor({ state: 'visible' });
    assert.match((await page.locator('#try-hint').textContent())!, /No page is connected.*paste the snippet under Injector into the page's DevTools console/s);
    assert.deepEqual(await page.locator('#try-group option').allTextContents(), ['no page connected']);
    assert.equal(await page.locator('#try-run').isDisabled(), true);
    await page.locator('#snippet-code', { hasText: '"group":"default"' }).waitFor();
    assert.match((await page.locator('#snippet-code').textContent())!, /import\("http:\/\/127\.0\.0\.1:\d+\/injector\.mjs"\)/);
    assert.equal(await page.locator('#no-pages').isVisible(), true);

    // One page, one call: "1 page", "1 call", and the hint gives way to the group.
    const tabs = await browser.newContext();
    cleanups.push(() => tabs.close());
    const tab = await openTab(tabs, bridge, 'solo', 'Solo tab');
    await row(page, tab.clientId).waitFor();
    assert.equal(await page.locator('#try-hint').isVisible(), false);
    assert.equal(await page.locator('#try-run').isDisabled(), false);
    assert.deepEqual(await page.locator('#try-group option').allTextContents(), ['solo']);
    assert.equal(await page.locator('.group[data-group="solo"] .group-head span').textContent(), '1 page');
    assert.equal(await page.locator('#label-pages').textContent(), 'page');

    await page.fill('#try-action', 'add');
    await page.fill('#try-args', '[1, 2]');
    await page.click('#try-run');
    await page.locator('#try-output.ok').waitFor();
    await until(async () => (await page.locator('#total-calls').textContent()) === '1', 'one call counted');
    assert.equal(await page.locator('#label-calls').textContent(), 'call');
    await until(async () => (await page.locator('#chart').getAttribute('aria-label')) === '1 call in the last 2 minutes', 'the chart counts one call');

    // A page error: code and message first, its data as JSON, then the stack as lines of text.
    await page.fill('#try-action', 'boom');
    await page.fill('#try-args', '[]');
    await page.click('#try-run');
    await page.locator('#try-output.failed').waitFor();
    const output = (await page.locator('#try-output').textContent())!;
    assert.match(output, /^PAGE_ERROR: RangeError: out of range: 7\n\{/);
    assert.ok(!output.includes('\\n'), `no escaped newlines: ${output}`);
    assert.ok(!output.includes('"stack"'), 'the stack is not inside the JSON');
    const stack = (await page.locator('#try-output .stack').textContent())!;
    assert.match(stack, /^RangeError: out of range: 7\n\s+at \S*checkLimit /);
    await until(async () => (await page.locator('#total-calls').textContent()) === '2', 'two calls counted');
    assert.equal(await page.locator('#label-calls').textContent(), 'calls');
    assert.deepEqual(watch.errors, []);
  });

  test('a bridge with a token: the dashboard asks for it, refuses a wrong one, then works with it', async () => {
    const bridge = await startTestBridge({ token: TOKEN });
    cleanups.push(() => bridge.close());
    const tabs = await browser.newContext();
    cleanups.push(() => tabs.close());
    const tab = await openTab(tabs, bridge, 'secure', 'Secure tab');

    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    cleanups.push(() => context.close());
    const { page, watch } = await openDashboard(context, bridge);
    await page.locator('#login').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#main').isVisible(), false);
    assert.equal(await page.locator('tr[data-client-id]').count(), 0);

    await page.fill('#login-token', 'wrong-token-000000000000');
    await page.press('#login-token', 'Enter');
    await page.locator('#login-error', { hasText: 'did not accept' }).waitFor();
    assert.equal(await page.locator('#main').isVisible(), false);

    await page.fill('#login-token', TOKEN);
    await page.click('#login-form button');
    await row(page, tab.clientId).waitFor();
    assert.equal(await page.locator('#login').isVisible(), false);

    // The form's calls carry the token.
    await page.fill('#try-action', 'shout');
    await page.fill('#try-args', '["quiet"]');
    await page.click('#try-run');
    await page.locator('#try-output.ok').waitFor();
    assert.match((await page.locator('#try-output').textContent())!, /\n"QUIET"$/);

    // The snippet never carries the token (pages join with a key), and does not display the key.
    await page.locator('#snippet-code', { hasText: 'connect(' }).waitFor();
    const shown = (await page.locator('#snippet-code').textContent())!;
    assert.ok(!shown.includes(TOKEN));
    assert.ok(!shown.includes(bridge.groupKey('default')));
    assert.ok(shown.includes('"key":"••••••••"'), shown);

    // The token lives in this tab's session storage only; a reload keeps working, forgetting it asks again.
    await page.reload();
    await row(page, tab.clientId).waitFor();
    await page.click('#forget-token');
    await page.locator('#login').waitFor({ state: 'visible' });

    // Every request the dashboard made that needed the token passed access checks without putting it in a URL.
    assert.ok(watch.requests.every((url) => !url.includes(TOKEN)));
  });

  test('lists stream topics live: subscribers, pages, events and errors', async () => {
    const bridge = await startTestBridge();
    cleanups.push(() => bridge.close());
    const tabs = await browser.newContext();
    cleanups.push(() => tabs.close());
    const tab = await openTab(tabs, bridge, 'room', 'Room');
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    cleanups.push(() => context.close());
    const { page, watch } = await openDashboard(context, bridge);
    await row(page, tab.clientId).waitFor();
    assert.equal(await page.locator('#no-streams').isVisible(), true);

    const reader = await openStream(bridge.url, 'room', 'chat');
    cleanups.push(() => reader.close());
    await tab.page.evaluate(() => {
      for (let i = 0; i < 3; i++) (globalThis as any).pagecall.emit('chat', { i });
    });
    await reader.waitFor(3);
    const topic = page.locator('tr[data-topic="room/chat"]');
    await topic.waitFor();
    await page.waitForFunction(() => (globalThis as any).document.querySelector('tr[data-topic="room/chat"] td:nth-child(4)')?.textContent === '3');
    const cells = await topic.locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 8), ['room · chat', '1', '1', '3', '0', '0', '0', '3']);
    assert.match(cells[8]!, /ago$/);
    assert.equal(await page.locator('#no-streams').isVisible(), false);
    await checkLayout(page);
    assert.deepEqual(watch.errors, []);
  });
});
