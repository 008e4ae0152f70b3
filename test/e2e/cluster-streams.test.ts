/**
 * A real Chromium tab emitting on one node of a cluster, read on another: the built injector (as
 * `pagecall injector` prints it) joins browser-a, a `pagecall serve` process; the tab's
 * `pagecall.emit` values reach a GET /v1/stream subscriber on edge-1, another process, in the order
 * the tab emitted them and in the same shape as on browser-a, and the Node client on edge-1 replays
 * them from edge-1's history, decoded; edge-1's dashboard counts the tab as a remote publisher.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { injectorScript } from '../../bridge/injector-script.js';
import { connect } from '../../clients/node/index.js';
import { launchTestBrowser, startSite } from '../helpers/browser.js';
import { postJson } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { CHILD_PAGE_KEY, startClusterNode, waitForPages } from '../helpers/cluster-node.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { openStream, type StreamEntry } from '../helpers/stream-reader.js';

/** The tab's code: a function that emits `n` ticks in one task, each with bytes and a bigint. */
const PAGE_CODE = `
  pagecall.register('burst', (n) => {
    for (let i = 0; i < n; i++) pagecall.emit('ticks', { i, title: document.title, bytes: new Uint8Array([i & 255, 7]), cube: BigInt(i) ** 3n });
    return n;
  });
`;

describe('a browser tab emitting behind another node', () => {
  test("its events reach a subscriber on another node in the tab's order, as its own node has them", { timeout: 120_000 }, async (t) => {
    const use = cleanupFor(t);
    const nats = use.add(await startNatsServer(), 'nats-server');
    const [a, edge] = await Promise.all([startClusterNode({ nats: nats.url, name: 'browser-a' }), startClusterNode({ nats: nats.url, name: 'edge-1' })]);
    use.add(a, 'browser-a');
    use.add(edge, 'edge-1');
    const script = injectorScript({ bridgeUrl: a.url, group: 'live', key: CHILD_PAGE_KEY, clientId: 'live-tab' });
    const site = use.add(
      await startSite({
        '/room': `<!doctype html><title>Room</title><script src="/pagecall.js"></script><script>${PAGE_CODE}</script>`,
        '/pagecall.js': { body: script, type: 'text/javascript' },
      }),
      'site',
    );
    const browser = await launchTestBrowser();
    use.defer(() => browser.close(), 'Chromium');
    const tab = await browser.newPage();
    await tab.goto(`${site.url}/room`);
    await waitForPages(edge, ['live-tab'], 'edge-1 to list the tab on browser-a', 30_000);

    const remote = use.add(await openStream(edge.url, 'live', 'ticks', { format: 'ndjson' }), 'the stream on edge-1');
    const local = use.add(await openStream(a.url, 'live', 'ticks', { format: 'ndjson' }), 'the stream on browser-a');
    const burst = await postJson(`${edge.url}/v1/call`, { group: 'live', action: 'burst', args: [300] });
    assert.deepEqual([burst.status, burst.body.result, burst.headers.get('x-pagecall-node')], [200, 300, 'browser-a']);

    const got = await remote.waitFor(300, undefined, 60_000);
    assert.ok(got.every((e) => e.type === 'event' && e.clientId === 'live-tab' && (e as StreamEntry & { node?: string }).node === 'browser-a'));
    assert.deepEqual(got.map((e) => e.value.i), Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(got.map((e) => e.seq), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.deepEqual(got[5]!.value, { i: 5, title: 'Room', bytes: { $bytes: 'BQc=' }, cube: { $bigint: '125' } });
    const strip = ({ id: _id, seq: _seq, ...rest }: StreamEntry) => rest;
    assert.deepEqual(got.map(strip), (await local.waitFor(300, undefined, 60_000)).map(strip));

    // edge-1's dashboard counts the tab as a remote publisher of the topic.
    const dashboard = await browser.newPage();
    await dashboard.goto(`${edge.url}/`);
    const row = dashboard.locator('tr[data-topic="live/ticks"]');
    await row.waitFor({ timeout: 30_000 });
    await dashboard.waitForFunction(() => /\+ 300 remote/.test((globalThis as any).document.querySelector('tr[data-topic="live/ticks"]')?.textContent ?? ''), undefined, { timeout: 30_000 });
    const cells = await row.locator('td').allTextContents();
    assert.deepEqual(cells.slice(1, 4), ['1', '0 + 1 remote', '0 + 300 remote']);

    // edge-1 keeps them: the Node client replays them from there, decoded.
    const client = connect({ url: edge.url });
    const replayed: unknown[] = [];
    for await (const entry of client.stream('live', 'ticks', { since: '0' })) {
      if (entry.type !== 'event') continue;
      replayed.push(entry.value);
      if (replayed.length === 3) break;
    }
    assert.deepEqual(replayed[2], { i: 2, title: 'Room', bytes: new Uint8Array([2, 7]), cube: 8n });
  });
});
