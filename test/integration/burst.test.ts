import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';
import { connectFakePage, type FakeHandler, type FakePage } from '../helpers/fake-page.js';
import { internals, leftovers } from '../helpers/internals.js';

// JsRpc dies on exactly this burst (concurrent map access); here every call must get its own answer.
describe('a burst of concurrent calls', () => {
  const CALLS = 400;
  let bridge: Bridge;
  let even: FakePage;
  let odd: FakePage;
  let flicker: FakePage;

  const echo: FakeHandler = (args, invoke) => ({ action: invoke.action, args });
  const handlers = (parity: number): Record<string, FakeHandler> =>
    Object.fromEntries(Array.from({ length: CALLS / 2 }, (_, k) => k).filter((k) => k % 2 === parity).map((k) => [`real-${k}`, echo]));

  before(async () => {
    bridge = await startTestBridge();
    even = await connectFakePage({ bridgeUrl: bridge.url, group: 'burst', handlers: handlers(0) });
    odd = await connectFakePage({ bridgeUrl: bridge.url, group: 'burst', handlers: handlers(1) });
    flicker = await connectFakePage({ bridgeUrl: bridge.url, group: 'burst', handlers: { flicker: () => 'on' } });
  });
  after(async () => {
    await Promise.all([even.close(), odd.close(), flicker.close()]);
    await bridge.close();
  });

  test('400 concurrent calls with distinct names: real ones succeed on the page that has them, unknown ones get ACTION_NOT_FOUND', async () => {
    // While the burst runs, a third page keeps changing its function list, so the group's action
    // index is rebuilt under the calls' feet (without changing where any of them may go).
    let toggles = 0;
    let bursting = true;
    const toggle = async (): Promise<void> => {
      while (bursting && toggles < 200) {
        flicker.sendRaw(JSON.stringify({ type: 'update', actions: toggles % 2 === 0 ? [] : ['flicker'] }));
        toggles++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const toggling = toggle();
    const calls = Array.from({ length: CALLS }, (_, i) => {
      const action = i % 2 === 0 ? `real-${i / 2}` : `unknown-${i}`;
      return postJson(`${bridge.url}/v1/call`, { group: 'burst', action, args: [i, `nonce-${i}`] }).then((r) => ({ i, action, r }));
    });
    const results = await Promise.all(calls);
    bursting = false;
    await toggling;
    assert.ok(toggles > 0);
    for (const { i, action, r } of results) {
      if (i % 2 === 0) {
        assert.equal(r.status, 200, `${action}: ${JSON.stringify(r.body)}`);
        assert.deepEqual(r.body.result, { action, args: [i, `nonce-${i}`] });
        assert.equal(r.body.clientId, (i / 2) % 2 === 0 ? even.clientId : odd.clientId);
      } else {
        assert.equal(r.status, 404, `${action}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, 'ACTION_NOT_FOUND');
        assert.ok(r.body.error.data.available.includes('real-0'));
      }
    }
    await until(() => internals(bridge).pending.inFlight === 0, 'every call to leave the pending table');
    assert.equal(internals(bridge).pending.waiting, 0);
  });

  test('400 concurrent calls to groups nobody joined all get NO_CLIENT at once', async () => {
    const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => postJson(`${bridge.url}/v1/call`, { group: `empty-${i}`, action: `a${i}`, timeoutMs: 60_000 })));
    for (const r of results) {
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'NO_CLIENT');
    }
  });

  test('the bridge keeps serving after the bursts, with nothing left behind', async () => {
    const r = await postJson(`${bridge.url}/v1/call`, { group: 'burst', action: 'real-3', args: ['after'] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.result, { action: 'real-3', args: ['after'] });
    const health = await getJson(`${bridge.url}/health`);
    assert.equal(health.body.clients, 3);
    const left = leftovers(bridge);
    assert.deepEqual({ inFlight: left.inFlight, waiting: left.waiting, deadlines: left.deadlines, queues: left.queues, groups: left.groups }, { inFlight: 0, waiting: 0, deadlines: 0, queues: 0, groups: 1 });
  });
});
