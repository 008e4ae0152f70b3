import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { TEST_PAGE_KEY, postJson, startTestBridge, until } from '../helpers/bridge.js';
import { connectFakePage, type FakePage } from '../helpers/fake-page.js';
import { internals } from '../helpers/internals.js';

/** A page whose `hold` calls wait until the test releases them, oldest first. */
async function holdingPage(bridgeUrl: string, group = 'g'): Promise<{ page: FakePage; started: unknown[]; releaseOne(): void }> {
  const releases: Array<() => void> = [];
  const started: unknown[] = [];
  const page = await connectFakePage({
    bridgeUrl,
    group,
    handlers: {
      hold: ([tag]) =>
        new Promise((resolve) => {
          started.push(tag);
          releases.push(() => resolve(tag ?? null));
        }),
    },
  });
  return { page, started, releaseOne: () => releases.shift()!() };
}

describe('overload', () => {
  test('calls over maxInFlightPerClient wait queueTimeoutMs, then get OVERLOADED 429 with Retry-After; the running ones still finish', async () => {
    const bridge = await startTestBridge({ maxInFlightPerClient: 2, queueTimeoutMs: 50 });
    const { page, started, releaseOne } = await holdingPage(bridge.url);
    try {
      const running = [0, 1].map((tag) => postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [tag] }));
      await until(() => started.length === 2, 'both slots to be taken');
      const over = await Promise.all([2, 3, 4].map((tag) => postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [tag] })));
      for (const r of over) {
        assert.equal(r.status, 429);
        assert.equal(r.body.error.code, 'OVERLOADED');
        assert.equal(r.headers.get('retry-after'), '1');
        assert.equal(r.body.error.data.retryAfterSeconds, 1);
      }
      assert.equal(started.length, 2, 'the page never ran more than its limit');
      releaseOne();
      releaseOne();
      assert.deepEqual((await Promise.all(running)).map((r) => r.body.result), [0, 1]);
      const later = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: ['later'] });
      await until(() => started.length === 3, 'a freed slot to take a new call');
      releaseOne();
      assert.equal((await later).body.result, 'later');
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('calls within the queue limit wait and run in arrival order as slots free up', async () => {
    const bridge = await startTestBridge({ maxInFlightPerClient: 1, queueTimeoutMs: 60_000 });
    const { page, started, releaseOne } = await holdingPage(bridge.url);
    try {
      const calls = [postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [0] })];
      await until(() => started.length === 1, 'the first call to run');
      for (let tag = 1; tag <= 5; tag++) {
        calls.push(postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [tag] }));
        // Arrival order is what the queue promises to keep, so each call is queued before the next is sent.
        await until(() => internals(bridge).pending.waiting === tag, `call ${tag} to be queued`);
      }
      for (let tag = 1; tag <= 5; tag++) {
        releaseOne();
        await until(() => started.length === tag + 1, `call ${tag} to start`);
        assert.equal(page.received.filter((m) => m.type === 'invoke').length, tag + 1);
      }
      releaseOne();
      const results = await Promise.all(calls);
      assert.deepEqual(started, [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(results.map((r) => [r.status, r.body.result]), [0, 1, 2, 3, 4, 5].map((tag) => [200, tag]));
      assert.equal(internals(bridge).pending.waiting, 0);
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('a full wait queue (maxQueued) refuses at once with OVERLOADED', async () => {
    const bridge = await startTestBridge({ maxInFlightPerClient: 1, maxQueued: 2, queueTimeoutMs: 60_000 });
    const { page, started, releaseOne } = await holdingPage(bridge.url);
    try {
      const accepted = [postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [0] })];
      await until(() => started.length === 1, 'the first call to run');
      accepted.push(...[1, 2].map((tag) => postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [tag] })));
      await until(() => internals(bridge).pending.waiting === 2, 'the queue to fill');
      const refused = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [3], timeoutMs: 60_000 });
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error.code, 'OVERLOADED');
      assert.equal(refused.headers.get('retry-after'), '1');
      for (let i = 0; i < 3; i++) {
        await until(() => started.length > i, `call ${i} to start`);
        releaseOne();
      }
      assert.deepEqual((await Promise.all(accepted)).map((r) => r.body.result).sort(), [0, 1, 2]);
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('a deadline shorter than the queue wait gives TIMEOUT, not OVERLOADED, and the page never sees the call', async () => {
    const bridge = await startTestBridge({ maxInFlightPerClient: 1, queueTimeoutMs: 60_000 });
    const { page, started, releaseOne } = await holdingPage(bridge.url);
    try {
      const first = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [0] });
      await until(() => started.length === 1, 'the slot to be taken');
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hold', args: [1], timeoutMs: 50 });
      assert.equal(r.status, 504);
      assert.equal(r.body.error.code, 'TIMEOUT');
      assert.equal(internals(bridge).pending.waiting, 0);
      releaseOne();
      assert.equal((await first).body.result, 0);
      assert.deepEqual(started, [0]);
      assert.equal(page.received.filter((m) => m.type === 'cancel').length, 0, 'nothing to cancel: it never ran');
    } finally {
      await page.close();
      await bridge.close();
    }
  });
});

describe('maxClients', () => {
  /** Connects a raw page socket, says hello and reports what the bridge answered. */
  async function join(bridgeUrl: string, clientId?: string, resume?: string): Promise<{ ws: WebSocket; first: any; closed: Promise<number> }> {
    const ws = new WebSocket(`${bridgeUrl.replace(/^http/, 'ws')}/v1/ws`);
    ws.on('error', () => {});
    const closed = once(ws, 'close').then(([code]) => code as number);
    const first = once(ws, 'message').then(([data]) => JSON.parse(String(data)));
    await once(ws, 'open');
    ws.send(JSON.stringify({ type: 'hello', v: 1, group: 'full', url: '', title: '', actions: ['x'], key: TEST_PAGE_KEY, ...(clientId ? { clientId } : {}), ...(resume ? { resume } : {}) }));
    return { ws, first: await first, closed };
  }

  test('a page over the limit is refused with OVERLOADED and close code 4503; a page may join again once one leaves', async () => {
    const bridge = await startTestBridge({ maxClients: 3 });
    const pages = await Promise.all(['p1', 'p2', 'p3'].map((id) => connectFakePage({ bridgeUrl: bridge.url, group: 'full', clientId: id, handlers: { x: () => id } })));
    try {
      const extra = await join(bridge.url);
      assert.equal(extra.first.type, 'error');
      assert.equal(extra.first.code, 'OVERLOADED');
      assert.match(extra.first.message, /3 pages/);
      assert.equal(await extra.closed, 4503);
      assert.equal(bridge.clients().length, 3);

      // Reconnecting under an id that is already connected (with its resume secret) replaces that page: allowed while full.
      const replaced = once(pages[0]!.ws, 'close');
      const again = await join(bridge.url, 'p1', pages[0]!.welcome.resume);
      assert.equal(again.first.type, 'welcome');
      assert.equal((await replaced)[0], 4409);
      assert.equal(bridge.clients().length, 3);

      await pages[1]!.close();
      await until(() => bridge.clients().length === 2, 'a page to leave');
      const admitted = await join(bridge.url);
      assert.equal(admitted.first.type, 'welcome');
      assert.equal(bridge.clients().length, 3);
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'full', action: 'x', clientId: 'p3' })).body.result, 'p3');
      again.ws.close();
      admitted.ws.close();
    } finally {
      await Promise.all(pages.map((p) => p.close()));
      await bridge.close();
    }
  });
});
