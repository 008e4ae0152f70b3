/**
 * Streams across a cluster, pure parts: how entries travel between nodes (wire.ts), which topics
 * other nodes follow (directory.ts), and how a node's stream hub numbers other nodes' entries and
 * marks what may be missing (stream-hub.ts), with a scripted stand-in for the cluster.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { NodeDirectory } from '../../bridge/cluster/directory.js';
import { CLUSTER_PROTOCOL, encodeEvents, readEvents, WireProblem, type HeartbeatMessage } from '../../bridge/cluster/wire.js';
import { resolveConfig } from '../../bridge/config.js';
import type { PageClient } from '../../bridge/page-client.js';
import { StreamHub, type IncomingBatch, type OutgoingBatch, type Readiness, type RemoteStreams } from '../../bridge/streams/stream-hub.js';
import type { Sink } from '../../bridge/streams/subscriber.js';

const encoder = new TextEncoder();
const head = { v: CLUSTER_PROTOCOL, n: 'inst-a', name: 'browser-a', g: 'live', o: 'chat', c: 'page-1', e: 'ep1', t: 1_700_000_000_000 };

describe('stream entries between nodes', () => {
  test('travel as a head line and one body a line, and read back as they were sent', () => {
    const bodies = ['"value":{"text":"a\\nb"}', '"error":{"name":"E","message":"m"}', '"reason":"page-dropped","missed":2,"message":"x"'];
    const { messages, skipped } = encodeEvents(head, 7, 'erg', bodies, 1_000_000);
    assert.equal(skipped, 0);
    assert.equal(messages.length, 1);
    const read = readEvents(encoder.encode(messages[0]!));
    assert.deepEqual(read.head, { ...head, s: 7, k: 'erg' });
    assert.deepEqual(read.bodies, bodies);
  });

  test('are split under the server\'s max_payload, each part numbered from its first entry; an entry too large for any is left out and counted', () => {
    const bodies = Array.from({ length: 10 }, (_, i) => `"value":"${String(i).repeat(i === 6 ? 900 : 40)}"`);
    const { messages, skipped } = encodeEvents(head, 1, 'e'.repeat(10), bodies, 600);
    assert.equal(skipped, 1);
    assert.ok(messages.length > 1);
    const parts = messages.map((m) => {
      assert.ok(Buffer.byteLength(m) <= 600, `${Buffer.byteLength(m)} bytes`);
      return readEvents(encoder.encode(m));
    });
    const numbered = parts.flatMap((p) => p.bodies.map((b, i) => [p.head.s + i, b]));
    assert.deepEqual(
      numbered.map(([s]) => s),
      [1, 2, 3, 4, 5, 6, 8, 9, 10],
    );
    assert.deepEqual(numbered.map(([, b]) => b), bodies.filter((_, i) => i !== 6));
  });

  test('a message with other counts of kinds and bodies, or of another cluster protocol, is refused with why', () => {
    assert.throws(() => readEvents(encoder.encode(`${JSON.stringify({ ...head, s: 1, k: 'ee' })}\n"value":1`)), /2 kinds for 1 entries/);
    assert.throws(() => readEvents(encoder.encode(JSON.stringify({ ...head, v: 99, s: 1, k: '' }))), /cluster protocol 99/);
    assert.throws(() => readEvents(encoder.encode(JSON.stringify({ ...head, s: 'one', k: '' }))), WireProblem);
  });
});

describe('which topics other nodes follow', () => {
  const beat = (n: string, streams?: Record<string, string[]>): HeartbeatMessage => ({ v: CLUSTER_PROTOCOL, n, name: n, url: '', version: '', since: 0, hb: 1000, pages: 0, groups: {}, ...(streams ? { streams } : {}) });

  test('heartbeats say which; an interest message adds one at once; "*" stands for every topic of a group', () => {
    const directory = new NodeDirectory(() => {}, 1000);
    assert.equal(directory.wantsStream('live', 'chat'), false);
    directory.heard(beat('x', { live: ['chat'] }));
    assert.equal(directory.wantsStream('live', 'chat'), true);
    assert.equal(directory.wantsStream('live', 'frames'), false);
    assert.equal(directory.wantsStream('other', 'chat'), false);
    directory.follows('y', 'y', 'live', 'frames');
    assert.equal(directory.wantsStream('live', 'frames'), true);
    directory.heard(beat('z', { shop: ['*'] }));
    assert.equal(directory.wantsStream('shop', 'anything'), true);
    // A heartbeat replaces what a node follows: x stopped following chat.
    directory.heard(beat('x'));
    assert.equal(directory.wantsStream('live', 'chat'), false);
  });
});

/** A sink collecting NDJSON entries. */
class ListSink implements Sink {
  readonly format = 'ndjson' as const;
  readonly entries: any[] = [];
  write(chunk: string | Buffer): void {
    for (const line of String(chunk).split('\n')) if (line) this.entries.push(JSON.parse(line));
  }
  buffered(): number {
    return 0;
  }
  whenDrained(ready: () => void): void {
    setImmediate(ready);
  }
  keepAlive(): void {}
  end(): void {}
}

/** The cluster as the hub sees it, scripted: which topics others follow, what was sent, follows to confirm. */
class ScriptedCluster implements RemoteStreams {
  readonly node = 'edge-1';
  readonly followedByOthers = new Set<string>();
  readonly sent: OutgoingBatch[] = [];
  readonly leaves: string[] = [];
  readonly pending: Array<{ topic: string; confirm: (r?: Partial<Readiness>) => void }> = [];
  wants(group: string, topic: string): boolean {
    return this.followedByOthers.has(`${group}/${topic}`);
  }
  send(batch: OutgoingBatch): void {
    this.sent.push(batch);
  }
  left(group: string, topic: string, clientId: string): void {
    this.leaves.push(`${group}/${topic}/${clientId}`);
  }
  hub: StreamHub | undefined;
  private readonly followed = new Set<string>();
  follow(group: string, topic: string, mark: () => number) {
    // As the relay does: the first follower of a topic starts following it.
    if (!this.followed.has(topic)) {
      this.followed.add(topic);
      this.hub!.followStarted(group, topic, false);
    }
    let confirm!: (r?: Partial<Readiness>) => void;
    const ready = new Promise<Readiness>((resolve) => {
      confirm = (r = {}) => resolve({ mark: mark(), offline: false, unconfirmed: [], waitedMs: 3, ...r });
    });
    this.pending.push({ topic, confirm });
    return { ready, release: () => {} };
  }
}

function setup(): { hub: StreamHub; cluster: ScriptedCluster } {
  const hub = new StreamHub(resolveConfig({}, {}), pino({ level: 'silent' }));
  const cluster = new ScriptedCluster();
  hub.attachRemote(cluster);
  cluster.hub = hub;
  return { hub, cluster };
}

const pageOf = (id: string): PageClient => ({ id, group: 'live' }) as PageClient;

/** Subscribes once the scripted cluster confirmed the follow. */
async function subscribed(hub: StreamHub, cluster: ScriptedCluster, topic: string, clientId: string | null = null, readiness: Partial<Readiness> = {}): Promise<ListSink> {
  const hold = hub.prepare('live', topic);
  cluster.pending.find((p) => p.topic === topic)!.confirm(readiness);
  await hold.ready;
  const sink = new ListSink();
  hub.subscribe('live', topic, sink, { clientId, resume: null, hold });
  return sink;
}

/** Entries of another node's page, as the relay hands them to the hub. */
function incoming(first: number, values: unknown[], more: Partial<IncomingBatch> = {}): IncomingBatch {
  return { group: 'live', topic: 'chat', clientId: 'page-a', epoch: 'ep-a', first, time: 1_700_000_000_000, kinds: 'e'.repeat(values.length), bodies: values.map((v) => `"value":${JSON.stringify(v)}`), instance: 'inst-a', node: 'browser-a', ...more };
}

const brief = (e: any): unknown[] => (e.type === 'gap' ? [e.seq ?? '-', 'gap', e.reason, e.missed, e.node] : [e.seq, e.clientId, e.value, e.node]);

describe("a node's stream hub in a cluster", () => {
  test("sends its own pages' entries only while another node follows the topic, numbered among its own pages' entries without holes", async () => {
    const { hub, cluster } = setup();
    const page = pageOf('page-e');
    hub.publish(page, { type: 'events', topic: 'chat', items: [1] });
    assert.equal(cluster.sent.length, 0, 'nothing sent while no other node follows');
    cluster.followedByOthers.add('live/chat');
    await subscribed(hub, cluster, 'chat');
    // Another node's entries take numbers in this node's history in between.
    hub.receive(incoming(1, ['r1', 'r2']));
    hub.publish(page, { type: 'events', topic: 'chat', items: [2, 3], errors: [{ at: 1, error: { name: 'E', message: 'bad' } }] });
    assert.equal(cluster.sent.length, 1);
    const [batch] = cluster.sent;
    assert.deepEqual([batch!.first, batch!.kinds, batch!.bodies], [2, 'ere', ['"value":2', '"error":{"name":"E","message":"bad"}', '"value":3']]);
    hub.clientLeft(page);
    assert.deepEqual(cluster.leaves, ['live/chat/page-e']);
  });

  test("numbers other nodes' entries in its own history with their node; a jump in a node's numbers is a node-missed gap with the count", async () => {
    const { hub, cluster } = setup();
    const sink = await subscribed(hub, cluster, 'chat');
    hub.receive(incoming(5, ['a', 'b']));
    hub.receive(incoming(7, ['c']));
    hub.receive(incoming(11, ['g'], { time: 1_700_000_000_500 }));
    hub.receive(incoming(1, ['x'], { epoch: 'ep-a2' }));
    assert.deepEqual(sink.entries.map(brief), [
      [1, 'page-a', 'a', 'browser-a'],
      [2, 'page-a', 'b', 'browser-a'],
      [3, 'page-a', 'c', 'browser-a'],
      [4, 'gap', 'node-missed', 3, 'browser-a'],
      [5, 'page-a', 'g', 'browser-a'],
      [6, 'page-a', 'x', 'browser-a'],
    ]);
    assert.equal(sink.entries[4].time, 1_700_000_000_500, 'the time the page\'s node received it');
    assert.equal(sink.entries[3].clientId, undefined);
    assert.match(sink.entries[0].id, /^[a-z0-9]+-1$/);
  });

  test('marks a page that moved between nodes; one that reloaded on its node carries that node\'s own marker, not two', async () => {
    const { hub, cluster } = setup();
    const sink = await subscribed(hub, cluster, 'chat');
    hub.receive(incoming(1, ['on a']));
    const reloadMarker = '"reason":"page-reconnected","missed":null,"message":"page page-a reconnected"';
    hub.receive({ ...incoming(2, []), kinds: 'ge', bodies: [reloadMarker, '"value":"reloaded"'] });
    hub.receive(incoming(1, ['on b'], { instance: 'inst-b', node: 'browser-b', epoch: 'ep-b' }));
    hub.publish(pageOf('page-a'), { type: 'events', topic: 'chat', items: ['here'] });
    assert.deepEqual(
      sink.entries.map((e) => [e.type === 'gap' ? e.reason : e.value, e.node]),
      [
        ['on a', 'browser-a'],
        ['page-reconnected', 'browser-a'],
        ['reloaded', 'browser-a'],
        ['page-reconnected', 'browser-b'],
        ['on b', 'browser-b'],
        ['page-reconnected', 'edge-1'],
        ['here', 'edge-1'],
      ],
    );
  });

  test('a node gone silent leaves a node-lost gap in the followed topics it published to or has pages for, seen whatever the clientId filter; a node leaving in order, none', async () => {
    const { hub, cluster } = setup();
    const all = await subscribed(hub, cluster, 'chat');
    const onlyMine = await subscribed(hub, cluster, 'frames', 'page-e');
    hub.receive(incoming(1, ['a']));
    hub.nodeLeft('inst-b');
    hub.nodeLost('inst-a', 'browser-a', new Set(['shop']));
    hub.nodeLost('inst-c', 'browser-c', new Set(['live']));
    assert.deepEqual(all.entries.map(brief), [
      [1, 'page-a', 'a', 'browser-a'],
      [2, 'gap', 'node-lost', null, 'browser-a'],
      [3, 'gap', 'node-lost', null, 'browser-c'],
    ]);
    assert.deepEqual(onlyMine.entries.map(brief), [[1, 'gap', 'node-lost', null, 'browser-c']]);
    assert.equal(hub.summaries().find((t) => t.topic === 'chat')!.remotePublishers, 0, 'its pages are gone with it');
  });

  test('NATS lost: a nats-lost gap in every followed topic; the numbers other nodes had are kept, so what is lost meanwhile is counted when they are back', async () => {
    const { hub, cluster } = setup();
    const sink = await subscribed(hub, cluster, 'chat');
    hub.receive(incoming(1, ['a']));
    hub.natsLost();
    hub.receive(incoming(4, ['d']));
    assert.deepEqual(sink.entries.map(brief), [
      [1, 'page-a', 'a', 'browser-a'],
      [2, 'gap', 'nats-lost', null, 'edge-1'],
      [3, 'gap', 'node-missed', 2, 'browser-a'],
      [4, 'page-a', 'd', 'browser-a'],
    ]);
  });

  test("a subscription starts where every node confirmed: entries that arrive before it is attached are not lost; NATS down and nodes that did not confirm are told", async () => {
    const { hub, cluster } = setup();
    const hold = hub.prepare('live', 'chat');
    hub.receive(incoming(1, ['before the confirmations']));
    cluster.pending[0]!.confirm({ offline: true, unconfirmed: ['browser-z'] });
    await hold.ready;
    hub.receive(incoming(2, ['after them, before the subscriber']));
    const sink = new ListSink();
    hub.subscribe('live', 'chat', sink, { clientId: null, resume: null, hold });
    assert.deepEqual(
      sink.entries.map((e) => [e.type, e.reason ?? e.value, e.id === undefined]),
      [
        ['gap', 'nats-lost', true],
        ['gap', 'node-missed', true],
        ['event', 'after them, before the subscriber', false],
      ],
    );
    assert.match(sink.entries[1].message, /node browser-z did not confirm within 3 ms/);
  });

  test("entries of a topic this node does not follow are ignored; following it again after a while marks where other nodes' entries were not collected", async () => {
    const { hub } = setup();
    hub.receive(incoming(1, ['nobody follows']));
    assert.equal(hub.seqOf('live', 'chat'), 0);
    hub.publish(pageOf('page-e'), { type: 'events', topic: 'chat', items: ['local'] });
    hub.followStarted('live', 'chat', true);
    const sink = new ListSink();
    hub.subscribe('live', 'chat', sink, { clientId: null, resume: '0' });
    assert.deepEqual(sink.entries.map((e) => [e.seq, e.type === 'gap' ? e.reason : e.value]), [[1, 'local'], [2, 'not-followed']]);
  });
});
