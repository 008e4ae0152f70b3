/**
 * Pages that replaced built-ins before pagecall came (test/fixtures/anti-debug), in real Chromium:
 * JSON that serves decoys to anyone but the page's own scripts, a sniffing WebSocket.prototype.send,
 * and a Function.prototype.toString that hides both (with `?strict`, also a WebSocket constructor
 * that sees every socket, and a muted console). Pasted, pagecall takes the browser's own built-ins
 * from a hidden frame, joins and serves calls, while the page keeps its replacements and keeps
 * working; put in by the launcher, it has them from the start and makes no frame. A worker that
 * replaced JSON.parse gets pagecall with what is there, and is told so.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WebSocketServer } from 'ws';
import type { Bridge } from '../../bridge/index.js';
import { injectorScript } from '../../bridge/injector-script.js';
import { attach } from '../../launcher/launch.js';
import { antiDebugRoutes } from '../fixtures/anti-debug/site.js';
import { buildWebpackFixtures, fixtureRoutes } from '../fixtures/webpack/build.js';
import { startTestBridge, until } from '../helpers/bridge.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';

type Mode = 'launcher' | 'pasted';
const MODES: Mode[] = ['launcher', 'pasted'];

// Plain JavaScript for the page.
const HOOKS = `
  pagecall.register('add', (a, b) => a + b);
  pagecall.register('arrays', (list) => [list instanceof Array, list[2].a instanceof Array, Object.getPrototypeOf(list[2]) === Object.prototype]);
  pagecall.expose('save', 'app.save');
  pagecall.register('say', (text) => { app.say(text); return 'said'; });
`;

/** What the page's anti-debugging code saw, and what the page shows. */
interface Seen {
  foreignParse: number;
  foreignStringify: number;
  sent: string[];
  sockets: string[];
  console: string[];
  frames: number;
  windowFrames: number;
  disguised: string;
  saved: string;
  echoes: string;
}

async function seen(page: Page): Promise<Seen> {
  return page.evaluate(() => {
    const g = globalThis as any;
    const { foreignParse, foreignStringify, sent, sockets, console, frames } = g.__antiDebug;
    return {
      foreignParse,
      foreignStringify,
      sent,
      sockets,
      console,
      frames,
      windowFrames: g.length,
      disguised: g.Function.prototype.toString.call(g.JSON.parse),
      saved: g.app.saved,
      echoes: g.document.getElementById('echoes').textContent,
    };
  });
}

describe('pages that replaced built-ins before pagecall loaded', () => {
  let echo: WebSocketServer;
  let echoUrl: string;
  let site: TestSite;
  let bridge: Bridge;
  let browser: Browser;
  let groups = 0;

  /** The fixture page with pagecall put in by the launcher (before anti.js), or pasted after it ran. */
  async function open(mode: Mode, path: string, on: Bridge = bridge): Promise<{ page: Page; group: string; console: string[]; close(): Promise<void> }> {
    const group = `guarded-${++groups}`;
    const lines: string[] = [];
    let page: Page;
    let close: () => Promise<void>;
    if (mode === 'launcher') {
      // The launcher's page script, put in before the page's own scripts (attach() adds it as an init script).
      const context = await browser.newContext();
      await attach(context, { group, scripts: [{ content: HOOKS }], bridge: on });
      page = await context.newPage();
      page.on('console', (m) => lines.push(m.text()));
      await page.goto(`${site.url}${path}`);
      close = () => context.close();
    } else {
      const context = await browser.newContext();
      page = await context.newPage();
      page.on('console', (m) => lines.push(m.text()));
      await page.goto(`${site.url}${path}`);
      await page.waitForSelector('body[data-echoes="1"]');
      await page.evaluate(injectorScript({ bridgeUrl: on.url, group, key: on.pageKey }));
      await page.evaluate(HOOKS);
      close = () => context.close();
    }
    await page.waitForSelector('body[data-echoes="1"]');
    await on.waitForAction(group, 'say');
    return { page, group, console: lines, close };
  }

  before(async () => {
    echo = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    echo.on('connection', (ws) => ws.on('message', (data) => ws.send(String(data))));
    await new Promise((resolve) => echo.once('listening', resolve));
    echoUrl = `ws://127.0.0.1:${(echo.address() as AddressInfo).port}/`;
    bridge = await startTestBridge();
    await buildWebpackFixtures();
    site = await startSite({ ...fixtureRoutes(), ...antiDebugRoutes(echoUrl, injectorScript({ bridgeUrl: bridge.url, group: 'worker', key: bridge.pageKey })) });
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    await bridge?.close();
    await site?.close();
    for (const client of echo?.clients ?? []) client.terminate();
    await new Promise((resolve) => echo?.close(resolve));
  });

  for (const mode of MODES) {
    test(`JSON, send and toString replaced (${mode}): pagecall joins and serves calls; the page keeps its replacements and they keep working; pagecall's traffic does not pass through them`, async () => {
      const { page, group, console: lines, close } = await open(mode, '/');
      try {
        assert.equal(await bridge.call(group, 'add', [1, 2]), 3);
        assert.deepEqual(await bridge.call(group, 'arrays', [[1, 2, { a: [3] }]]), [true, true, true]);
        // The page's own function, using the page's own (replaced) JSON.
        assert.deepEqual(await bridge.call(group, 'save', [{ volume: 7 }]), { volume: 7 });
        assert.equal(await bridge.call(group, 'say', ['hi']), 'said');
        await page.waitForSelector('body[data-echoes="2"]');
        const state = await seen(page);
        assert.deepEqual(state, {
          foreignParse: 0,
          foreignStringify: 0,
          // Only the page's own frames went through its sniffing send.
          sent: ['{"hello":"site"}', '{"say":"hi"}'],
          sockets: [],
          console: [],
          // Pasted, pagecall made one frame and removed it again; by the launcher, none.
          frames: mode === 'pasted' ? 1 : 0,
          windowFrames: 0,
          disguised: 'function parse() { [native code] }',
          saved: '{"volume":7}',
          echoes: '{"hello":"site"}\n{"say":"hi"}',
        });
        const notices = lines.filter((l) => /replaced|do not look/.test(l));
        if (mode === 'launcher') assert.deepEqual(notices, []);
        else {
          assert.deepEqual(notices, [
            "pagecall: this page replaced JSON.parse, JSON.stringify, Function.prototype.toString, WebSocket.prototype.send before pagecall loaded; pagecall uses the browser's own, taken from a hidden same-origin frame, removed again. The page keeps its own.",
          ]);
        }
      } finally {
        await close();
      }
    });

    test(`the WebSocket constructor and console replaced too (${mode}): pagecall's socket and messages bypass them`, async () => {
      const { page, group, console: lines, close } = await open(mode, '/?strict');
      try {
        assert.equal(await bridge.call(group, 'add', [2, 3]), 5);
        assert.equal(await bridge.call(group, 'say', ['strict']), 'said');
        await page.waitForSelector('body[data-echoes="2"]');
        const state = await seen(page);
        // The page's constructor saw only the page's own socket; its muted console heard nothing from pagecall.
        assert.deepEqual(state.sockets, [echoUrl]);
        assert.deepEqual(state.console, []);
        assert.deepEqual(state.sent, ['{"hello":"site"}', '{"say":"strict"}']);
        assert.ok(lines.some((l) => l.startsWith(`pagecall: connected to ${bridge.url.replace('http', 'ws')}`)), lines.join('\n'));
        if (mode === 'launcher') {
          assert.equal(state.windowFrames, 0);
          assert.deepEqual(lines.filter((l) => /replaced/.test(l)), []);
        } else {
          // Sockets and console of a removed frame do nothing: the frame stays. A second paste
          // keeps the first instance, and makes no frame of its own.
          await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group, key: bridge.pageKey }));
          assert.deepEqual(await page.evaluate(() => [(globalThis as any).length, (globalThis as any).__antiDebug.frames]), [1, 1]);
          assert.equal(state.windowFrames, 1);
          assert.deepEqual(
            lines.filter((l) => /replaced/.test(l)),
            [
              "pagecall: this page replaced JSON.parse, JSON.stringify, Function.prototype.toString, WebSocket, WebSocket.prototype.send, console.info, console.warn, console.debug before pagecall loaded; pagecall uses the browser's own, taken from a hidden same-origin frame, kept in the page because WebSocket, console.info, console.warn, console.debug work only while their frame is there. The page keeps its own.",
            ],
          );
        }
      } finally {
        await close();
      }
    });
  }

  test('pasted, when the page removes the frame pagecall keeps, pagecall makes a new one and joins again', async () => {
    const quick = await startTestBridge({ heartbeatMs: 200 });
    const { page, group, close } = await open('pasted', '/?strict', quick);
    try {
      assert.equal(await quick.call(group, 'add', [1, 1]), 2);
      await page.evaluate(() => (globalThis as any).document.querySelector('iframe').remove());
      // The removed frame's socket closes without telling the page; the silent-bridge watchdog notices.
      await until(() => page.evaluate(() => (globalThis as any).pagecall.status().connects === 2), 'pagecall to join again', 30_000);
      assert.equal(await quick.call(group, 'add', [2, 2]), 4);
      const state = await seen(page);
      assert.equal(state.windowFrames, 1);
      assert.equal(state.frames, 2);
      assert.deepEqual(state.sockets, [echoUrl]);
    } finally {
      await close();
      await quick.close();
    }
  });

  test('pasted into a bundle whose page hides every source from toString, the webpack helpers still read factory sources', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${site.url}/wp5/`);
      // What the page did before the paste: every function claims to be native code.
      await page.evaluate(() => {
        const g = globalThis as any;
        const fake = { toString(this: { name?: string }) { return `function ${this.name ?? ''}() { [native code] }`; } }.toString;
        g.Object.defineProperty(g.Function.prototype, 'toString', { value: fake, writable: true, configurable: true });
      });
      await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group: `guarded-${++groups}`, key: bridge.pageKey }));
      const found = await page.evaluate(() => {
        const g = globalThis as any;
        const Signer = g.pagecall.webpack.findByCode('X-Room-Sign', { load: true });
        return { signature: new Signer('k').sign('/p'), pageView: g.Function.prototype.toString.call(Signer) };
      });
      assert.match(found.signature, /^X-Room-Sign=[0-9a-f]+$/);
      assert.match(found.pageView, /^function \w*\(\) \{ \[native code\] \}$/);
    } finally {
      await context.close();
    }
  });

  test('a worker that replaced JSON.parse: pagecall says it cannot take clean copies there, uses what is there, and works', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const lines: string[] = [];
      page.on('worker', (worker) => worker.on('console', (m) => lines.push(m.text())));
      await page.goto(`${site.url}/worker.html`);
      await bridge.waitForAction('worker', 'square');
      assert.equal(await bridge.call('worker', 'square', [7]), 49);
      assert.ok(((await bridge.call('worker', 'parses', [])) as number) > 0);
      assert.deepEqual(
        lines.filter((l) => /do not look/.test(l)),
        [
          "pagecall: these built-ins do not look like the browser's own here (replaced before pagecall loaded?): JSON.parse; a worker has no document to take clean copies from, so pagecall uses them as they are. If it cannot connect or calls fail, load pagecall before the code that replaces them (pagecall open, an init script or a userscript at document-start).",
        ],
      );
    } finally {
      await context.close();
    }
  });
});
