/**
 * A cluster of three `pagecall serve --nats` processes on a real nats-server: pages (scripted fake
 * pages) on browser-a and browser-b, callers on edge-1. Calls, listings, errors, pinned calls,
 * batches, cancellation and kicks through edge-1 behave as on one node; a node killed mid-call
 * fails its calls within seconds and they are retried elsewhere. The tests share the cluster and
 * add what they need (their own groups, pages and, for the kill, their own node).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Bridge } from '../../bridge/index.js';
import { bridgeParts } from '../../bridge/bridge-parts.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';
import { cleanupFor, fileCleanup } from '../helpers/cleanup.js';
import { CHILD_PAGE_KEY, startClusterNode, waitForPages, type ClusterNode } from '../helpers/cluster-node.js';
import { connectFakePage, HANG, type FakePage, type FakePageOptions } from '../helpers/fake-page.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/process.js';
import { withTimeout } from '../helpers/wait.js';

const files = fileCleanup();
let nats: NatsServer;
let a: ClusterNode;
let b: ClusterNode;
let edge: ClusterNode;
let pageA: FakePage;

/** A fake page on a node, closed when the file ends. */
async function page(node: ClusterNode, options: Omit<FakePageOptions, 'bridgeUrl' | 'key'>): Promise<FakePage> {
  return files.add(await connectFakePage({ ...options, bridgeUrl: node.url, key: CHILD_PAGE_KEY }), `fake page ${options.clientId ?? ''}`);
}

/** A value nested `depth` arrays deep (beyond what the wire carries at 1,000). */
const nested = (depth: number): unknown => {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

before(async () => {
  nats = files.add(await startNatsServer(), 'nats-server');
  [a, b, edge] = await Promise.all([startClusterNode({ nats: nats.url, name: 'browser-a' }), startClusterNode({ nats: nats.url, name: 'browser-b' }), startClusterNode({ nats: nats.url, name: 'edge-1' })]);
  for (const node of [a, b, edge]) files.add(node, `node ${node.name}`);
  pageA = await page(a, {
    group: 'shop',
    clientId: 'page-a1',
    handlers: {
      who: () => 'page-a1',
      sign: (args) => `a:${String(args[0])}`,
      echo: (args) => args,
      fail: () => {
        throw new TypeError('bad input');
      },
      deep: () => nested(1_005) as never,
      hang: () => HANG,
    },
  });
  await page(b, { group: 'shop', clientId: 'page-b1', handlers: { who: () => 'page-b1', sign: (args) => `b:${String(args[0])}`, echo: (args) => args } });
  await page(b, { group: 'news', clientId: 'page-b2', handlers: { headline: () => 'hello from b' } });
  await waitForPages(edge, ['page-a1', 'page-b1', 'page-b2']);
});

describe('a cluster of three nodes over NATS', () => {
  test('a node without pages lists every node\'s pages, each with the node that holds it', async () => {
    const { status, body } = await getJson(`${edge.url}/v1/clients`);
    assert.equal(status, 200);
    const nodeOf = Object.fromEntries(body.clients.map((c: any) => [c.id, c.node]));
    assert.deepEqual(nodeOf, { 'page-a1': 'browser-a', 'page-b1': 'browser-b', 'page-b2': 'browser-b' });
    assert.equal(body.cluster.node, 'edge-1');
    assert.equal(body.cluster.nats, 'connected');
    assert.deepEqual([...body.cluster.nodes].sort(), ['browser-a', 'browser-b', 'edge-1']);
    assert.deepEqual(body.cluster.missing, []);
    const news = await getJson(`${edge.url}/v1/clients?group=news`);
    assert.deepEqual(news.body.clients.map((c: any) => c.id), ['page-b2']);

    const cli = await run(process.execPath, [join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'cli', 'main.js'), 'clients', '--url', edge.url]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^cluster: 3 nodes \(edge-1, browser-[ab], browser-[ab]\), asked edge-1\n/);
    assert.match(cli.stdout, /page-a1 {2}fake page\n(?:.*\n){3}.* · node browser-a · /);
    assert.match(cli.stdout, /page-b2 {2}fake page\n(?:.*\n){3}.* · node browser-b · /);

    const cluster = await getJson(`${edge.url}/v1/cluster`);
    assert.equal(cluster.body.cluster.nats, 'connected');
    assert.deepEqual(cluster.body.cluster.nodes.map((n: any) => [n.node, n.pages, n.self]), [['edge-1', 0, true], ['browser-a', 1, false], ['browser-b', 2, false]]);
    const health = await getJson(`${edge.url}/health`);
    assert.deepEqual(health.body.cluster, { node: 'edge-1', nats: 'connected', nodes: 3 });
  });

  test('a large result that passed through on the page\'s node arrives whole through another node', async () => {
    const args = [{ text: 'é🎉'.repeat(2_000), id: { $bigint: '7412345678901234567' }, bytes: { $bytes: 'AAEC' } }];
    const r = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'echo', args, clientId: 'page-a1' });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.deepEqual(r.body.result, args);
    assert.equal(r.body.clientId, 'page-a1');
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    assert.match(metrics, /^pagecall_ws_results_passed_through_total [1-9]/m);
  });

  test('calls through a node without pages reach the pages of both other nodes', async () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const r = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'who' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result, r.body.clientId);
      seen.set(r.body.clientId, r.headers.get('x-pagecall-node')!);
    }
    assert.deepEqual(Object.fromEntries(seen), { 'page-a1': 'browser-a', 'page-b1': 'browser-b' });
    const news = await postJson(`${edge.url}/v1/call`, { group: 'news', action: 'headline' });
    assert.deepEqual([news.status, news.body.result, news.body.clientId], [200, 'hello from b', 'page-b2']);
    // A node with a page for the call serves it itself.
    const local = await postJson(`${a.url}/v1/call`, { group: 'shop', action: 'sign', args: ['x'] });
    assert.deepEqual([local.body.result, local.headers.get('x-pagecall-node')], ['a:x', null]);
  });

  test('errors answer as on one node: a page error with its stack, an unserializable result, an unknown action or group', async () => {
    for (const action of ['fail', 'deep']) {
      const direct = await postJson(`${a.url}/v1/call`, { group: 'shop', action });
      const forwarded = await postJson(`${edge.url}/v1/call`, { group: 'shop', action });
      assert.equal(forwarded.status, direct.status, action);
      assert.deepEqual(forwarded.body, direct.body, action);
    }
    const failed = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'fail' });
    assert.equal(failed.body.error.code, 'PAGE_ERROR');
    assert.equal(failed.body.error.message, 'TypeError: bad input');
    assert.match(failed.body.error.data.stack, /TypeError: bad input\n\s+at /);
    assert.equal((await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'deep' })).body.error.code, 'RESULT_NOT_SERIALIZABLE');

    // No node has the action: the message of one node, every node's actions in data.available.
    const unknown = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'nope' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'ACTION_NOT_FOUND');
    assert.equal(unknown.body.error.message, 'no page in group "shop" has registered "nope"');
    assert.deepEqual(unknown.body.error.data, { group: 'shop', available: ['deep', 'echo', 'fail', 'hang', 'sign', 'who'] });
    // The same from a node that has the group itself.
    const fromA = await postJson(`${a.url}/v1/call`, { group: 'shop', action: 'headline' });
    assert.deepEqual(fromA.body.error.data, { group: 'shop', available: ['deep', 'echo', 'fail', 'hang', 'sign', 'who'] });

    // No node has the group: NO_CLIENT naming every node's groups.
    const ghost = await postJson(`${edge.url}/v1/call`, { group: 'ghost', action: 'x' });
    assert.equal(ghost.status, 503);
    assert.equal(ghost.body.error.code, 'NO_CLIENT');
    assert.equal(ghost.body.error.message, 'no page is connected in group "ghost" (connected groups: "news", "shop")');
    assert.deepEqual(ghost.body.error.data, { group: 'ghost', groups: ['news', 'shop'] });
  });

  test('the deadline travels with the call: TIMEOUT at the caller\'s deadline, and the page is told', async () => {
    const cancelled = pageA.next('cancel', 15_000);
    const started = Date.now();
    const r = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'hang', timeoutMs: 400 });
    assert.equal(r.status, 504);
    assert.equal(r.body.error.code, 'TIMEOUT');
    assert.equal(r.body.error.message, '"hang" did not finish within 400 ms');
    assert.equal(r.body.error.data.timeoutMs, 400);
    assert.ok(Date.now() - started >= 400);
    const cancel = await cancelled;
    assert.equal(cancel.reason, 'TIMEOUT');
    const invoke = pageA.received.find((m: any) => m.type === 'invoke' && m.id === cancel.id);
    assert.ok(invoke && invoke.timeoutMs <= 400 && invoke.timeoutMs > 0, `the page got the time left (${invoke?.timeoutMs})`);
  });

  test('a caller that goes away cancels the call on the page of the other node', async () => {
    const invoked = pageA.next('invoke', 15_000);
    const body = JSON.stringify({ group: 'shop', action: 'hang', timeoutMs: 60_000 });
    const url = new URL('/v1/call', edge.url);
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    req.on('error', () => {});
    req.end(body);
    const invoke = await invoked;
    assert.equal(invoke.action, 'hang');
    const cancelled = pageA.next('cancel', 15_000);
    req.destroy();
    const cancel = await cancelled;
    assert.deepEqual([cancel.id, cancel.reason], [invoke.id, 'CANCELLED']);
  });

  test('a call pinned to a client id goes to the node holding that page; an unknown id is NO_CLIENT', async () => {
    for (const [id, prefix] of [['page-b1', 'b'], ['page-a1', 'a'], ['page-b1', 'b']] as const) {
      const r = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'sign', args: [id], clientId: id });
      assert.deepEqual([r.status, r.body.result, r.body.clientId], [200, `${prefix}:${id}`, id]);
    }
    const ghost = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'sign', clientId: 'ghost' });
    assert.equal(ghost.body.error.code, 'NO_CLIENT');
    assert.match(ghost.body.error.message, /^no page with client id "ghost" is connected in group "shop" on any node \(connected groups: "news", "shop"\)$/);
    const wrongGroup = await postJson(`${edge.url}/v1/call`, { group: 'news', action: 'sign', clientId: 'page-a1' });
    assert.equal(wrongGroup.body.error.code, 'NO_CLIENT');
    const notThere = await postJson(`${edge.url}/v1/call`, { group: 'shop', action: 'headline', clientId: 'page-a1' });
    assert.equal(notThere.body.error.code, 'ACTION_NOT_FOUND');
    assert.deepEqual(notThere.body.error.data.available, ['deep', 'echo', 'fail', 'hang', 'sign', 'who']);
  });

  test('a batch spanning nodes is split by destination and comes back in request order', async () => {
    const calls = [
      { action: 'sign', args: [1], clientId: 'page-a1' },
      { group: 'news', action: 'headline' },
      { action: 'sign', args: [2], clientId: 'page-b1' },
      { action: 'fail' },
      { action: 'nope' },
      { group: 'ghost', action: 'x' },
      ...Array.from({ length: 300 }, (_, i) => ({ action: 'echo', args: [i], clientId: i % 2 ? 'page-b1' : 'page-a1' })),
    ];
    const r = await postJson(`${edge.url}/v1/batch`, { group: 'shop', calls });
    assert.equal(r.status, 200);
    const results = r.body.results as any[];
    assert.equal(results.length, calls.length);
    assert.deepEqual(results.slice(0, 3).map((x) => [x.result, x.clientId]), [['a:1', 'page-a1'], ['hello from b', 'page-b2'], ['b:2', 'page-b1']]);
    assert.deepEqual(results.slice(3, 6).map((x) => x.error.code), ['PAGE_ERROR', 'ACTION_NOT_FOUND', 'NO_CLIENT']);
    for (let i = 0; i < 300; i++) {
      const x = results[6 + i];
      assert.deepEqual([x.ok, x.result, x.clientId], [true, [i], i % 2 ? 'page-b1' : 'page-a1'], `item ${6 + i}`);
    }
  });

  test('a large batch for one action spreads over the nodes that serve it', async () => {
    // 2,048 calls leave as 32 shipments of 64; NATS picks a node for each, so both nodes get some
    // (all 32 on one node: one chance in 2^31).
    const r = await postJson(`${edge.url}/v1/batch`, { group: 'shop', calls: Array.from({ length: 2_048 }, () => ({ action: 'who' })) });
    assert.equal(r.status, 200);
    const served = new Map<string, number>();
    for (const x of r.body.results) {
      assert.equal(x.result, x.clientId);
      served.set(x.clientId, (served.get(x.clientId) ?? 0) + 1);
    }
    assert.deepEqual([...served.keys()].sort(), ['page-a1', 'page-b1']);
  });

  test('DELETE /v1/clients/:id on one node disconnects a page of another', async () => {
    const victim = await page(b, { group: 'kick', clientId: 'kick-me', handlers: { x: () => 1 } });
    await waitForPages(edge, ['kick-me']);
    const closed = new Promise<number>((resolve) => victim.ws.once('close', (code) => resolve(code)));
    const r = await getJson(`${edge.url}/v1/clients/kick-me`, { method: 'DELETE' });
    assert.deepEqual([r.status, r.body], [200, { ok: true, clientId: 'kick-me' }]);
    assert.equal(await withTimeout(closed, 'the kicked page to be closed'), 4410);
    const again = await getJson(`${edge.url}/v1/clients/kick-me`, { method: 'DELETE' });
    assert.deepEqual([again.status, again.body.error.code], [404, 'CLIENT_NOT_FOUND']);
  });

  test('a node killed mid-call: its calls fail within seconds with CLIENT_DISCONNECTED, and are retried on another node unless the caller opted out', async (t) => {
    const doomed = await startClusterNode({ nats: nats.url, name: 'browser-d' });
    t.after(() => doomed.close());
    const pageD = await connectFakePage({ bridgeUrl: doomed.url, group: 'failover', clientId: 'page-d', key: CHILD_PAGE_KEY, handlers: { work: () => HANG } });
    t.after(() => pageD.close());
    await waitForPages(edge, ['page-d']);

    const retried = postJson(`${edge.url}/v1/call`, { group: 'failover', action: 'work', timeoutMs: 60_000 });
    const notRetried = postJson(`${edge.url}/v1/call`, { group: 'failover', action: 'work', timeoutMs: 60_000, retry: false });
    await until(() => pageD.received.filter((m) => m.type === 'invoke').length === 2, 'both calls to reach the page on browser-d');
    // Somewhere for the retry to go, now that both calls are running on browser-d.
    const rescuer = await page(b, { group: 'failover', clientId: 'page-b3', handlers: { work: () => 'done on b' } });
    await waitForPages(edge, ['page-b3']);

    await doomed.kill();
    const [ok, failed] = await Promise.all([retried, notRetried]);
    assert.deepEqual([ok.status, ok.body.result, ok.body.clientId], [200, 'done on b', 'page-b3'], JSON.stringify(ok.body));
    assert.equal(failed.status, 502);
    assert.equal(failed.body.error.code, 'CLIENT_DISCONNECTED');
    assert.match(failed.body.error.message, /node "browser-d" stopped answering|no node confirmed it was running "work"/);
    // Not a TIMEOUT: the node's silence (heartbeats every 500 ms, gone after 3 missed) ended the
    // calls, long before their 60 s deadline.
    await until(async () => !(await getJson(`${edge.url}/v1/cluster`)).body.cluster.nodes.some((n: any) => n.node === 'browser-d'), 'browser-d to leave the node list');
    await rescuer.close();
  });
});

describe('nodes in one process', () => {
  test('forwarded calls leave nothing behind on either node: answered, failed, timed out, cancelled or batched', async (t) => {
    const use = cleanupFor(t);
    const serving: Bridge = await use.bridge({ nats: [nats.url], node: 'leak-1', clusterHeartbeatMs: 500 });
    const calling: Bridge = await use.bridge({ nats: [nats.url], node: 'leak-2', clusterHeartbeatMs: 500 });
    const fake = await use.page({
      bridgeUrl: serving.url,
      group: 'leaks',
      clientId: 'leak-page',
      key: serving.pageKey,
      handlers: {
        ok: (args) => args[0]!,
        fail: () => {
          throw new Error('no');
        },
        hang: () => HANG,
      },
    });
    await until(() => calling.clients().length === 0 && bridgeParts(calling).cluster!.status().nodes.some((n) => n.node === 'leak-1' && n.pages === 1), 'leak-2 to hear of leak-1\'s page');
    // Tagged values pass through as they are: bytes in, the same bytes back.
    assert.deepEqual(await calling.call('leaks', 'ok', [new Uint8Array([1, 2, 255])]), new Uint8Array([1, 2, 255]));
    await assert.rejects(calling.call('leaks', 'fail'), { code: 'PAGE_ERROR' });
    await assert.rejects(calling.call('leaks', 'hang', [], { timeoutMs: 200 }), { code: 'TIMEOUT' });
    const abort = new AbortController();
    const cancelled = calling.call('leaks', 'hang', [], { signal: abort.signal, timeoutMs: 60_000 });
    await fake.next('invoke');
    abort.abort();
    await assert.rejects(cancelled, { code: 'CANCELLED' });
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => calling.call('leaks', 'ok', [i])));
    assert.deepEqual(many, Array.from({ length: 50 }, (_, i) => i));
    const metrics = (await getJson(`${calling.url}/metrics`)).body as string;
    assert.match(metrics, /^pagecall_cluster_nats_connected 1$/m);
    assert.match(metrics, /^pagecall_cluster_nodes [2-9]$/m);
    assert.match(metrics, /^pagecall_cluster_calls_lost_total 0$/m);
    assert.match(metrics, /^pagecall_calls_total\{group="leaks",action="ok",outcome="ok"\} 51$/m);
    for (const bridge of [serving, calling]) {
      const { pending, cluster } = bridgeParts(bridge);
      await until(() => pending.withDeadline === 0 && pending.forwardedCount === 0 && cluster!.callsInFlight.out === 0 && cluster!.callsInFlight.in === 0, `${bridge.node} to hold no call`);
      assert.equal(pending.inFlight, 0);
    }
  });
});

describe('a node shutting down', () => {
  test('answers the calls it was running with SHUTTING_DOWN before it leaves, and they are retried on another node', async (t) => {
    const use = cleanupFor(t);
    const leaving: Bridge = await startTestBridge({ nats: [nats.url], node: 'leaving', clusterHeartbeatMs: 500 });
    t.after(() => leaving.close());
    const staying: Bridge = await use.bridge({ nats: [nats.url], node: 'staying', clusterHeartbeatMs: 500 });
    const caller: Bridge = await use.bridge({ nats: [nats.url], node: 'caller', clusterHeartbeatMs: 500 });
    const busy = await use.page({ bridgeUrl: leaving.url, group: 'rolling', clientId: 'old-page', key: leaving.pageKey, handlers: { work: () => HANG } });
    await until(() => bridgeParts(caller).cluster!.status().nodes.some((n) => n.node === 'leaving' && n.pages === 1), 'caller to hear of the page on leaving');
    const running = caller.call('rolling', 'work', [], { timeoutMs: 60_000 });
    await busy.next('invoke');
    await use.page({ bridgeUrl: staying.url, group: 'rolling', clientId: 'new-page', key: staying.pageKey, handlers: { work: () => 'done on staying' } });
    await until(() => bridgeParts(caller).cluster!.status().nodes.some((n) => n.node === 'staying' && n.pages === 1), 'caller to hear of the page on staying');
    await leaving.close(0);
    assert.equal(await running, 'done on staying');
    // Retried on the node's own SHUTTING_DOWN answer, sent before its goodbye: nothing was lost.
    assert.equal(bridgeParts(caller).cluster!.lostCalls, 0);
  });
});
