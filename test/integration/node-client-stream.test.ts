/** pagecall/client's stream(): a real bridge on port 0 and scripted pages publishing events. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, ClientFailure, PagecallError, type StreamEntry } from '../../clients/node/index.js';
import { startTestBridge, until } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import type { FakePage } from '../helpers/fake-page.js';
import { internals } from '../helpers/internals.js';

const TOKEN = 'node-stream-token-0123456789';

function publish(page: FakePage, topic: string, items: unknown[], extra: Record<string, unknown> = {}): void {
  page.sendRaw(JSON.stringify({ type: 'events', topic, items, ...extra }));
}

/** Takes `n` entries from an iterator, then stops it (which ends the subscription). */
async function take(iterator: AsyncGenerator<StreamEntry>, n: number): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  for await (const entry of iterator) {
    out.push(entry);
    if (out.length === n) break;
  }
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('pagecall/client stream()', () => {
  test('yields entries in order with values decoded; breaking out ends the subscription', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ token: TOKEN });
    const page = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey, token: TOKEN });
    const client = connect({ url: bridge.url, token: TOKEN });
    use.defer(() => client.close());
    publish(page, 'chat', [{ text: 'hi', raw: { $bytes: 'AAEC' }, big: { $bigint: '123456789012345678901' } }, 'plain'], { errors: [{ at: 1, error: { name: 'TypeError', message: 'bad' } }], dropped: 1 });
    const got = await take(client.stream('room', 'chat', { since: '0' }), 4);
    assert.deepEqual(got.map((e) => e.type), ['gap', 'event', 'error', 'event']);
    const [gap, first, error, second] = got as [any, any, any, any];
    assert.equal(gap.reason, 'page-dropped');
    assert.equal(gap.missed, 1);
    assert.deepEqual(first.value, { text: 'hi', raw: new Uint8Array([0, 1, 2]), big: 123456789012345678901n });
    assert.ok(first.value.raw instanceof Uint8Array);
    assert.equal(first.clientId, page.clientId);
    assert.equal(first.group, 'room');
    assert.equal(first.topic, 'chat');
    assert.deepEqual(error.error, { name: 'TypeError', message: 'bad' });
    assert.equal(second.value, 'plain');
    assert.deepEqual(got.map((e) => e.seq), [1, 2, 3, 4]);
    await until(() => internals(bridge).streams.subscribers === 0, 'the subscription to end');
  });

  test('starts live by default, and keeps one page with clientId', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const a = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    const b = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    const client = connect({ url: bridge.url });
    use.defer(() => client.close());
    publish(a, 'chat', ['old']);
    await until(() => internals(bridge).streams.summaries()[0]?.events === 1, 'the old event to arrive');
    const iterator = client.stream('room', 'chat', { clientId: a.clientId });
    const first = iterator.next();
    await until(() => internals(bridge).streams.subscribers === 1, 'the subscription');
    publish(b, 'chat', ['theirs']);
    publish(a, 'chat', ['new']);
    assert.equal(((await first).value as any).value, 'new');
    await iterator.return();
  });

  test('refusals are the catalogue\'s errors; an unreachable bridge is BRIDGE_UNAVAILABLE', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ token: TOKEN });
    const badTopic = await rejection(take(connect({ url: bridge.url, token: TOKEN }).stream('room', '$x'), 1));
    assert.ok(badTopic instanceof PagecallError);
    assert.equal(badTopic.code, 'BAD_REQUEST');
    assert.match(badTopic.message, /topic: "\$x" is not a valid topic name/);
    const noToken = await rejection(take(connect({ url: bridge.url, token: '' }).stream('room', 'chat'), 1));
    assert.equal(noToken.code, 'UNAUTHORIZED');
    const closed = await startTestBridge();
    const url = closed.url;
    await closed.close();
    const down = await rejection(take(connect({ url }).stream('room', 'chat'), 1));
    assert.ok(down instanceof ClientFailure);
    assert.equal(down.code, 'BRIDGE_UNAVAILABLE');
    const controller = new AbortController();
    const iterator = connect({ url: bridge.url, token: TOKEN }).stream('room', 'chat', { signal: controller.signal });
    const pending = rejection(iterator.next());
    await until(() => internals(bridge).streams.subscribers === 1, 'the subscription');
    controller.abort();
    assert.equal((await pending).code, 'CANCELLED');
    await until(() => internals(bridge).streams.subscribers === 0, 'the aborted subscription to end');
  });

  test('resumes after a bridge restart, with a reset gap saying what is lost', async (t) => {
    const use = cleanupFor(t);
    let bridge = await startTestBridge();
    const port = bridge.port;
    use.defer(() => bridge.close(), 'the bridge');
    let page = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    const client = connect({ url: bridge.url });
    use.defer(() => client.close());
    const iterator = client.stream('room', 'chat', { reconnectWaitMs: 30_000 });
    const first = iterator.next();
    await until(() => internals(bridge).streams.subscribers === 1, 'the subscription');
    publish(page, 'chat', ['before']);
    assert.equal(((await first).value as any).value, 'before');
    const next = iterator.next();
    await bridge.close();
    bridge = await startTestBridge({ port });
    page = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    await until(() => internals(bridge).streams.subscribers === 1, 'the client to resubscribe');
    publish(page, 'chat', ['after']);
    const gap = (await next).value as any;
    assert.equal(gap.type, 'gap');
    assert.equal(gap.reason, 'reset');
    const after = (await iterator.next()).value as any;
    assert.equal(after.value, 'after');
    await iterator.return();
  });
});
