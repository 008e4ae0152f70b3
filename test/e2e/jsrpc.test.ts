/**
 * End to end: real headless Chromium tabs run a JsRpc-style page snippet (test/fixtures/jsrpc-page.js,
 * written from JsRpc's observed protocol) against the compat listener, the way a JsRpc user's page
 * does once its socket URL carries the page key; scrapers call them through JsRpc's routes and
 * pagecall's own. Native pagecall tabs share the groups, and the documented one-line move of a
 * snippet to the native injector keeps its regAction lines working.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { injectorScript } from '../../bridge/injector-script.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';

const HL_CLIENT = readFileSync(new URL('../fixtures/jsrpc-page.js', import.meta.url), 'utf8');

/** A user's JsRpc snippet: the handlers they registered with regAction. `client` is the HlClient. */
const REG_ACTIONS = `
  client.regAction('sign', function (resolve, param) { resolve('sig:' + param.user + ':' + param.n); });
  client.regAction('profile', function (resolve) { resolve({ name: document.title, tags: [1, 2] }); });
  client.regAction('count', function (resolve) { resolve(3); });
  client.regAction('flag', function (resolve) { resolve(true); });
  client.regAction('text', function (resolve, param) { resolve(String(param).toUpperCase()); });
  client.regAction('hold', function () {});
`;

/** The documented one-line move: the HlClient line becomes an adapter over the native injector. */
const ADAPTER = `var client = { regAction: (name, fn) => pagecall.register(name, (param = '') => new Promise((resolve) => fn(resolve, param))) };`;

let bridge: Bridge;
let site: TestSite;
let browser: Browser;
let context: BrowserContext;

function html(title: string, head: string, body: string): string {
  return `<!doctype html><html><head><title>${title}</title>${head}</head><body><p id="marker">${title} body</p><script>${body}</script></body></html>`;
}

/** GET /jsrpc?group=G: a page with the HlClient script and the user's snippet. */
function jsrpcPage(req: IncomingMessage, res: ServerResponse): void {
  const group = new URL(req.url ?? '/', 'http://x').searchParams.get('group') ?? 'g';
  const snippet = `document.cookie = 'sid=abc123'; var client = new HlClient(${JSON.stringify(bridge.jsrpc!.pageUrl(group))}, { reconnectMs: 50 });${REG_ACTIONS}`;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html(`jsrpc ${group}`, '<script src="/hlclient.js"></script>', snippet));
}

/** GET /native?group=G&migrated=1: a page with pagecall's injector (the page key passed), optionally the migrated snippet. */
function nativePage(req: IncomingMessage, res: ServerResponse): void {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const group = query.get('group') ?? 'g';
  const own = `pagecall.register('whoami', () => 'native ' + document.title);`;
  const body = query.get('migrated') ? `${ADAPTER}${REG_ACTIONS}` : own;
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(html(`native ${group}`, `<script src="/injector.js?group=${group}"></script>`, body));
}

function injector(req: IncomingMessage, res: ServerResponse): void {
  const group = new URL(req.url ?? '/', 'http://x').searchParams.get('group') ?? 'g';
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
  res.end(injectorScript({ bridgeUrl: bridge.url, group, key: bridge.pageKey }));
}

before(async () => {
  bridge = await startTestBridge({ jsrpc: { port: 0 }, allowEval: true });
  site = await startSite({
    '/hlclient.js': { body: HL_CLIENT, type: 'text/javascript' },
    '/jsrpc': jsrpcPage,
    '/native': nativePage,
    '/injector.js': injector,
  });
  browser = await launchTestBrowser();
  context = await browser.newContext();
});
after(async () => {
  await browser?.close();
  await site?.close();
  await bridge?.close();
});

/** Opens a tab and waits until a new client with `action` is listed in `group`. */
async function open(path: string, group: string, action: string): Promise<{ tab: Page; clientId: string }> {
  const known = new Set(bridge.clients(group).map((c) => c.id));
  const tab = await context.newPage();
  await tab.goto(`${site.url}${path}`);
  const client = await until(() => bridge.clients(group).find((c) => !known.has(c.id) && c.actions.includes(action)), `a page in ${group} with ${action}`);
  return { tab, clientId: client.id };
}

const go = (query: Record<string, string>) => getJson(`${bridge.jsrpc!.url}/go?${new URLSearchParams(query)}`);

describe('a JsRpc page snippet in real Chromium', () => {
  test('serves /go as JsRpc did, and /v1/call with typed values', async () => {
    const { tab, clientId } = await open('/jsrpc?group=e2e-jsrpc', 'e2e-jsrpc', 'hold');
    try {
      assert.deepEqual((await go({ group: 'e2e-jsrpc', action: 'sign', param: '{"user":"bob","n":2}' })).body, { status: 200, group: 'e2e-jsrpc', clientId, data: 'sig:bob:2' });
      assert.equal((await go({ group: 'e2e-jsrpc', action: 'profile' })).body.data, '{"name":"jsrpc e2e-jsrpc","tags":[1,2]}');
      assert.equal((await go({ group: 'e2e-jsrpc', action: 'text', param: 'hello' })).body.data, 'HELLO');
      // A number and a boolean: JsRpc drops these replies and its caller waits out the timeout.
      assert.equal((await go({ group: 'e2e-jsrpc', action: 'count' })).body.data, '3');
      assert.equal((await go({ group: 'e2e-jsrpc', action: 'flag' })).body.data, 'true');
      const call = (action: string, args: unknown[] = []) => postJson(`${bridge.url}/v1/call`, { group: 'e2e-jsrpc', action, args });
      assert.deepEqual((await call('profile')).body.result, { name: 'jsrpc e2e-jsrpc', tags: [1, 2] });
      assert.equal((await call('count')).body.result, 3);
      assert.equal((await call('flag')).body.result, true);
      assert.equal((await call('sign', [{ user: 'ann', n: 7 }])).body.result, 'sig:ann:7');
      assert.equal((await call('text', ['123'])).body.result, '123');
      const clients = await getJson(`${bridge.url}/v1/clients?group=e2e-jsrpc`);
      assert.equal(clients.body.clients[0].protocol, 'jsrpc');
      assert.equal(clients.body.clients[0].origin, site.url);
    } finally {
      await tab.close();
    }
  });

  test('/page/cookie, /page/html and /execjs give the page\'s real cookie, HTML and values', async () => {
    const { tab, clientId } = await open('/jsrpc?group=e2e-eval', 'e2e-eval', 'hold');
    try {
      const cookie = await getJson(`${bridge.jsrpc!.url}/page/cookie?group=e2e-eval`);
      assert.deepEqual(cookie.body, { status: '200', group: 'e2e-eval', name: clientId, data: 'sid=abc123' });
      const page = await getJson(`${bridge.jsrpc!.url}/page/html?group=e2e-eval`);
      assert.match(page.body.data, /^<html><head><title>jsrpc e2e-eval<\/title>/);
      assert.match(page.body.data, /<p id="marker">jsrpc e2e-eval body<\/p>/);
      const title = await postJson(`${bridge.jsrpc!.url}/execjs`, { group: 'e2e-eval', code: 'document.title' });
      assert.equal(title.body.data, 'jsrpc e2e-eval');
      const sum = await getJson(`${bridge.jsrpc!.url}/go?group=e2e-eval&action=_execjs&param=${encodeURIComponent('6*7')}`);
      assert.equal(sum.body.data, '42');
    } finally {
      await tab.close();
    }
  });

  test('closing a tab mid-call fails its caller at once, not after the deadline', async () => {
    const { tab } = await open('/jsrpc?group=e2e-drop', 'e2e-drop', 'hold');
    const pending = go({ group: 'e2e-drop', action: 'hold', timeoutMs: '600000' });
    await until(() => bridge.clients('e2e-drop')[0]?.inFlight === 1, 'the call running in the tab');
    await tab.close();
    const answer = await pending;
    assert.equal(answer.status, 502);
    assert.equal(answer.body.code, 'CLIENT_DISCONNECTED');
  });

  test('a reloaded tab comes back and serves again', async () => {
    const { tab } = await open('/jsrpc?group=e2e-reload', 'e2e-reload', 'hold');
    try {
      const before = bridge.clients('e2e-reload')[0]!.id;
      await tab.reload();
      await until(() => bridge.clients('e2e-reload').some((c) => c.id !== before && c.actions.includes('text')), 'the reloaded tab registered');
      assert.equal((await go({ group: 'e2e-reload', action: 'text', param: 'again' })).body.data, 'AGAIN');
    } finally {
      await tab.close();
    }
  });
});

describe('JsRpc and pagecall tabs together', () => {
  test('one group, calls routed by action: /go and /page/html reach a native tab, /v1/call a JsRpc tab', async () => {
    const jsrpc = await open('/jsrpc?group=e2e-mixed', 'e2e-mixed', 'hold');
    const native = await open('/native?group=e2e-mixed', 'e2e-mixed', 'whoami');
    try {
      for (let i = 0; i < 5; i++) {
        assert.deepEqual((await go({ group: 'e2e-mixed', action: 'whoami' })).body, { status: 200, group: 'e2e-mixed', clientId: native.clientId, data: 'native native e2e-mixed' });
        assert.equal((await go({ group: 'e2e-mixed', action: 'text', param: 'x' })).body.clientId, jsrpc.clientId);
      }
      const page = await getJson(`${bridge.jsrpc!.url}/page/html?group=e2e-mixed&clientId=${native.clientId}`);
      assert.match(page.body.data, /<p id="marker">native e2e-mixed body<\/p>/);
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'e2e-mixed', action: 'profile' })).body.result.name, 'jsrpc e2e-mixed');
      const list = await getJson(`${bridge.jsrpc!.url}/list`);
      assert.deepEqual(new Set(list.body.data['e2e-mixed']), new Set([jsrpc.clientId, native.clientId]));
    } finally {
      await jsrpc.tab.close();
      await native.tab.close();
    }
  });

  test('the one-line move to the native injector keeps every regAction line working, now with typed results', async () => {
    const { tab, clientId } = await open('/native?group=e2e-moved&migrated=1', 'e2e-moved', 'hold');
    try {
      assert.deepEqual((await go({ group: 'e2e-moved', action: 'sign', param: '{"user":"bob","n":2}' })).body, { status: 200, group: 'e2e-moved', clientId, data: 'sig:bob:2' });
      assert.equal((await go({ group: 'e2e-moved', action: 'text', param: 'hello' })).body.data, 'HELLO');
      assert.equal((await go({ group: 'e2e-moved', action: 'text' })).body.data, '');
      assert.deepEqual((await postJson(`${bridge.url}/v1/call`, { group: 'e2e-moved', action: 'profile' })).body.result, { name: 'native e2e-moved', tags: [1, 2] });
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'e2e-moved', action: 'count' })).body.result, 3);
      assert.equal(bridge.clients('e2e-moved')[0]?.context, 'top');
    } finally {
      await tab.close();
    }
  });
});
