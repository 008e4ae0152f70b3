/**
 * Packing in a real page: calls that travel together in one frame keep their own results, errors
 * and deadlines, and the page answers one frame of calls with one frame of results. The page side is
 * driven by a scripted bridge (a bare WebSocket server) so frames are exactly what the test sends;
 * the bridge side by the real bridge and POST /v1/batch.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Bridge } from '../../bridge/index.js';
import { PROTOCOL_VERSION } from '../../protocol/index.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { postJson, startTestBridge, until } from '../helpers/bridge.js';

const FUNCTIONS = `
  window.contexts = {};
  pagecall.register('echo', (x) => x);
  pagecall.register('twice', async (x) => x * 2);
  pagecall.register('thenable', (x) => ({ then(resolve) { resolve(x + 1); } }));
  pagecall.register('badThen', () => ({ get then() { throw new TypeError('then getter threw'); } }));
  pagecall.register('fail', (why) => { throw new RangeError(why); });
  pagecall.register('reject', async (why) => { throw new Error(why); });
  // Never settles; keeps its context so the test can look at the signal afterwards.
  pagecall.register('hang', function (key) { window.contexts[key] = this; return new Promise(() => {}); });
  // Reads its signal at once and records how it ends.
  pagecall.register('watch', function (key) {
    window.contexts[key] = this;
    this.signal.addEventListener('abort', () => { window.contexts[key + ':aborted'] = this.signal.reason.name; });
    return new Promise(() => {});
  });
`;

/** What a page function context looks like from the test. */
const signalState = (page: Page, key: string): Promise<{ aborted: boolean; reason: string | null; heard: string | null }> =>
  page.evaluate((k) => {
    const ctx = (globalThis as unknown as { contexts: Record<string, { signal: AbortSignal }> }).contexts[k]!;
    const heard = (globalThis as unknown as { contexts: Record<string, unknown> }).contexts[k + ':aborted'];
    return { aborted: ctx.signal.aborted, reason: ctx.signal.aborted ? (ctx.signal.reason as Error).name : null, heard: typeof heard === 'string' ? heard : null };
  }, key);

// A frame that never comes fails the test instead of hanging the run.
describe('packing in a real page', { timeout: 120_000 }, () => {
  let browser: Browser;
  let context: BrowserContext;
  let site: TestSite;
  const injector = readFileSync(join(import.meta.dirname, '..', '..', 'dist', 'injector', 'pagecall.js'), 'utf8');

  before(async () => {
    site = await startSite({
      '/injector.js': { body: injector, type: 'text/javascript' },
      '/page': `<!doctype html><title>packing</title><script src="/injector.js"></script><script>${FUNCTIONS}</script>`,
    });
    browser = await launchTestBrowser();
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  describe('page side, against a scripted bridge', () => {
    let wss: WebSocketServer;
    let page: Page;
    let socket: WebSocket;
    /** Frames from the page, as parsed JSON, in arrival order. */
    const frames: unknown[] = [];
    let frameWaiters: Array<() => void> = [];

    /** Waits until the page has sent `count` frames in all. */
    const framesSoFar = async (count: number): Promise<unknown[]> => {
      while (frames.length < count) await new Promise<void>((resolve) => frameWaiters.push(resolve));
      return frames.slice(0, count);
    };

    before(async () => {
      wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await once(wss, 'listening');
      // The listener goes on in the connection event itself: the hello can arrive in the same turn.
      const connected = new Promise<void>((resolve) => {
        wss.once('connection', (ws) => {
          socket = ws;
          ws.on('message', (data) => {
            frames.push(JSON.parse(data.toString()));
            const waiters = frameWaiters;
            frameWaiters = [];
            for (const w of waiters) w();
          });
          resolve();
        });
      });
      page = await context.newPage();
      await page.goto(`${site.url}/page`);
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/ws`;
      await page.evaluate((u) => (globalThis as unknown as { pagecall: { connect(o: unknown): void } }).pagecall.connect({ url: u, group: 'packing' }), url);
      await connected;
      const [hello] = (await framesSoFar(1)) as Array<{ type: string }>;
      assert.equal(hello!.type, 'hello');
      // heartbeatMs 0: no pings, no watchdog; this bridge never sends a cancel either.
      socket.send(JSON.stringify({ type: 'welcome', v: PROTOCOL_VERSION, clientId: 'packing-page', group: 'packing', heartbeatMs: 0, maxFrameBytes: 1 << 20 }));
      await page.waitForFunction(() => (globalThis as unknown as { pagecall: { status(): { state: string } } }).pagecall.status().state === 'open');
    });
    after(async () => {
      await page?.close();
      for (const client of wss?.clients ?? []) client.terminate();
      wss?.close();
    });

    const invoke = (id: string, action: string, args: unknown[], timeoutMs = 30_000) => ({ type: 'invoke', id, action, args, timeoutMs });

    test('one frame of calls is answered with one frame of results, each with its own outcome', async () => {
      const sent = frames.length;
      socket.send(
        JSON.stringify([
          invoke('a', 'echo', ['first']),
          invoke('b', 'fail', ['b failed']),
          invoke('c', 'echo', [{ nested: [1, 2] }]),
          invoke('d', 'twice', [21]),
          invoke('e', 'badThen', []),
          invoke('f', 'nope', []),
          invoke('g', 'echo', ['last']),
        ]),
      );
      const [frame] = (await framesSoFar(sent + 1)).slice(sent) as [Array<Record<string, any>>];
      assert.ok(Array.isArray(frame), 'the results came packed in one frame');
      const byId = new Map(frame.map((m) => [m.id as string, m]));
      assert.equal(byId.size, 7);
      assert.deepEqual(byId.get('a'), { type: 'result', id: 'a', ok: true, value: 'first' });
      assert.equal(byId.get('b')!.ok, false);
      assert.equal(byId.get('b')!.error.name, 'RangeError');
      assert.equal(byId.get('b')!.error.message, 'b failed');
      assert.deepEqual(byId.get('c')!.value, { nested: [1, 2] });
      assert.equal(byId.get('d')!.value, 42, 'an async result of the same task is in the frame too');
      assert.equal(byId.get('e')!.ok, false);
      assert.equal(byId.get('e')!.error.message, 'then getter threw');
      assert.equal(byId.get('f')!.error.code, 'ACTION_NOT_FOUND');
      assert.equal(byId.get('g')!.value, 'last');
    });

    test('async results of one task leave together; a failing one does not hold back the others', async () => {
      const sent = frames.length;
      socket.send(JSON.stringify([invoke('t1', 'twice', [1]), invoke('t2', 'reject', ['nope']), invoke('t3', 'twice', [3])]));
      const [frame] = (await framesSoFar(sent + 1)).slice(sent) as [Array<Record<string, any>>];
      assert.deepEqual(
        frame.map((m) => [m.id, m.ok, m.ok ? m.value : m.error.message]),
        [['t1', true, 2], ['t2', false, 'nope'], ['t3', true, 6]],
      );
    });

    test('a thenable that is not a promise is followed', async () => {
      const sent = frames.length;
      socket.send(JSON.stringify(invoke('th', 'thenable', [41])));
      const [frame] = (await framesSoFar(sent + 1)).slice(sent) as [Record<string, any>];
      assert.deepEqual(frame, { type: 'result', id: 'th', ok: true, value: 42 });
    });

    test('a short deadline aborts only its own call, whether the signal was read before or after', async () => {
      const sent = frames.length;
      socket.send(
        JSON.stringify([
          invoke('w-short', 'watch', ['w-short'], 50),
          invoke('h-short', 'hang', ['h-short'], 50),
          invoke('w-long', 'watch', ['w-long'], 60_000),
          invoke('h-long', 'hang', ['h-long'], 60_000),
          invoke('quick', 'echo', ['still answered'], 50),
        ]),
      );
      const [frame] = (await framesSoFar(sent + 1)).slice(sent) as [Record<string, any>];
      assert.deepEqual(frame, { type: 'result', id: 'quick', ok: true, value: 'still answered' });
      // The page's own deadline, with no cancel from this bridge: the watcher hears a TimeoutError.
      await page.waitForFunction(() => (globalThis as unknown as { contexts: Record<string, unknown> }).contexts['w-short:aborted'] !== undefined);
      assert.deepEqual(await signalState(page, 'w-short'), { aborted: true, reason: 'TimeoutError', heard: 'TimeoutError' });
      // A signal first read after the deadline is already aborted, with the same reason.
      assert.deepEqual(await signalState(page, 'h-short'), { aborted: true, reason: 'TimeoutError', heard: null });
      assert.deepEqual(await signalState(page, 'w-long'), { aborted: false, reason: null, heard: null });
      assert.deepEqual(await signalState(page, 'h-long'), { aborted: false, reason: null, heard: null });
      const inFlight = await page.evaluate(() => (globalThis as unknown as { pagecall: { status(): { inFlight: number } } }).pagecall.status().inFlight);
      assert.equal(inFlight, 2, 'only the two long calls are still running');
    });

    test('a cancel aborts its own call only', async () => {
      const sent = frames.length;
      socket.send(JSON.stringify([{ type: 'cancel', id: 'w-long', reason: 'CANCELLED' }, { type: 'cancel', id: 'h-long', reason: 'CANCELLED' }, invoke('after', 'echo', ['after cancel'])]));
      const [frame] = (await framesSoFar(sent + 1)).slice(sent) as [Record<string, any>];
      assert.equal(frame.id, 'after');
      assert.deepEqual(await signalState(page, 'w-long'), { aborted: true, reason: 'AbortError', heard: 'AbortError' });
      assert.deepEqual(await signalState(page, 'h-long'), { aborted: true, reason: 'AbortError', heard: null });
    });

    test('closing the connection aborts the signals of running calls', async () => {
      socket.send(JSON.stringify([invoke('x1', 'watch', ['x1']), invoke('x2', 'hang', ['x2'])]));
      await page.waitForFunction(() => (globalThis as unknown as { pagecall: { status(): { inFlight: number } } }).pagecall.status().inFlight === 2);
      socket.close(1001, 'test bridge going away');
      await page.waitForFunction(() => (globalThis as unknown as { contexts: Record<string, unknown> }).contexts['x1:aborted'] !== undefined);
      assert.deepEqual(await signalState(page, 'x1'), { aborted: true, reason: 'AbortError', heard: 'AbortError' });
      assert.deepEqual(await signalState(page, 'x2'), { aborted: true, reason: 'AbortError', heard: null });
      await page.evaluate(() => (globalThis as unknown as { pagecall: { disconnect(): void } }).pagecall.disconnect());
    });
  });

  describe('through the bridge', () => {
    let bridge: Bridge;
    let page: Page;

    before(async () => {
      bridge = await startTestBridge();
      page = await context.newPage();
      await page.goto(`${site.url}/page`);
      await page.evaluate((o) => (globalThis as unknown as { pagecall: { connect(o: unknown): void } }).pagecall.connect(o), { url: bridge.url.replace('http', 'ws') + '/v1/ws', group: 'packed', key: bridge.groupKey('packed') });
      await until(() => bridge.clients('packed').find((c) => c.actions.includes('echo')), 'the page joined');
    });
    after(async () => {
      await page?.close();
      await bridge?.close();
    });

    test('a batch keeps request order, each call its own result, a failure and a deadline among successes', async () => {
      const calls = [];
      for (let i = 0; i < 300; i++) {
        if (i === 100) calls.push({ action: 'fail', args: ['one bad call'] });
        else if (i === 200) calls.push({ action: 'hang', args: ['batch-hang'], timeoutMs: 100 });
        else if (i % 3 === 0) calls.push({ action: 'twice', args: [i] });
        else calls.push({ action: 'echo', args: [{ i }] });
      }
      const r = await postJson(`${bridge.url}/v1/batch`, { group: 'packed', calls });
      assert.equal(r.status, 200);
      const results = r.body.results as Array<Record<string, any>>;
      assert.equal(results.length, 300);
      for (let i = 0; i < 300; i++) {
        const got = results[i]!;
        if (i === 100) {
          assert.equal(got.ok, false);
          assert.equal(got.error.code, 'PAGE_ERROR');
          assert.equal(got.error.data.message, 'one bad call');
        } else if (i === 200) {
          assert.equal(got.ok, false);
          assert.equal(got.error.code, 'TIMEOUT');
        } else if (i % 3 === 0) {
          assert.deepEqual([i, got.ok, got.result], [i, true, i * 2]);
        } else {
          assert.deepEqual([i, got.ok, got.result], [i, true, { i }]);
        }
      }
      // Aborted by the bridge's cancel (AbortError) or the page's own deadline (TimeoutError), whichever came first.
      const hung = await signalState(page, 'batch-hang');
      assert.equal(hung.aborted, true);
      assert.ok(hung.reason === 'AbortError' || hung.reason === 'TimeoutError', String(hung.reason));
    });

    test('concurrent single calls each get their own answer', async () => {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => postJson(`${bridge.url}/v1/call`, { group: 'packed', action: i % 2 ? 'echo' : 'twice', args: [i] })));
      answers.forEach((a, i) => assert.deepEqual([a.status, a.body.result], [200, i % 2 ? i : i * 2]));
    });
  });
});
