/**
 * End to end: real headless Chromium loads the built injector from the bridge's /injector.js the way
 * a user does (a script tag, or pasting it into the console), and callers reach page functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { injectorScript, type Bridge } from '../../bridge/index.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { injectorTags, postJson, startTestBridge, until } from '../helpers/bridge.js';

const PAGE_FUNCTIONS = `
  pagecall.register('add', (a, b) => a + b);
  pagecall.register('later', async (ms, value) => { await new Promise((r) => setTimeout(r, ms)); return value; });
  pagecall.register('fail', () => { const e = new RangeError('out of range: 7'); throw e; });
  pagecall.register('reject', async () => { throw new Error('async failure'); });
  pagecall.register('bytes', (input) => ({ length: input.length, first: input[0], reversed: input.slice().reverse(), isBytes: input instanceof Uint8Array }));
  pagecall.register('whoami', () => sessionStorage.getItem('marker') || 'unmarked');
  pagecall.register('hang', (ms) => new Promise(() => {}));
  pagecall.register('typed', () => ({ n: 1.5, big: 2n ** 70n, u: undefined, arr: [undefined, null], d: new Date(0), nan: NaN }));
  pagecall.register('body', () => document.body);
  pagecall.register('rows', () => ({ items: [1, 2, 3, { el: document.createElement('div') }] }));
  pagecall.register('signer', () => function sign() {});
  pagecall.register('win', () => window);
  pagecall.register('scripts', () => document.querySelectorAll('script'));
  pagecall.register('job', () => ({ job: fetch('/blank') }));
  pagecall.register('withCallback', () => ({ n: 1, done() {}, el: undefined }));
  window.appState = { counter: 0, bump(by) { this.counter += by; return this.counter; } };
  pagecall.expose('bump', 'appState.bump');
`;

function pageHtml(bridge: Bridge, group: string, extra = ''): string {
  return `<!doctype html><title>test page</title>
${injectorTags(bridge, group)}
<script>${PAGE_FUNCTIONS}${extra}</script>`;
}

describe('injector in real Chromium', () => {
  let bridge: Bridge;
  let site: TestSite;
  let browser: Browser;
  let context: BrowserContext;
  const call = (body: Record<string, unknown>) => postJson(`${bridge.url}/v1/call`, body);

  before(async () => {
    bridge = await startTestBridge({ heartbeatMs: 500 });
    site = await startSite({
      '/': () => {},
      '/page': pageHtml(bridge, 'e2e'),
      '/pair': pageHtml(bridge, 'pair'),
      '/blank': '<!doctype html><title>blank</title><p>nothing here',
      '/hostile': pageHtml(bridge, 'hostile', `
        JSON.stringify = () => { throw new Error('site broke JSON.stringify'); };
        JSON.parse = () => { throw new Error('site broke JSON.parse'); };
        window.WebSocket = function () { throw new Error('site broke WebSocket'); };
        Array.isArray = () => false;
        setTimeout = () => { throw new Error('site broke setTimeout'); };`),
    });
    browser = await launchTestBrowser();
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await bridge?.close();
  });

  async function openPage(path: string, group: string): Promise<Page> {
    const page = await context.newPage();
    const before = new Set(bridge.clients(group).map((c) => c.id));
    await page.goto(site.url + path);
    await until(() => bridge.clients(group).find((c) => !before.has(c.id) && c.actions.includes('add')), `a page in ${group}`);
    return page;
  }

  test('runs sync and async page functions and returns typed results', async () => {
    const page = await openPage('/page', 'e2e');
    try {
      const sum = await call({ group: 'e2e', action: 'add', args: [2, 3] });
      assert.equal(sum.status, 200);
      assert.equal(sum.body.result, 5);
      const later = await call({ group: 'e2e', action: 'later', args: [20, { nested: ['ok'] }] });
      assert.deepEqual(later.body.result, { nested: ['ok'] });
      const typed = await call({ group: 'e2e', action: 'typed' });
      assert.deepEqual(typed.body.result, { n: 1.5, big: { $bigint: (2n ** 70n).toString() }, arr: [{ $undefined: true }, null], d: { $date: '1970-01-01T00:00:00.000Z' }, nan: { $number: 'NaN' } });
      assert.equal(await bridge.call('e2e', 'add', [40, 2]), 42);
      assert.equal((await call({ group: 'e2e', action: 'bump', args: [5] })).body.result, 5);
      assert.equal((await call({ group: 'e2e', action: 'bump', args: [5] })).body.result, 10);
    } finally {
      await page.close();
    }
  });

  test('a thrown error arrives with its name, message and page stack', async () => {
    const page = await openPage('/page', 'e2e');
    try {
      const r = await call({ group: 'e2e', action: 'fail' });
      assert.equal(r.status, 502);
      assert.equal(r.body.error.code, 'PAGE_ERROR');
      assert.equal(r.body.error.data.name, 'RangeError');
      assert.equal(r.body.error.data.message, 'out of range: 7');
      assert.match(r.body.error.data.stack, /out of range: 7/);
      assert.match(r.body.error.data.stack, /127\.0\.0\.1/);
      const rejected = await call({ group: 'e2e', action: 'reject' });
      assert.equal(rejected.body.error.data.message, 'async failure');
    } finally {
      await page.close();
    }
  });

  test('a result the codec cannot carry fails that call with RESULT_NOT_SERIALIZABLE naming where it sits; other calls go on', async () => {
    const page = await openPage('/page', 'e2e');
    try {
      const refused: Array<[string, string]> = [
        ['body', 'result: a DOM node (HTMLBodyElement) cannot be sent; send data taken from it'],
        ['rows', 'result.items[3].el: a DOM node (HTMLDivElement) cannot be sent'],
        ['signer', 'result: a function (sign) cannot be sent'],
        ['win', 'result: an object of class Window cannot be sent'],
        ['scripts', 'result: an object of class NodeList cannot be sent'],
        ['job', 'result.job: a Promise cannot be sent (await it first)'],
      ];
      for (const [action, message] of refused) {
        const r = await call({ group: 'e2e', action });
        assert.equal(r.status, 502, action);
        assert.equal(r.body.error.code, 'RESULT_NOT_SERIALIZABLE', action);
        assert.ok(r.body.error.message.startsWith(message), `${action}: ${r.body.error.message}`);
      }
      // Function-valued properties are dropped, as JSON does.
      assert.deepEqual((await call({ group: 'e2e', action: 'withCallback' })).body.result, { n: 1 });
      assert.equal((await call({ group: 'e2e', action: 'add', args: [1, 1] })).body.result, 2);
      assert.equal(bridge.clients('e2e').length, 1);
    } finally {
      await page.close();
    }
  });

  test('bytes round-trip both ways, over HTTP and the Node API', async () => {
    const page = await openPage('/page', 'e2e');
    try {
      const r = await call({ group: 'e2e', action: 'bytes', args: [{ $bytes: Buffer.from([9, 8, 7, 255]).toString('base64') }] });
      assert.deepEqual(r.body.result, { length: 4, first: 9, reversed: { $bytes: Buffer.from([255, 7, 8, 9]).toString('base64') }, isBytes: true });
      const viaNode = (await bridge.call('e2e', 'bytes', [new Uint8Array(100_000).fill(3)])) as { length: number; reversed: Uint8Array };
      assert.equal(viaNode.length, 100_000);
      assert.ok(viaNode.reversed instanceof Uint8Array);
      assert.equal(viaNode.reversed[99_999], 3);
    } finally {
      await page.close();
    }
  });

  test('two tabs in a group share the load', async () => {
    const a = await openPage('/pair', 'pair');
    const b = await openPage('/pair', 'pair');
    try {
      const results = await Promise.all(Array.from({ length: 40 }, () => call({ group: 'pair', action: 'later', args: [30, 1] })));
      const byClient = new Map<string, number>();
      for (const r of results) byClient.set(r.body.clientId, (byClient.get(r.body.clientId) ?? 0) + 1);
      assert.equal(byClient.size, 2);
      for (const n of byClient.values()) assert.ok(n >= 10, `each tab served a share: ${[...byClient.values()]}`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a tab closed mid-call fails the call at once without retry, and moves it to the other tab with retry', async () => {
    const a = await openPage('/pair', 'pair');
    const aId = bridge.clients('pair')[0]!.id;
    try {
      const started = Date.now();
      const pending = call({ group: 'pair', action: 'hang', retry: false, timeoutMs: 60_000 });
      await until(() => bridge.clients('pair')[0]?.inFlight === 1, 'call running in the tab');
      await a.close();
      const r = await pending;
      assert.equal(r.body.error.code, 'CLIENT_DISCONNECTED');
      assert.ok(Date.now() - started < 30_000);
    } finally {
      if (!a.isClosed()) await a.close();
    }
    assert.ok(aId);
    const first = await openPage('/pair', 'pair');
    const second = await openPage('/pair', 'pair');
    try {
      const [firstId] = bridge.clients('pair').filter((c) => c.actions.includes('later')).map((c) => c.id);
      // 'later' with a long delay in the first tab; close it; the retry lands in the second tab.
      const pending = call({ group: 'pair', action: 'later', args: [2_000, 'finished'], clientId: undefined, timeoutMs: 60_000 });
      const busy = await until(() => bridge.clients('pair').find((c) => c.inFlight === 1), 'call running');
      const victim = busy.id === firstId ? first : second;
      await victim.close();
      const r = await pending;
      assert.equal(r.status, 200);
      assert.equal(r.body.result, 'finished');
      assert.notEqual(r.body.clientId, busy.id);
    } finally {
      if (!first.isClosed()) await first.close();
      if (!second.isClosed()) await second.close();
    }
  });

  test('a reload reconnects with the same client id and no duplicate listing', async () => {
    const page = await openPage('/page', 'e2e');
    try {
      await page.evaluate(() => (globalThis as any).sessionStorage.setItem('marker', 'kept across reload'));
      const [before] = bridge.clients('e2e');
      await page.waitForFunction((id) => (globalThis as any).pagecall.status().clientId === id, before!.id);
      await page.reload();
      await until(() => {
        const list = bridge.clients('e2e');
        return list.length === 1 && list[0]!.connectedAt !== before!.connectedAt;
      }, 'reconnect after reload');
      const list = bridge.clients('e2e');
      assert.equal(list.length, 1);
      assert.equal(list[0]!.id, before!.id);
      const r = await call({ group: 'e2e', action: 'whoami' });
      assert.equal(r.body.result, 'kept across reload');
    } finally {
      await page.close();
    }
  });

  test('a page that overrides JSON, WebSocket and timers after load still works', async () => {
    const page = await openPage('/hostile', 'hostile');
    try {
      const r = await call({ group: 'hostile', action: 'add', args: [1, 2] });
      assert.equal(r.body.result, 3);
      const t = await call({ group: 'hostile', action: 'typed' });
      assert.equal(t.status, 200);
    } finally {
      await page.close();
    }
  });

  test('pasting the injector into a console twice installs once and keeps the functions', async () => {
    const page = await context.newPage();
    try {
      await page.goto(site.url + '/blank');
      // What `pagecall injector --group pasted` prints.
      const script = injectorScript({ bridgeUrl: bridge.url, group: 'pasted', key: bridge.groupKey('pasted') });
      await page.evaluate(script);
      await page.evaluate(() => (globalThis as any).pagecall.register('twice', () => 'once'));
      await page.evaluate(script);
      await until(() => bridge.clients('pasted').find((c) => c.actions.includes('twice')), 'pasted page');
      assert.equal(bridge.clients('pasted').length, 1);
      assert.equal((await call({ group: 'pasted', action: 'twice' })).body.result, 'once');
      const status = await page.evaluate(() => (globalThis as any).pagecall.status());
      assert.equal(status.state, 'open');
      assert.deepEqual(status.actions, ['twice']);
    } finally {
      await page.close();
    }
  });
});
