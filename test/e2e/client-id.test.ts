/**
 * A tab keeps its client id across a reload at any moment, even one before the bridge has answered
 * its first hello: the page makes its id up and stores it before saying hello.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { injectorScript } from '../../bridge/injector-script.js';
import { CLIENT_ID_PATTERN, WS_PATH } from '../../protocol/index.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { startTestBridge } from '../helpers/bridge.js';
import { withTimeout } from '../helpers/wait.js';

let browser: Browser;
let site: TestSite;

before(async () => {
  browser = await launchTestBrowser();
  site = await startSite({ '/': '<!doctype html><title>app</title><p>app' });
});
after(async () => {
  await browser?.close();
  await site?.close();
});

test('a reload before the first welcome comes back with the same client id', async () => {
  // A bridge that takes hellos and never answers: every reload happens "within the first round trip".
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', path: WS_PATH });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const hellos: Array<{ clientId?: string; context?: string; url: string }> = [];
  let heard: (() => void) | undefined;
  server.on('connection', (ws) => {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; clientId?: string; context?: string; url: string };
      // The plain injector (no frame rule) also says hello from the tab's first about:blank: only the page counts here.
      if (message.type !== 'hello' || !message.url.startsWith(site.url)) return;
      hellos.push(message);
      heard?.();
    });
  });
  const nextHello = (count: number): Promise<void> =>
    withTimeout(
      new Promise<void>((resolve) => {
        heard = () => hellos.length >= count && resolve();
        heard();
      }),
      `hello number ${count}`,
    );
  const context = await browser.newContext();
  try {
    const port = (server.address() as { port: number }).port;
    await context.addInitScript({ content: injectorScript({ bridgeUrl: `http://127.0.0.1:${port}`, group: 'ids', key: 'test-key' }) });
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    await nextHello(1);
    await page.reload();
    await nextHello(2);
    const [first, second] = hellos;
    assert.match(first!.clientId ?? '', CLIENT_ID_PATTERN);
    assert.equal(second!.clientId, first!.clientId);
    assert.equal(first!.context, 'top');
  } finally {
    await context.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the bridge grants the id the page proposed, and a reload right after joining keeps it', async () => {
  const bridge = await startTestBridge();
  const context = await browser.newContext();
  try {
    await context.addInitScript({ content: injectorScript({ bridgeUrl: bridge.url, group: 'ids', key: bridge.pageKey }) });
    const page = await context.newPage();
    await page.goto(`${site.url}/`);
    const proposed = await page.evaluate(() => (globalThis as any).sessionStorage.getItem('pagecall:clientId:ids') as string | null);
    assert.match(proposed ?? '', CLIENT_ID_PATTERN);
    await page.reload();
    await withTimeout(page.waitForFunction(() => (globalThis as any).pagecall.status().state === 'open'), 'the reloaded page to join');
    assert.deepEqual(bridge.clients('ids').map((c) => c.id), [proposed]);
  } finally {
    await context.close();
    await bridge.close();
  }
});
