/**
 * The Playwright launcher in real Chromium: injection before page scripts, reloads, pages that a
 * pasted snippet cannot reach (strict CSP, Local Network Access), tab pools and replaced tabs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { injectorScript, type Bridge } from '../../bridge/index.js';
import { launch } from '../../launcher/launch.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { postJson, startTestBridge, until } from '../helpers/bridge.js';

// A page that defines a helper, uses it once at load, and removes it: only a hook installed
// before the page's own scripts can capture it.
const EPHEMERAL_PAGE = `<!doctype html><title>ephemeral</title><script>
  window.util = { mix(a, b) { return a * 31 + b + this.offset; }, offset: 1000 };
  document.title = 'computed ' + util.mix(1, 2);
  delete window.util;
</script>`;

const EPHEMERAL_HOOK = `
  const mix = pagecall.hook('util.mix');
  pagecall.register('mix', async (a, b) => { await mix.ready; return mix.call([a, b]); });
  pagecall.register('loads', () => Number(sessionStorage.getItem('loads')));
  sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads')) + 1));
  pagecall.register('slow', (ms) => new Promise((r) => setTimeout(() => r(ms), ms)));
`;

const STRICT_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'";
const PLAIN_PAGE = '<!doctype html><title>plain</title><p>site';

describe('launcher', () => {
  let bridge: Bridge;
  let site: TestSite;
  const call = (body: Record<string, unknown>) => postJson(`${bridge.url}/v1/call`, body);
  // A new tab's first document is about:blank, which joins the group too until the tab navigates:
  // wait for the page at `url`, not for any page of the group.
  const pageAt = (group: string, url: string) => until(() => bridge.clients(group).find((c) => c.url === url), `${url} joins ${group}`);

  before(async () => {
    bridge = await startTestBridge();
    site = await startSite({
      '/ephemeral': EPHEMERAL_PAGE,
      '/csp': { body: PLAIN_PAGE, headers: { 'content-security-policy': STRICT_CSP } },
      '/plain': PLAIN_PAGE,
    });
  });
  after(async () => {
    await site?.close();
    await bridge?.close();
  });

  test('injects before page scripts: a hook captures a function the page uses once at load', async () => {
    const launched = await launch({ urls: [`${site.url}/ephemeral`], group: 'early', scripts: [{ content: EPHEMERAL_HOOK }], bridgeUrl: bridge.url });
    try {
      await pageAt('early', `${site.url}/ephemeral`);
      const r = await call({ group: 'early', action: 'mix', args: [2, 5] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result, 2 * 31 + 5 + 1000);
      assert.equal(await launched.pages()[0]!.title(), 'computed 1033');
    } finally {
      await launched.close();
    }
  });

  test('keeps working across reloads and navigations with the same client id', async () => {
    const launched = await launch({ urls: [`${site.url}/ephemeral`], group: 'reload', scripts: [{ content: EPHEMERAL_HOOK }], bridgeUrl: bridge.url });
    try {
      const first = await pageAt('reload', `${site.url}/ephemeral`);
      const page = launched.pages()[0]!;
      // The page keeps its id once the welcome has arrived there, not when the bridge sent it.
      await page.waitForFunction((id) => (globalThis as any).pagecall.status().clientId === id, first.id);
      await page.reload();
      await until(() => bridge.clients('reload')[0]?.connectedAt !== first.connectedAt && bridge.clients('reload').length === 1, 'rejoin after reload');
      assert.equal(bridge.clients('reload')[0]!.id, first.id);
      assert.equal((await call({ group: 'reload', action: 'loads' })).body.result, 2);
      assert.equal((await call({ group: 'reload', action: 'mix', args: [0, 0] })).body.result, 1000);
      await page.goto(`${site.url}/ephemeral?again`);
      await until(() => bridge.clients('reload')[0]?.url.endsWith('?again'), 'rejoin after navigation');
      assert.equal((await call({ group: 'reload', action: 'loads' })).body.result, 3);
    } finally {
      await launched.close();
    }
  });

  test("a strict CSP connect-src blocks a pasted injector (diagnosed as csp) but not the launcher", async () => {
    const browser = await launchTestBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${site.url}/csp`);
      const script = injectorScript({ bridgeUrl: bridge.url, group: 'csp-pasted', key: bridge.groupKey('csp-pasted') });
      await page.evaluate(script);
      const status = await waitForFailure(page);
      assert.equal(status.lastError.reason, 'csp', JSON.stringify(status));
      assert.equal(bridge.clients('csp-pasted').length, 0);
    } finally {
      await browser.close();
    }
    const launched = await launch({ urls: [`${site.url}/csp`], group: 'csp', scripts: [{ content: "pagecall.register('ping', () => 'pong')" }], bridgeUrl: bridge.url });
    try {
      await pageAt('csp', `${site.url}/csp`);
      assert.equal((await call({ group: 'csp', action: 'ping' })).body.result, 'pong');
    } finally {
      await launched.close();
    }
  });

  test('Local Network Access blocks a public page from reaching the bridge, except through the launcher', async () => {
    // Make the test site a public host, as a real website would be: a name that resolves to the
    // test server, whose address Chrome is told to treat as public.
    const asPublic = [`--ip-address-space-overrides=127.0.0.1:${site.port}=public`, '--host-resolver-rules=MAP public.test 127.0.0.1'];
    const publicUrl = `http://public.test:${site.port}/plain`;
    const browser = await launchTestBrowser(asPublic);
    try {
      const page = await browser.newPage();
      await page.goto(publicUrl);
      const script = injectorScript({ bridgeUrl: bridge.url, group: 'lna-pasted', key: bridge.groupKey('lna-pasted') });
      await page.evaluate(script);
      const status = await waitForFailure(page);
      assert.equal(status.lastError.reason, 'local-network-access', JSON.stringify(status));
      assert.match(status.lastError.message, /Local Network Access|local network access/i);
      assert.equal(bridge.clients('lna-pasted').length, 0);
    } finally {
      await browser.close();
    }
    const launched = await launch({ urls: [publicUrl], group: 'lna', args: asPublic, scripts: [{ content: "pagecall.register('ping', () => 'pong')" }], bridgeUrl: bridge.url });
    try {
      await pageAt('lna', publicUrl);
      assert.equal((await call({ group: 'lna', action: 'ping' })).body.result, 'pong');
    } finally {
      await launched.close();
    }
  });

  test('a pool of tabs shares the calls, and a closed or crashed tab is replaced', async () => {
    const launched = await launch({ urls: [`${site.url}/ephemeral`], group: 'pool', tabs: 3, scripts: [{ content: EPHEMERAL_HOOK }], bridgeUrl: bridge.url });
    try {
      await until(() => bridge.clients('pool').length === 3, 'three tabs join');
      const results = await Promise.all(Array.from({ length: 30 }, () => call({ group: 'pool', action: 'slow', args: [50] })));
      const served = new Set(results.map((r) => r.body.clientId));
      assert.equal(served.size, 3);

      const before = new Set(bridge.clients('pool').map((c) => c.id));
      await launched.pages()[0]!.close();
      await until(() => launched.pages().length === 3 && bridge.clients('pool').length === 3 && bridge.clients('pool').some((c) => !before.has(c.id)), 'closed tab replaced');

      const victim = launched.pages()[1]!;
      const ids = new Set(bridge.clients('pool').map((c) => c.id));
      await victim.goto('chrome://crash').catch(() => {});
      await until(() => !launched.pages().includes(victim) && bridge.clients('pool').length === 3 && bridge.clients('pool').some((c) => !ids.has(c.id)), 'crashed tab replaced');
      assert.equal((await call({ group: 'pool', action: 'slow', args: [1] })).status, 200);
    } finally {
      await launched.close();
    }
  });

  test('starts its own bridge when none is given', async () => {
    const launched = await launch({ urls: [`${site.url}/plain`], group: 'own', scripts: [{ content: "pagecall.register('ping', () => 'pong')" }] });
    try {
      assert.ok(launched.bridge);
      await launched.bridge.waitForAction('own', 'ping');
      assert.equal(await launched.bridge.call('own', 'ping'), 'pong');
    } finally {
      await launched.close();
    }
  });
});

async function waitForFailure(page: Page): Promise<{ lastError: { reason: string; message: string } }> {
  return until(
    async () => {
      const status = await page.evaluate(() => (globalThis as any).pagecall.status());
      return status.lastError && status.lastError.reason !== 'closed' ? status : undefined;
    },
    'the injector to diagnose why it cannot connect',
    20_000,
  );
}
