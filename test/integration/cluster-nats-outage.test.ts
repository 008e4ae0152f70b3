/**
 * NATS itself goes away and comes back. Two `pagecall serve --nats` processes: browser-a with a
 * page, edge-1 without. While NATS is down each node serves its own pages, says so in /health and
 * on the dashboard's stream, and calls that were out on the other node fail at once instead of
 * hanging; once NATS is back the nodes rejoin by themselves (one started during the outage joins
 * for the first time) and calls go through again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getJson, postJson } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { CHILD_PAGE_KEY, startClusterNode, waitForNats, waitForPages } from '../helpers/cluster-node.js';
import { openEvents } from '../helpers/event-stream.js';
import { HANG } from '../helpers/fake-page.js';
import { startNatsServer } from '../helpers/nats-server.js';

describe('when NATS is unreachable', () => {
  test('each node keeps serving its own pages and says so; calls out on another node fail at once; the nodes rejoin when NATS is back', async (t) => {
    const use = cleanupFor(t);
    const nats = use.add(await startNatsServer(), 'nats-server');
    const [a, edge] = await Promise.all([startClusterNode({ nats: nats.url, name: 'browser-a' }), startClusterNode({ nats: nats.url, name: 'edge-1' })]);
    use.add(a, 'browser-a');
    use.add(edge, 'edge-1');
    const page = await use.page({ bridgeUrl: a.url, group: 'solo', clientId: 'page-a', key: CHILD_PAGE_KEY, handlers: { ping: () => 'pong', hold: () => HANG } });
    await waitForPages(edge, ['page-a']);
    assert.equal((await postJson(`${edge.url}/v1/call`, { group: 'solo', action: 'ping' })).body.result, 'pong');

    // A call running on browser-a for edge-1's caller when NATS goes.
    const invoked = page.next('invoke', 15_000);
    const held = postJson(`${edge.url}/v1/call`, { group: 'solo', action: 'hold', timeoutMs: 60_000 });
    const invoke = await invoked;
    const cancelled = page.next('cancel', 20_000);

    await nats.kill();
    const lost = await held;
    assert.equal(lost.status, 502);
    assert.equal(lost.body.error.code, 'CLIENT_DISCONNECTED');
    // Whether browser-a had acknowledged the call yet decides how the message names it.
    assert.match(lost.body.error.message, /^this node lost its NATS connection while "hold" ran on (node "browser-a"|another node)$/);
    // Nobody can take browser-a's answer any more: the page is told to stop.
    const cancel = await cancelled;
    assert.deepEqual([cancel.id, cancel.reason], [invoke.id, 'CANCELLED']);

    for (const node of [a, edge]) {
      const health = await waitForNats(node, 'reconnecting');
      assert.equal(health.ok, true);
      assert.match(health.cluster.note, /serves its own pages only/);
    }
    // browser-a serves its page; edge-1, alone, has none.
    const local = await postJson(`${a.url}/v1/call`, { group: 'solo', action: 'ping' });
    assert.deepEqual([local.status, local.body.result], [200, 'pong']);
    const alone = await postJson(`${edge.url}/v1/call`, { group: 'solo', action: 'ping' });
    assert.deepEqual([alone.status, alone.body.error.code, alone.body.error.message], [503, 'NO_CLIENT', 'no page is connected in group "solo" (no page is connected at all)']);
    const listing = await getJson(`${edge.url}/v1/clients`);
    assert.deepEqual([listing.body.clients, listing.body.cluster.nats], [[], 'reconnecting']);
    const stream = await openEvents(a.url);
    try {
      const snapshot = await stream.next((e) => e.type === 'snapshot', 'the dashboard snapshot');
      assert.equal(snapshot.type === 'snapshot' && snapshot.cluster?.nats, 'reconnecting');
    } finally {
      stream.close();
    }

    // A node started while NATS is down serves callers at once and joins when NATS comes.
    const late = use.add(await startClusterNode({ nats: nats.url, name: 'late-1' }), 'late-1');
    const early = await waitForNats(late, 'connecting');
    assert.match(early.cluster.note, /serves its own pages only/);
    assert.equal((await getJson(`${late.url}/v1/cluster`)).body.cluster.error, 'connection refused');

    await nats.restart();
    await Promise.all([waitForNats(a, 'connected', 30_000), waitForNats(edge, 'connected', 30_000), waitForNats(late, 'connected', 30_000)]);
    for (const node of [edge, late]) {
      await waitForPages(node, ['page-a'], `${node.name} to list browser-a's page`, 30_000);
      const back = await postJson(`${node.url}/v1/call`, { group: 'solo', action: 'ping' });
      assert.deepEqual([back.status, back.body.result, back.headers.get('x-pagecall-node')], [200, 'pong', 'browser-a']);
    }
  });
});
