/** POST /v1/eval: off unless the bridge is started with --allow-eval; then runs code in a real page. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { postJson, startTestBridge, until } from '../helpers/bridge.js';

let site: TestSite;
let browser: Browser;
const bridges: Bridge[] = [];

before(async () => {
  site = await startSite({
    '/': (req, res) => {
      const query = new URL(req.url!, 'http://x').searchParams;
      const bridge = query.get('bridge')!;
      const connect = JSON.stringify({ url: `${bridge.replace(/^http/, 'ws')}/v1/ws`, group: 'ev', key: query.get('key') });
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>eval page</title><script src="${bridge}/injector.js"></script><script>pagecall.connect(${connect}); pagecall.register('noop', () => 0)</script>`);
    },
  });
  browser = await launchTestBrowser();
});
after(async () => {
  await browser?.close();
  await site?.close();
  for (const b of bridges) await b.close();
});

async function pageOn(options: { allowEval: boolean }): Promise<Bridge> {
  const bridge = await startTestBridge(options);
  bridges.push(bridge);
  const page = await browser.newPage();
  await page.goto(`${site.url}/?bridge=${encodeURIComponent(bridge.url)}&key=${encodeURIComponent(bridge.groupKey('ev'))}`);
  await until(() => bridge.clients('ev').length === 1, 'page joins');
  return bridge;
}

test('eval is refused with EVAL_DISABLED, saying how to enable it, when the bridge does not allow it', async () => {
  const bridge = await pageOn({ allowEval: false });
  const r = await postJson(`${bridge.url}/v1/eval`, { group: 'ev', code: 'document.title' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'EVAL_DISABLED');
  assert.match(r.body.error.message, /--allow-eval/);
  const viaCall = await postJson(`${bridge.url}/v1/call`, { group: 'ev', action: '$eval', args: ['1'] });
  assert.equal(viaCall.body.error.code, 'BAD_REQUEST');
});

test('with --allow-eval, code runs in the page in global scope and promises are awaited', async () => {
  const bridge = await pageOn({ allowEval: true });
  const title = await postJson(`${bridge.url}/v1/eval`, { group: 'ev', code: 'document.title' });
  assert.equal(title.body.result, 'eval page');
  const asyncValue = await postJson(`${bridge.url}/v1/eval`, { group: 'ev', code: 'new Promise((r) => setTimeout(() => r({ answer: 42 }), 10))' });
  assert.deepEqual(asyncValue.body.result, { answer: 42 });
  const thrown = await postJson(`${bridge.url}/v1/eval`, { group: 'ev', code: 'null.x' });
  assert.equal(thrown.body.error.code, 'PAGE_ERROR');
  assert.equal(thrown.body.error.data.name, 'TypeError');
  const bad = await postJson(`${bridge.url}/v1/eval`, { group: 'ev', code: 5 });
  assert.equal(bad.body.error.code, 'BAD_REQUEST');
  assert.match(bad.body.error.message, /code: expected string, got number/);
});
