/** Faults with real pages: frozen main threads, navigation mid-call, bridge restarts, cancellation. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { request } from 'node:http';
import { injectorTags, postJson, startTestBridge, until } from '../helpers/bridge.js';

/** A POST on a fresh TCP connection (pooled fetch connections died with the old bridge). */
function callOnNewConnection(base: string, body: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/call`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const FUNCTIONS = `
  pagecall.register('spin', (ms) => { const end = Date.now() + ms; while (Date.now() < end) {} return 'spun'; });
  pagecall.register('echo', (x) => x);
  pagecall.register('hang', () => new Promise(() => {}));
  pagecall.register('watch', function () {
    const ctx = this;
    window.__watched = 'running';
    ctx.signal.addEventListener('abort', () => { window.__watched = 'aborted: ' + ctx.signal.reason.name; });
    return new Promise(() => {});
  });
`;

describe('faults with real pages', () => {
  let bridge: Bridge;
  let site: TestSite;
  let browser: Browser;
  let context: BrowserContext;
  let port: number;

  before(async () => {
    bridge = await startTestBridge({ heartbeatMs: 1_000 });
    port = bridge.port;
    site = await startSite({
      '/': (req, res) => {
        const group = new URL(req.url!, 'http://x').searchParams.get('g')!;
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!doctype html><title>${group}</title>${injectorTags(bridge, group)}<script>${FUNCTIONS}</script>`);
      },
    });
    browser = await launchTestBrowser();
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await bridge?.close();
  });

  async function open(group: string, inContext = context): Promise<Page> {
    const page = await inContext.newPage();
    const known = new Set(bridge.clients(group).map((c) => c.id));
    await page.goto(`${site.url}/?g=${group}`);
    await until(() => bridge.clients(group).some((c) => !known.has(c.id) && c.actions.includes('echo')), `a tab in ${group}`);
    return page;
  }
  const call = (body: Record<string, unknown>) => postJson(`${bridge.url}/v1/call`, body);

  test('a page frozen in a busy loop: its call times out, it is dropped, others serve, it rejoins after', async () => {
    // Separate contexts: same-site tabs of one context can share a renderer, and so a main thread.
    const frozenContext = await browser.newContext();
    const frozen = await open('freeze', frozenContext);
    const frozenId = bridge.clients('freeze')[0]!.id;
    const healthy = await open('freeze');
    try {
      // The deadline (100 ms) is far shorter than liveness needs to notice (three 1 s heartbeats).
      const stuck = await call({ group: 'freeze', action: 'spin', args: [6_000], clientId: frozenId, timeoutMs: 100 });
      assert.equal(stuck.body.error.code, 'TIMEOUT');
      await until(() => !bridge.clients('freeze').some((c) => c.id === frozenId), 'frozen tab dropped by liveness');
      const served = await call({ group: 'freeze', action: 'echo', args: ['still here'] });
      assert.equal(served.body.result, 'still here');
      assert.notEqual(served.body.clientId, frozenId);
      await until(() => bridge.clients('freeze').some((c) => c.id === frozenId), 'frozen tab rejoins once its loop ends', 20_000);
      assert.equal((await call({ group: 'freeze', action: 'echo', args: [1], clientId: frozenId })).body.result, 1);
    } finally {
      await frozenContext.close();
      await healthy.close();
    }
  });

  test('a page that navigates away mid-call fails the call at once', async () => {
    const page = await open('nav');
    try {
      const pending = call({ group: 'nav', action: 'hang', retry: false, timeoutMs: 60_000 });
      await until(() => bridge.clients('nav')[0]?.inFlight === 1, 'call running');
      await page.goto('about:blank');
      const r = await pending;
      assert.equal(r.body.error.code, 'CLIENT_DISCONNECTED');
    } finally {
      await page.close();
    }
  });

  test('a cancelled call aborts the signal the page function holds', async () => {
    const page = await open('cancel');
    try {
      const controller = new AbortController();
      const pending = fetch(`${bridge.url}/v1/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ group: 'cancel', action: 'watch' }), signal: controller.signal }).catch(() => 'aborted');
      await page.waitForFunction(() => (globalThis as any).__watched === 'running');
      controller.abort();
      assert.equal(await pending, 'aborted');
      await page.waitForFunction(() => String((globalThis as any).__watched).startsWith('aborted'));
      assert.equal(await page.evaluate(() => (globalThis as any).__watched), 'aborted: AbortError');
      await until(() => bridge.clients('cancel')[0]?.inFlight === 0, 'slot freed');
    } finally {
      await page.close();
    }
  });

  test('after a bridge restart, callers get NO_CLIENT at once and pages come back by themselves', async () => {
    const page = await open('restart');
    const id = bridge.clients('restart')[0]!.id;
    try {
      await bridge.close(0);
      bridge = await startTestBridge({ heartbeatMs: 1_000, port });
      const meanwhile = await callOnNewConnection(bridge.url, { group: 'restart', action: 'echo', args: [1] });
      if (meanwhile.status !== 200) assert.equal(meanwhile.body.error.code, 'NO_CLIENT');
      await until(() => bridge.clients('restart').length === 1, 'page reconnects to the new bridge', 15_000);
      assert.equal(bridge.clients('restart')[0]!.id, id);
      assert.equal((await call({ group: 'restart', action: 'echo', args: ['back'] })).body.result, 'back');
    } finally {
      await page.close();
    }
  });
});
