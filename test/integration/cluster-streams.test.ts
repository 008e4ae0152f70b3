/**
 * Streams across a cluster: three `pagecall serve --nats` processes on a real nats-server, scripted
 * pages publishing `events` messages on browser-a and browser-b, GET /v1/stream subscribers on
 * edge-1. A subscriber on any node sees every page's entries, each page's in order, numbered by the
 * node it is connected to (so it resumes there); what can be missing — a page that reloaded or
 * moved, a node killed, NATS restarted — is a gap entry, never a silent hole. Nodes send their
 * pages' entries only while another node follows the topic.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getJson, until } from '../helpers/bridge.js';
import { cleanupFor, fileCleanup, type Cleanup } from '../helpers/cleanup.js';
import { CHILD_PAGE_KEY, startClusterNode, waitForNats, waitForPages, type ClusterNode } from '../helpers/cluster-node.js';
import { openEvents } from '../helpers/event-stream.js';
import { connectFakePage, type FakePage, type FakePageOptions } from '../helpers/fake-page.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { run } from '../helpers/process.js';
import { openStream, type StreamEntry, type StreamOptions, type StreamReader } from '../helpers/stream-reader.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');

/** Waits in this file allow for three node processes on a shared two-core machine. */
const WAIT = 30_000;

const files = fileCleanup();
let nats: NatsServer;
let a: ClusterNode;
let b: ClusterNode;
let edge: ClusterNode;
let pageA: FakePage;
let pageB: FakePage;

/** A fake page on a node (with the page key child nodes accept), closed by `use`. */
async function page(use: Cleanup, node: ClusterNode, options: Omit<FakePageOptions, 'bridgeUrl' | 'key'>): Promise<FakePage> {
  return use.add(await connectFakePage({ ...options, bridgeUrl: node.url, key: CHILD_PAGE_KEY }), `fake page ${options.clientId ?? ''} on ${node.name}`);
}

function publish(from: FakePage, topic: string, items: unknown[], extra: Record<string, unknown> = {}): void {
  from.sendRaw(JSON.stringify({ type: 'events', topic, items, ...extra }));
}

function subscribe(use: Cleanup, node: ClusterNode, topic: string, options: StreamOptions = {}, group = 'live'): Promise<StreamReader> {
  return openStream(node.url, group, topic, { format: 'ndjson', ...options }).then((reader) => use.add(reader, `a stream of ${topic} on ${node.name}`));
}

const isEvent = (e: StreamEntry): boolean => e.type === 'event';
const of = (clientId: string) => (e: StreamEntry) => e.type === 'event' && e.clientId === clientId;

/** A metric's value in a node's /metrics (0 when the series is not there yet). */
async function metric(node: ClusterNode, series: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

before(async () => {
  nats = files.add(await startNatsServer(), 'nats-server');
  [a, b, edge] = await Promise.all([startClusterNode({ nats: nats.url, name: 'browser-a' }), startClusterNode({ nats: nats.url, name: 'browser-b' }), startClusterNode({ nats: nats.url, name: 'edge-1' })]);
  for (const node of [a, b, edge]) files.add(node, `node ${node.name}`);
  pageA = await page(files, a, { group: 'live', clientId: 'page-a' });
  pageB = await page(files, b, { group: 'live', clientId: 'page-b' });
  await waitForPages(edge, ['page-a', 'page-b'], 'edge-1 to hear of the pages on browser-a and browser-b', WAIT);
});

describe('a stream subscriber on a node without pages', () => {
  test("sees every node's pages' entries, each page's in order, numbered in this node's own history", async (t) => {
    const use = cleanupFor(t);
    const local = await page(use, edge, { group: 'live', clientId: 'page-e' });
    const remote = await subscribe(use, edge, 'chat');
    const onA = await subscribe(use, a, 'chat');
    assert.equal(remote.status, 200);
    for (let round = 0; round < 10; round++) {
      publish(pageA, 'chat', [0, 1, 2, 3, 4].map((i) => ({ from: 'a', n: round * 5 + i })));
      publish(pageB, 'chat', [0, 1, 2, 3, 4].map((i) => ({ from: 'b', n: round * 5 + i })));
      publish(local, 'chat', [{ from: 'e', n: round }]);
    }
    const got = await remote.waitFor(110, isEvent, WAIT);
    for (const [clientId, from, count] of [['page-a', 'a', 50], ['page-b', 'b', 50], ['page-e', 'e', 10]] as const) {
      const values = got.filter((e) => e.clientId === clientId).map((e) => e.value);
      assert.deepEqual(values, Array.from({ length: count }, (_, n) => ({ from, n })), `${clientId}'s entries in the order it published them`);
    }
    // This node's numbering: one history, 1, 2, 3 … with no holes, and nothing but events.
    assert.deepEqual(remote.entries.filter((e) => !isEvent(e)), []);
    assert.deepEqual(remote.entries.map((e) => e.seq), Array.from({ length: 110 }, (_, i) => i + 1));
    const epochs = new Set(remote.entries.map((e) => e.id!.split('-')[0]));
    assert.equal(epochs.size, 1);
    assert.ok(remote.entries.every((e) => e.id === `${[...epochs][0]}-${e.seq}`));
    const nodeOf = Object.fromEntries(got.map((e) => [e.clientId, (e as StreamEntry & { node?: string }).node]));
    assert.deepEqual(nodeOf, { 'page-a': 'browser-a', 'page-b': 'browser-b', 'page-e': 'edge-1' });

    // The same entries as a subscriber on the page's own node gets, but for their ids and numbers.
    const direct = await onA.waitFor(50, of('page-a'), WAIT);
    const strip = ({ id: _id, seq: _seq, ...rest }: StreamEntry) => rest;
    assert.deepEqual(got.filter((e) => e.clientId === 'page-a').map(strip), direct.map(strip));
  });

  test("with clientId, sees only that page of another node: its values, errors and gaps", async (t) => {
    const use = cleanupFor(t);
    const onlyB = await subscribe(use, edge, 'frames', { clientId: 'page-b', format: 'sse' });
    publish(pageA, 'frames', ['a1', 'a2']);
    publish(pageB, 'frames', ['b1', 'b2'], { errors: [{ at: 1, error: { name: 'RangeError', message: 'corrupt frame' } }], dropped: 4 });
    publish(pageA, 'frames', ['a3']);
    publish(pageB, 'frames', ['b3']);
    const got = await onlyB.waitFor(5, undefined, WAIT);
    assert.deepEqual(
      got.map((e) => [e.type, e.sse?.event, e.value ?? e.error?.message ?? e.reason, e.missed]),
      [
        ['gap', 'gap', 'page-dropped', 4],
        ['event', undefined, 'b1', undefined],
        ['error', 'page-error', 'corrupt frame', undefined],
        ['event', undefined, 'b2', undefined],
        ['event', undefined, 'b3', undefined],
      ],
    );
    assert.ok(got.every((e) => e.clientId === 'page-b' && e.sse?.id === e.id));
    // Numbers are the topic's on this node: one page message is numbered in one run; page-a's
    // entries, in whatever order the two nodes' messages arrived, took the others.
    const seqs = got.map((e) => e.seq!);
    assert.deepEqual(seqs.slice(1, 4), [seqs[0]! + 1, seqs[0]! + 2, seqs[0]! + 3]);
    assert.ok(seqs[4]! > seqs[3]! && seqs[4]! <= 8, `b3 is #${seqs[4]}`);
  });

  test("resumes after its Last-Event-ID on the same node with nothing missing; another node's id gets a reset gap", async (t) => {
    const use = cleanupFor(t);
    const first = await subscribe(use, edge, 'ticks');
    publish(pageA, 'ticks', [1, 2, 3]);
    const seen = await first.waitFor(3, undefined, WAIT);
    await first.close();
    // While nobody is subscribed on edge-1, it still follows the topic (for a minute): these are kept.
    publish(pageA, 'ticks', [4, 5]);
    publish(pageB, 'ticks', [6]);
    await until(async () => (await metric(edge, 'pagecall_stream_remote_events_total{group="live",topic="ticks"}')) === 6, 'edge-1 to receive the entries published while nobody was subscribed', WAIT);
    const resumed = await subscribe(use, edge, 'ticks', { lastEventIdHeader: seen[2]!.id! });
    const after = await resumed.waitFor(3, undefined, WAIT);
    // Exactly what came after the id, in edge-1's numbers (the two nodes' entries in the order they arrived).
    assert.deepEqual(after.map((e) => e.seq), [4, 5, 6]);
    assert.deepEqual(after.filter(of('page-a')).map((e) => e.value), [4, 5]);
    assert.deepEqual(after.filter(of('page-b')).map((e) => e.value), [6]);
    publish(pageB, 'ticks', [7]);
    const live = await resumed.waitFor(4, undefined, WAIT);
    assert.deepEqual([live[3]!.value, live[3]!.seq], [7, 7]);
    assert.ok(resumed.entries.every(isEvent), 'no gap: nothing was missed');
    // `pagecall watch` on edge-1 names each page's node.
    const watch = await run(process.execPath, [CLI, 'watch', 'live', 'ticks', '--url', edge.url, '--since', '0', '--count', '7']);
    assert.equal(watch.code, 0, watch.stderr);
    const lines = watch.stdout.trim().split('\n');
    assert.equal(lines.length, 7);
    assert.ok(lines.some((l) => / {2}page-b@browser-b {2}#\d+ {2}6$/.test(l)), watch.stdout);
    assert.match(lines[0]!, / {2}page-a@browser-a {2}#1 {2}1$/);

    // Ids belong to the node that numbered them: browser-a has its own history of the topic.
    const elsewhere = await subscribe(use, a, 'ticks', { lastEventIdHeader: seen[2]!.id! });
    const [reset] = await elsewhere.waitFor(1, undefined, WAIT);
    assert.equal(reset!.type, 'gap');
    assert.equal(reset!.reason, 'reset');
    assert.equal(reset!.id, undefined);
  });

  test('marks a page that reloaded on its node, and a page that moved to another node, with a page-reconnected gap', async (t) => {
    const use = cleanupFor(t);
    const sub = await subscribe(use, edge, 'moves');
    const first = await page(use, a, { group: 'live', clientId: 'page-m' });
    publish(first, 'moves', ['before']);
    await sub.waitFor(1, undefined, WAIT);
    await first.close();
    const reloaded = await page(use, a, { group: 'live', clientId: 'page-m' });
    publish(reloaded, 'moves', ['after reload']);
    await sub.waitFor(3, undefined, WAIT);
    await reloaded.close();
    const moved = await page(use, b, { group: 'live', clientId: 'page-m' });
    publish(moved, 'moves', ['on b']);
    const got = await sub.waitFor(5, undefined, WAIT);
    assert.deepEqual(
      got.map((e) => [e.type, e.reason ?? e.value, (e as StreamEntry & { node?: string }).node]),
      [
        ['event', 'before', 'browser-a'],
        ['gap', 'page-reconnected', 'browser-a'],
        ['event', 'after reload', 'browser-a'],
        ['gap', 'page-reconnected', 'browser-b'],
        ['event', 'on b', 'browser-b'],
      ],
    );
    assert.ok(got.every((e) => e.clientId === 'page-m'));
  });

  test('costs nothing while no node follows the topic: entries are sent only once a subscriber somewhere wants them', async (t) => {
    const use = cleanupFor(t);
    const sentBefore = await metric(a, 'pagecall_cluster_stream_entries_sent_total');
    publish(pageA, 'quiet', [1, 2, 3, 4, 5]);
    await until(async () => (await metric(a, 'pagecall_stream_events_total{group="live",topic="quiet"}')) === 5, 'browser-a to take the page\'s entries', WAIT);
    assert.equal(await metric(a, 'pagecall_cluster_stream_entries_sent_total'), sentBefore, 'nothing sent while nobody follows');

    const sub = await subscribe(use, edge, 'quiet');
    publish(pageA, 'quiet', [6, 7, 8]);
    assert.deepEqual((await sub.waitFor(3, undefined, WAIT)).map((e) => e.value), [6, 7, 8]);
    assert.equal(await metric(a, 'pagecall_cluster_stream_entries_sent_total'), sentBefore + 3);
    // The followed topic and its remote publisher show in edge-1's metrics and dashboard.
    assert.equal(await metric(edge, 'pagecall_stream_remote_publishers{group="live",topic="quiet"}'), 1);
    assert.ok((await metric(edge, 'pagecall_cluster_stream_topics_followed')) >= 1);
    const dashboard = use.add(await openEvents(edge.url), "edge-1's dashboard stream");
    const snapshot = await dashboard.next((e) => e.type === 'snapshot', 'the dashboard snapshot', WAIT);
    const quiet = snapshot.type === 'snapshot' ? snapshot.streams.find((v) => v.topic === 'quiet') : undefined;
    assert.deepEqual(quiet && [quiet.subscribers, quiet.publishers, quiet.remotePublishers, quiet.events, quiet.remoteEvents], [1, 0, 1, 0, 3]);
  });
});

describe('a node killed', () => {
  test("leaves a node-lost gap in the streams it published to, on the subscriber's node", async (t) => {
    const use = cleanupFor(t);
    const doomed = use.add(await startClusterNode({ nats: nats.url, name: 'doomed' }), 'doomed');
    const victim = await page(use, doomed, { group: 'live', clientId: 'page-d' });
    await waitForPages(edge, ['page-d'], 'edge-1 to hear of the page on doomed', WAIT);
    const sub = await subscribe(use, edge, 'alerts');
    publish(victim, 'alerts', ['last words']);
    publish(pageA, 'alerts', ['from a']);
    await sub.waitFor(2, isEvent, WAIT);
    await doomed.kill();
    const [lost] = await sub.waitFor(1, (e) => e.type === 'gap', WAIT);
    assert.equal(lost!.reason, 'node-lost');
    assert.equal((lost as StreamEntry & { node?: string }).node, 'doomed');
    assert.equal(lost!.clientId, undefined, 'a gap about a node, not one page');
    assert.match(lost!.message!, /node doomed stopped answering/);
    assert.equal(typeof lost!.seq, 'number', 'kept in the history: a resume sees it too');
    // The other pages go on.
    publish(pageA, 'alerts', ['still here']);
    await sub.waitFor(3, isEvent, WAIT);
  });

  test('a subscriber filtering on one page still sees the node-lost gap', async (t) => {
    const use = cleanupFor(t);
    const doomed = use.add(await startClusterNode({ nats: nats.url, name: 'doomed-2' }), 'doomed-2');
    const victim = await page(use, doomed, { group: 'live', clientId: 'page-d2' });
    await waitForPages(edge, ['page-d2'], 'edge-1 to hear of the page on doomed-2', WAIT);
    const sub = await subscribe(use, edge, 'alerts-2', { clientId: 'page-d2' });
    publish(victim, 'alerts-2', ['x']);
    await sub.waitFor(1, isEvent, WAIT);
    await doomed.kill();
    const [lost] = await sub.waitFor(1, (e) => e.type === 'gap', WAIT);
    assert.equal(lost!.reason, 'node-lost');
  });
});

describe('when NATS goes away and comes back', () => {
  test('local entries keep flowing, subscribers get a nats-lost gap, and other nodes\' entries come again (with what was lost counted)', async (t) => {
    const use = cleanupFor(t);
    const own = use.add(await startNatsServer(), 'nats-server for the outage');
    const [x, y] = await Promise.all([startClusterNode({ nats: own.url, name: 'node-x' }), startClusterNode({ nats: own.url, name: 'node-y' })]);
    use.add(x, 'node-x');
    use.add(y, 'node-y');
    const onX = await page(use, x, { group: 'live', clientId: 'page-x' });
    const onY = await page(use, y, { group: 'live', clientId: 'page-y' });
    await waitForPages(y, ['page-x'], 'node-y to hear of page-x', WAIT);
    const sub = await subscribe(use, y, 'feed');
    publish(onX, 'feed', ['x1']);
    await sub.waitFor(1, isEvent, WAIT);

    await own.kill();
    const [lost] = await sub.waitFor(1, (e) => e.type === 'gap', WAIT);
    assert.deepEqual([lost!.reason, lost!.missed, (lost as StreamEntry & { node?: string }).node], ['nats-lost', null, 'node-y']);
    assert.match(lost!.message!, /other nodes' events are missing until it is back/);
    // node-y's own page goes on; node-x's entries meanwhile cannot arrive.
    publish(onY, 'feed', ['y1']);
    publish(onX, 'feed', ['x2', 'x3']);
    await sub.waitFor(1, of('page-y'), WAIT);
    await until(async () => (await metric(x, 'pagecall_stream_events_total{group="live",topic="feed"}')) === 3, 'node-x to take x2 and x3', WAIT);
    // A subscriber that starts during the outage is told at once.
    const late = await subscribe(use, y, 'feed');
    const [told] = await late.waitFor(1, undefined, WAIT);
    assert.deepEqual([told!.type, told!.reason, told!.id], ['gap', 'nats-lost', undefined]);

    await own.restart();
    await Promise.all([waitForNats(x, 'connected', WAIT), waitForNats(y, 'connected', WAIT)]);
    // node-x sends again once it hears node-y follows the topic (its heartbeat says so).
    await until(async () => ((await getJson(`${x.url}/v1/cluster`)).body.cluster.nodes as Array<{ node: string }>).some((n) => n.node === 'node-y'), 'node-x to hear node-y again', WAIT);
    publish(onX, 'feed', ['x4']);
    const back = await sub.waitFor(1, (e) => e.type === 'event' && e.value === 'x4', WAIT);
    const after = sub.entries.slice(sub.entries.indexOf(lost!) + 1);
    assert.deepEqual(
      after.map((e) => [e.type, e.value ?? e.reason, e.missed]),
      [
        ['event', 'y1', undefined],
        ['gap', 'node-missed', 2],
        ['event', 'x4', undefined],
      ],
    );
    assert.equal((after[1] as StreamEntry & { node?: string }).node, 'node-x');
    assert.ok(back[0]);
  });
});
