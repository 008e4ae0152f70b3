/** GET /v1/events: the dashboard's live stream — access-checked, a snapshot first, then batched changes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SnapshotEvent, UpdateEvent } from '../../bridge/dashboard/events.js';
import type { Bridge } from '../../bridge/index.js';
import { postJson, startTestBridge, until, statusOf } from '../helpers/bridge.js';
import { fileCleanup } from '../helpers/cleanup.js';
import { openEvents, type EventStreamReader } from '../helpers/event-stream.js';
import type { FakePage, FakePageOptions } from '../helpers/fake-page.js';

const TOKEN = 'events-test-token-0123456789';
const use = fileCleanup();
const bridgeWith = (options: Parameters<typeof startTestBridge>[0] = {}): Promise<Bridge> => use.bridge(options);
function page(bridge: Bridge, options: Partial<FakePageOptions> = {}): Promise<FakePage> {
  return use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { add: (a) => (a[0] as number) + (a[1] as number), boom: () => { throw new TypeError('bad input'); } }, ...options });
}
async function stream(bridge: Bridge, headers: Record<string, string> = {}, query = ''): Promise<EventStreamReader> {
  return use.add(await openEvents(bridge.url, headers, query), 'an event stream');
}

const isUpdate = (e: { type: string }): e is UpdateEvent => e.type === 'update';

describe('GET /v1/events access', () => {
  test('refuses a foreign Host, a cross-site request and an opaque origin like the API does', async () => {
    const bridge = await bridgeWith();
    assert.equal(await statusOf(`${bridge.url}/v1/events`, { host: 'evil.example' }), 403);
    assert.equal(await statusOf(`${bridge.url}/v1/events`, { 'sec-fetch-site': 'cross-site' }), 403);
    assert.equal(await statusOf(`${bridge.url}/v1/events`, { origin: 'https://evil.example' }), 403);
    assert.equal(await statusOf(`${bridge.url}/v1/events`, { origin: 'null' }), 403);
    assert.equal(await statusOf(`${bridge.url}/v1/events`, { origin: bridge.url, 'sec-fetch-site': 'same-origin' }), 200);
  });

  test('with a token, needs it (Bearer header or ?token=) and refuses a wrong one', async () => {
    const bridge = await bridgeWith({ token: TOKEN });
    assert.equal((await openEvents(bridge.url)).status, 401);
    assert.equal((await openEvents(bridge.url, { authorization: 'Bearer wrong-token-000000000' })).status, 401);
    const header = await stream(bridge, { authorization: `Bearer ${TOKEN}` });
    assert.equal(header.status, 200);
    assert.equal((await header.next((e) => e.type === 'snapshot', 'snapshot')).type, 'snapshot');
    const query = await stream(bridge, {}, `?token=${TOKEN}`);
    assert.equal(query.status, 200);
    const snapshot = (await query.next((e) => e.type === 'snapshot', 'snapshot')) as SnapshotEvent;
    assert.equal(snapshot.tokenRequired, true);
  });

  test('other methods are METHOD_NOT_ALLOWED', async () => {
    const bridge = await bridgeWith();
    const r = await postJson(`${bridge.url}/v1/events`, {});
    assert.equal(r.status, 405);
    assert.equal(r.body.error.code, 'METHOD_NOT_ALLOWED');
  });
});

describe('GET /v1/events stream', () => {
  test('starts with a snapshot of pages, recent calls and totals, as an event stream', async () => {
    const bridge = await bridgeWith();
    const p = await page(bridge, { title: 'Shop', url: 'https://shop.example/' });
    await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'add', args: [1, 2] });
    const s = await stream(bridge);
    assert.match(s.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(s.headers.get('cache-control'), 'no-store');
    const snapshot = (await s.next((e) => e.type === 'snapshot', 'snapshot')) as SnapshotEvent;
    assert.equal(snapshot.pages.length, 1);
    const view = snapshot.pages[0]!;
    assert.equal(view.id, p.clientId);
    assert.equal(view.title, 'Shop');
    assert.deepEqual(view.actions, ['add', 'boom']);
    assert.equal(view.served, 1);
    assert.equal(typeof view.p50Ms, 'number');
    assert.equal(snapshot.calls.length, 1);
    assert.equal(snapshot.calls[0]!.outcome, 'ok');
    assert.equal(snapshot.totals.pages, 1);
    assert.equal(snapshot.totals.calls, 1);
    assert.equal(snapshot.debugCapture, false);
  });

  test('pushes joins, calls (with their request id), errors and leaves as batched updates', async () => {
    const bridge = await bridgeWith();
    const s = await stream(bridge);
    await s.next((e) => e.type === 'snapshot', 'snapshot');
    const p = await page(bridge, { title: 'T' });
    const joined = (await s.next((e) => isUpdate(e) && e.pages.some((v) => v.id === p.clientId), 'join update')) as UpdateEvent;
    assert.equal(joined.totals.pages, 1);

    const ok = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'add', args: [2, 3] }, { 'x-request-id': 'req-dash-1' });
    assert.equal(ok.body.result, 5);
    await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'boom' });
    const update = (await s.next((e) => isUpdate(e) && e.calls.some((c) => c.action === 'boom'), 'call updates')) as UpdateEvent;
    const calls = s.events.filter(isUpdate).flatMap((e) => e.calls);
    const first = calls.find((c) => c.action === 'add')!;
    assert.equal(first.requestId, 'req-dash-1');
    assert.equal(first.clientId, p.clientId);
    assert.equal(first.outcome, 'ok');
    assert.equal(first.args, undefined, 'arguments stay hidden without --debug-capture');
    assert.equal(first.result, undefined);
    const failed = calls.find((c) => c.action === 'boom')!;
    assert.equal(failed.outcome, 'PAGE_ERROR');
    assert.match(failed.message!, /TypeError: bad input/);
    assert.ok(failed.seq > first.seq);
    const latest = update.pages.find((v) => v.id === p.clientId) ?? s.events.filter(isUpdate).flatMap((e) => e.pages).reverse().find((v) => v.id === p.clientId)!;
    assert.equal(latest.served + latest.failed >= 1, true);

    await p.close();
    await s.next((e) => isUpdate(e) && e.gone.includes(p.clientId), 'leave update');
  });

  test('updates come at most every 500 ms, not once per call', async () => {
    const bridge = await bridgeWith();
    await page(bridge);
    const s = await stream(bridge);
    await s.next((e) => e.type === 'snapshot', 'snapshot');
    const started = Date.now();
    await Promise.all(Array.from({ length: 200 }, (_, i) => postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'add', args: [i, 1] })));
    const elapsed = Date.now() - started;
    await s.next((e) => isUpdate(e) && e.totals.calls === 200, 'all calls counted');
    const updates = s.events.filter(isUpdate);
    assert.equal(updates.flatMap((e) => e.calls).length, 200);
    assert.ok(updates.length <= Math.ceil(elapsed / 500) + 2, `${updates.length} updates for 200 calls in ${elapsed} ms`);
  });

  test('with --debug-capture, shows arguments and results (cut to 2,000 characters)', async () => {
    const bridge = await bridgeWith({ debugCapture: true });
    await page(bridge, { handlers: { echo: (a) => a[0]! } });
    const s = await stream(bridge);
    await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'echo', args: [{ secret: 'visible' }] });
    await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'echo', args: ['x'.repeat(10_000)] });
    await until(() => s.events.flatMap((e) => e.calls).length >= 2, 'captured calls');
    const calls = s.events.flatMap((e) => e.calls);
    assert.equal(calls[0]!.args, '[{"secret":"visible"}]');
    assert.equal(calls[0]!.result, '{"secret":"visible"}');
    assert.equal(calls[1]!.result!.length, 2_001);
    assert.ok(calls[1]!.result!.endsWith('…'));
  });

  test('keeps only the last 200 calls', async () => {
    const bridge = await bridgeWith();
    await page(bridge);
    await postJson(`${bridge.url}/v1/batch`, { group: 'g', calls: Array.from({ length: 250 }, (_, i) => ({ action: 'add', args: [i, 0] })) });
    const s = await stream(bridge);
    const snapshot = (await s.next((e) => e.type === 'snapshot', 'snapshot')) as SnapshotEvent;
    assert.equal(snapshot.calls.length, 200);
    assert.equal(snapshot.calls[199]!.seq, 250);
    assert.equal(snapshot.totals.calls, 250);
  });

  test('closing the bridge ends open streams instead of waiting for them', async () => {
    const bridge = await startTestBridge();
    const s = await openEvents(bridge.url);
    await s.next((e) => e.type === 'snapshot', 'snapshot');
    const started = Date.now();
    await bridge.close();
    assert.ok(Date.now() - started < 2_000);
    s.close();
  });
});
