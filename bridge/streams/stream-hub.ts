/**
 * Topics and their subscribers. Pages publish with `events` messages; each topic (per group) numbers
 * what arrives, keeps the newest entries for resumes (--stream-history), and hands every batch to
 * its subscribers. docs/streams.md describes the stream as callers see it.
 *
 * On a cluster node (--nats) the hub also takes other nodes' entries of the topics it follows (those
 * with a subscriber here, and for a while after the last one left) and numbers them in its own
 * history as they arrive, so ids and resumes work against the node a subscriber is connected to.
 * What can be missing from that (a node lost, NATS lost, entries lost on the way, a time nobody
 * followed) becomes a gap entry. bridge/cluster/stream-relay.ts carries the entries over NATS.
 */
import { customAlphabet } from 'nanoid';
import type { EventsMessage } from '../../protocol/index.js';
import type { BridgeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { PageClient } from '../page-client.js';
import { entryJson, entryTail, gapBody, parseEventId, type Entry, type EntryKind } from './format.js';
import { History } from './history.js';
import { Batch, Subscriber, type Sink, type TopicView } from './subscriber.js';

const newEpoch = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 8);

/** Topics kept at once; past it, the least recently used topic without subscribers is forgotten. */
export const MAX_TOPICS = 256;
/** Characters of JSON one topic's history may hold, whatever --stream-history says. */
export const MAX_HISTORY_CHARS = 4 * 1024 * 1024;
/** Distinct topics counted in metrics; more are counted under `_other`. */
export const MAX_TOPIC_SERIES = 1_000;
/** Client ids a topic remembers to notice a page that came back (a reload) and say so. */
const REMEMBERED_PUBLISHERS = 1_024;
/** A stream with nothing written for this long gets a keep-alive. */
export const KEEP_ALIVE_MS = 15_000;
/** Other nodes a topic tracks the entry numbers of (to notice entries lost on the way). */
const REMEMBERED_SOURCES = 64;

/** One letter per entry kind, as entries travel between cluster nodes. */
export const KIND_CODES: Record<EntryKind, string> = { event: 'e', error: 'r', gap: 'g' };
const KINDS_BY_CODE: Record<string, EntryKind | undefined> = { e: 'event', r: 'error', g: 'gap' };

/** Entries of a page of this node, as they go to the other nodes that follow the topic. */
export interface OutgoingBatch {
  readonly group: string;
  readonly topic: string;
  readonly clientId: string;
  /** This node's history of the topic, and the number of the first entry among its own pages' entries of it (1, 2, 3 … with no holes). */
  readonly epoch: string;
  readonly first: number;
  /** When this node received them, epoch ms. */
  readonly time: number;
  /** One KIND_CODES letter per entry. */
  readonly kinds: string;
  /** Each entry's body (`"value":…`, `"error":…`, a gap's fields), as JSON text without newlines. */
  readonly bodies: readonly string[];
}

/** Entries of another node's page, as they arrive. */
export interface IncomingBatch extends OutgoingBatch {
  /** The sending node's instance id and name. */
  readonly instance: string;
  readonly node: string;
}

/** What a subscription on a cluster node waits for before it starts (bridge/cluster/stream-relay.ts). */
export interface Following {
  /** Resolves once every node sends the topic's entries here (or could not be asked: see Readiness). */
  readonly ready: Promise<Readiness>;
  /** This subscriber (to be) no longer needs the topic followed. Idempotent. */
  release(): void;
}

/** How a subscription on a cluster node starts. */
export interface Readiness {
  /** The topic's newest sequence number when every node confirmed: a live start begins after it. */
  mark: number;
  /** NATS was not connected: other nodes' entries cannot arrive for now. */
  offline: boolean;
  /** Nodes with pages in the group that did not confirm in time. */
  unconfirmed: string[];
  /** How long they were waited for, ms. */
  waitedMs: number;
}

/** What the hub needs of its cluster: which topics other nodes follow, a way to send them entries, and following topics itself. */
export interface RemoteStreams {
  /** This node's name, put on every entry. */
  readonly node: string;
  /** Whether another node follows `group`/`topic` now (only then are this node's entries of it sent). */
  wants(group: string, topic: string): boolean;
  /** Sends entries of a page of this node to the nodes that follow the topic. */
  send(batch: OutgoingBatch): void;
  /** A page of this node that published to a topic other nodes follow has left. */
  left(group: string, topic: string, clientId: string): void;
  /** Follows `group`/`topic` for a subscriber: other nodes' entries of it come here. `mark` reads the topic's newest number. */
  follow(group: string, topic: string, mark: () => number): Following;
}

/** A subscription in the making: the topic is held (and followed, on a cluster node) until subscribe() takes it over or release(). */
export interface Hold {
  readonly group: string;
  readonly topic: string;
  /** Resolves when the subscription can start. */
  readonly ready: Promise<void>;
  /** Lets the topic go (the caller left before subscribing). Idempotent. */
  release(): void;
}

interface HoldState extends Hold {
  readiness: Readiness | null;
}

/** Running counts of one topic, for metrics and the dashboard (they survive the topic being forgotten). */
export interface TopicCounts {
  readonly group: string;
  readonly topic: string;
  /** Values published. */
  events: number;
  /** Error events published (a tap's decode failed). */
  errors: number;
  /** Events pages dropped before sending (their buffer was full). */
  droppedByPages: number;
  /** Entries subscribers missed because they fell behind the history. */
  missedBySubscribers: number;
  /** Values other cluster nodes' pages published that reached this node. */
  remoteEvents: number;
  /** Epoch ms of the last entry, or 0. */
  lastAt: number;
}

/** A topic as the dashboard lists it. */
export interface TopicSummary extends Omit<TopicCounts, 'lastAt'> {
  subscribers: number;
  /** Subscribers behind now: their sink is full and they wait to catch up. */
  behind: number;
  /** Connected pages that published to it. */
  publishers: number;
  /** Other nodes' pages whose entries reached this node while it followed the topic (and have not left). */
  remotePublishers: number;
  /** Entries kept for resumes. */
  kept: number;
  lastAt: number | null;
}

/** One topic of one group. */
class Topic implements TopicView {
  readonly epoch = newEpoch();
  seq = 0;
  /** Entries of this node's pages only: how they are numbered for other nodes, which notice a jump as entries lost. */
  ownSeq = 0;
  readonly history: History;
  readonly subscribers = new Set<Subscriber>();
  readonly publishers = new Set<PageClient>();
  /** Subscriptions in the making: a held topic is not forgotten. */
  holds = 0;
  /** Other nodes' entries of this topic come here now (a cluster node following it). */
  followed = false;
  /** When it was last followed (epoch ms), 0 before. */
  unfollowedAt = 0;
  /** Per other node (instance id): the last of its entries of this topic that arrived, to notice lost ones. */
  readonly sources = new Map<string, { epoch: string; seq: number }>();
  /** Other nodes' pages that published here while it was followed: client id → node instance. */
  readonly remotePublishers = new Map<string, string>();
  /** client id → serial of the connection it last published from (`@instance` for another node's page). */
  private readonly lastConnection = new Map<string, number | string>();

  constructor(
    readonly group: string,
    readonly topic: string,
    readonly counts: TopicCounts,
    historySize: number,
  ) {
    this.history = new History(historySize, MAX_HISTORY_CHARS);
  }

  countMissed(n: number): void {
    this.counts.missedBySubscribers += n;
  }

  /** True when `client` (by id) published here before from another connection (or node): a reload or a reconnect. */
  cameBack(clientId: string, serial: number | string): boolean {
    const before = this.lastConnection.get(clientId);
    if (before === serial) return false;
    this.lastConnection.delete(clientId);
    this.lastConnection.set(clientId, serial);
    if (this.lastConnection.size > REMEMBERED_PUBLISHERS) this.lastConnection.delete(this.lastConnection.keys().next().value!);
    return before !== undefined;
  }
}

/** Options of a subscription, checked by the route. */
export interface SubscribeOptions {
  /** Only this page's entries. */
  clientId: string | null;
  /** Last-Event-ID to resume after (validated by parseEventId). */
  resume: string | null;
  /** The hold prepare() gave, once ready: the subscription takes it over. */
  hold?: Hold;
}

/** Every topic of the bridge. */
export class StreamHub {
  private readonly topics = new Map<string, Topic>();
  private readonly counts = new Map<string, TopicCounts>();
  private overflow: TopicCounts | undefined;
  private readonly serials = new WeakMap<PageClient, number>();
  private nextSerial = 0;
  private subscriberCount = 0;
  private readonly keepAliveTimer: NodeJS.Timeout;
  /** The cluster, on a node started with --nats. */
  private remote: RemoteStreams | null = null;

  constructor(
    private readonly config: BridgeConfig,
    private readonly log: Logger,
  ) {
    this.keepAliveTimer = setInterval(() => this.keepAlive(), KEEP_ALIVE_MS / 3);
    this.keepAliveTimer.unref();
  }

  /** Subscribers connected now, over every topic. */
  get subscribers(): number {
    return this.subscriberCount;
  }

  /** Topics kept now. */
  get topicCount(): number {
    return this.topics.size;
  }

  /** Joins the hub to its cluster: entries go to and come from other nodes from now on. */
  attachRemote(remote: RemoteStreams): void {
    this.remote = remote;
  }

  /** A page's `events` message: numbered, kept, and handed to the topic's subscribers. */
  publish(client: PageClient, message: EventsMessage): void {
    const topic = this.topicFor(client.group, message.topic, true);
    const time = Date.now();
    const remote = this.remote;
    const tail = entryTail(topic.group, topic.topic, client.id, time, remote?.node);
    const entries: Entry[] = [];
    // Bodies are kept for other nodes only when one follows the topic: no work for nobody.
    const bodies: string[] | null = remote !== null && remote.wants(topic.group, topic.topic) ? [] : null;
    let kinds = '';
    const add = (kind: Entry['kind'], body: string): void => {
      const seq = ++topic.seq;
      entries.push({ seq, clientId: client.id, kind, json: entryJson(kind, topic.epoch, seq, tail, body) });
      if (bodies) {
        bodies.push(body);
        kinds += KIND_CODES[kind];
      }
    };
    let serial = this.serials.get(client);
    if (serial === undefined) {
      serial = ++this.nextSerial;
      this.serials.set(client, serial);
    }
    if (topic.cameBack(client.id, serial)) {
      add('gap', gapBody('page-reconnected', null, `page ${client.id} reconnected (a reload or a dropped connection); what it emitted while away may be missing`));
    }
    topic.publishers.add(client);
    const counts = topic.counts;
    if (message.dropped) {
      counts.droppedByPages += message.dropped;
      add('gap', gapBody('page-dropped', message.dropped, `page ${client.id} dropped ${message.dropped} events: it emitted faster than it could send them`));
    }
    const { items } = message;
    const errors = message.errors ?? [];
    let e = 0;
    for (let i = 0; i < items.length; i++) {
      while (e < errors.length && errors[e]!.at === i) add('error', `"error":${JSON.stringify(errors[e++]!.error)}`);
      add('event', `"value":${JSON.stringify(items[i])}`);
    }
    while (e < errors.length) add('error', `"error":${JSON.stringify(errors[e++]!.error)}`);
    counts.events += items.length;
    counts.errors += errors.length;
    if (entries.length === 0) return;
    counts.lastAt = time;
    const first = topic.ownSeq + 1;
    topic.ownSeq += entries.length;
    if (bodies) remote!.send({ group: topic.group, topic: topic.topic, clientId: client.id, epoch: topic.epoch, first, time, kinds, bodies });
    this.append(topic, entries, client.id);
  }

  /** A page left: it no longer counts as a publisher (its id is remembered, to mark its return). */
  clientLeft(client: PageClient): void {
    for (const topic of this.topics.values()) {
      if (!topic.publishers.delete(client)) continue;
      if (this.remote?.wants(topic.group, topic.topic)) this.remote.left(topic.group, topic.topic, client.id);
    }
  }

  // ---- a cluster node: other nodes' entries (called by bridge/cluster/stream-relay.ts) -----------

  /** This node follows `group`/`topic` from now on; `othersHaveGroup`: some other node has pages in the group. */
  followStarted(group: string, name: string, othersHaveGroup: boolean): void {
    const topic = this.topicFor(group, name, false);
    topic.followed = true;
    topic.sources.clear();
    topic.remotePublishers.clear();
    // Entries kept from before were not joined by other nodes' entries: a resume from there must say so.
    if (topic.seq > 0 && othersHaveGroup) {
      const since = topic.unfollowedAt ? `since ${new Date(topic.unfollowedAt).toISOString()}` : 'before this point';
      this.clusterGap(topic, 'not-followed', null, this.remote?.node, `nobody subscribed to this topic on this node ${since}: other nodes' events published ${topic.unfollowedAt ? 'in between' : 'before'} were not collected here`);
    }
  }

  /** This node no longer follows `group`/`topic`. */
  followEnded(group: string, name: string): void {
    const topic = this.topics.get(topicKey(group, name));
    if (!topic) return;
    topic.followed = false;
    topic.unfollowedAt = Date.now();
    topic.sources.clear();
    topic.remotePublishers.clear();
  }

  /** The newest sequence number of a topic (0 when it has none). */
  seqOf(group: string, name: string): number {
    return this.topics.get(topicKey(group, name))?.seq ?? 0;
  }

  /**
   * Entries of another node's page arrived: numbered in this node's history, in the order they
   * arrive. Entries of that node that did not arrive (their numbers in its history jumped) become a
   * `node-missed` gap first; a page that published here from elsewhere before, a `page-reconnected` one.
   */
  receive(batch: IncomingBatch): void {
    const topic = this.topics.get(topicKey(batch.group, batch.topic));
    if (!topic?.followed || batch.bodies.length === 0) return;
    this.touch(topic);
    const last = batch.first + batch.bodies.length - 1;
    const source = topic.sources.get(batch.instance);
    const expected = source === undefined ? undefined : source.epoch === batch.epoch ? source.seq + 1 : 1;
    if (expected !== undefined && batch.first > expected) {
      const lost = batch.first - expected;
      this.clusterGap(topic, 'node-missed', lost, batch.node, `${lost} entries of node ${batch.node}'s pages did not arrive here (lost on the way: NATS was out of reach, or too slow, for one of the two nodes)`);
    }
    topic.sources.delete(batch.instance);
    topic.sources.set(batch.instance, { epoch: batch.epoch, seq: last });
    if (topic.sources.size > REMEMBERED_SOURCES) topic.sources.delete(topic.sources.keys().next().value!);
    const tail = entryTail(topic.group, topic.topic, batch.clientId, batch.time, batch.node);
    const entries: Entry[] = [];
    // A page that reloads on its node gets that node's own marker; one that moved between nodes, this one.
    const marked = batch.kinds[0] === 'g' && batch.bodies[0]!.startsWith('"reason":"page-reconnected"');
    if (topic.cameBack(batch.clientId, `@${batch.instance}`) && !marked) {
      const seq = ++topic.seq;
      const body = gapBody('page-reconnected', null, `page ${batch.clientId} reconnected (now on node ${batch.node}); what it emitted while away may be missing`);
      entries.push({ seq, clientId: batch.clientId, kind: 'gap', json: entryJson('gap', topic.epoch, seq, entryTail(topic.group, topic.topic, batch.clientId, Date.now(), batch.node), body) });
    }
    topic.remotePublishers.delete(batch.clientId);
    topic.remotePublishers.set(batch.clientId, batch.instance);
    if (topic.remotePublishers.size > REMEMBERED_PUBLISHERS) topic.remotePublishers.delete(topic.remotePublishers.keys().next().value!);
    let values = 0;
    for (let i = 0; i < batch.bodies.length; i++) {
      const kind = KINDS_BY_CODE[batch.kinds[i]!] ?? 'event';
      if (kind === 'event') values++;
      const seq = ++topic.seq;
      entries.push({ seq, clientId: batch.clientId, kind, json: entryJson(kind, topic.epoch, seq, tail, batch.bodies[i]!) });
    }
    topic.counts.remoteEvents += values;
    topic.counts.lastAt = Date.now();
    this.append(topic, entries, batch.clientId);
  }

  /** A page of another node that published to a followed topic left. */
  remoteLeft(group: string, name: string, clientId: string, instance: string): void {
    const topic = this.topics.get(topicKey(group, name));
    if (topic?.remotePublishers.get(clientId) === instance) topic.remotePublishers.delete(clientId);
  }

  /**
   * Another node went silent (killed, crashed, cut off): each followed topic it published to, or
   * whose group it had pages in, gets a `node-lost` gap.
   */
  nodeLost(instance: string, node: string, groups: { has(group: string): boolean }): void {
    for (const topic of this.topics.values()) {
      if (!topic.followed) continue;
      if (topic.sources.has(instance) || groups.has(topic.group)) {
        this.clusterGap(topic, 'node-lost', null, node, `node ${node} stopped answering (killed, crashed or cut off): events its pages published after the last one here may be missing`);
      }
      this.forgetSource(topic, instance);
    }
  }

  /** Another node left the cluster in good order (its pages left with it; nothing is missing). */
  nodeLeft(instance: string): void {
    for (const topic of this.topics.values()) this.forgetSource(topic, instance);
  }

  /** This node lost NATS: every followed topic gets a `nats-lost` gap (the numbers other nodes' entries had are kept, to count what is lost when it is back). */
  natsLost(): void {
    const node = this.remote?.node;
    for (const topic of this.topics.values()) {
      if (!topic.followed) continue;
      topic.remotePublishers.clear();
      this.clusterGap(topic, 'nats-lost', null, node, `this node (${node ?? '?'}) lost its NATS connection: other nodes' events are missing until it is back`);
    }
  }

  private forgetSource(topic: Topic, instance: string): void {
    topic.sources.delete(instance);
    for (const [clientId, from] of topic.remotePublishers) if (from === instance) topic.remotePublishers.delete(clientId);
  }

  /** A gap about the cluster, kept in the history: every subscriber sees it, whatever its clientId. */
  private clusterGap(topic: Topic, reason: 'node-lost' | 'node-missed' | 'nats-lost' | 'not-followed', missed: number | null, node: string | undefined, message: string): void {
    const seq = ++topic.seq;
    const json = entryJson('gap', topic.epoch, seq, entryTail(topic.group, topic.topic, '', Date.now(), node), gapBody(reason, missed, message));
    this.append(topic, [{ seq, clientId: '', kind: 'gap', json }], '');
  }

  /** Keeps `entries` (numbered already) and hands them to the topic's subscribers. */
  private append(topic: Topic, entries: Entry[], clientId: string): void {
    for (const entry of entries) topic.history.push(entry);
    if (topic.subscribers.size === 0) return;
    const batch = new Batch(entries, clientId, topic.epoch);
    for (const subscriber of topic.subscribers) subscriber.offer(batch);
  }

  /**
   * Readies `group`/`name` for a subscriber and holds it until subscribe() takes the hold over (or
   * release()). On a cluster node the topic is followed and `ready` resolves once every node sends
   * its entries of the topic here, so a live start misses nothing any node's pages publish after it.
   * On a single bridge `ready` is resolved already.
   */
  prepare(group: string, name: string): Hold {
    const topic = this.topicFor(group, name, false);
    topic.holds++;
    const following = this.remote?.follow(group, name, () => topic.seq) ?? null;
    let released = false;
    const hold: HoldState = {
      group,
      topic: name,
      readiness: null,
      ready: following ? following.ready.then((r) => void (hold.readiness = r)) : Promise.resolve(),
      release: () => {
        if (released) return;
        released = true;
        topic.holds--;
        following?.release();
      },
    };
    return hold;
  }

  /**
   * Subscribes `sink` to `group`/`name`: live from now, or after the entry `options.resume` names
   * (what the history no longer holds is reported as a gap first). `options.hold`, from prepare(),
   * is taken over and released when the subscriber goes; without one the topic is held from now.
   */
  subscribe(group: string, name: string, sink: Sink, options: SubscribeOptions): Subscriber {
    const hold = (options.hold ?? this.prepare(group, name)) as HoldState;
    const topic = this.topicFor(group, name, false);
    const readiness = hold.readiness;
    let after = readiness === null ? topic.seq : Math.min(readiness.mark, topic.seq);
    let reset = false;
    const point = options.resume === null ? undefined : parseEventId(options.resume);
    if (point) {
      if (point.epoch === null || point.epoch === topic.epoch) after = Math.min(point.seq, topic.seq);
      else {
        reset = true;
        after = topic.history.oldestSeq(topic.seq) - 1;
      }
    }
    const subscriber = new Subscriber(topic, sink, options.clientId, this.config.streamSubscriberBytes, this.config.streamSlowPolicy, after, (gone) => {
      if (topic.subscribers.delete(gone)) this.subscriberCount--;
      hold.release();
    });
    topic.subscribers.add(subscriber);
    this.subscriberCount++;
    if (reset) {
      subscriber.tell('reset', null, `this topic's history does not go back to ${options.resume} (the bridge restarted, or forgot the topic): what was published in between is lost`);
    }
    const node = this.remote?.node;
    if (readiness?.offline) {
      subscriber.tell('nats-lost', null, `this node (${node}) is not connected to NATS: other nodes' events are missing until it is back`, node);
    }
    for (const other of readiness?.unconfirmed ?? []) {
      subscriber.tell('node-missed', null, `node ${other} did not confirm within ${readiness!.waitedMs} ms that it sends this topic's events here: the first events of its pages may be missing`, other);
    }
    subscriber.catchUp('expired');
    return subscriber;
  }

  /** Every topic kept now, for the dashboard. */
  summaries(): TopicSummary[] {
    const out: TopicSummary[] = [];
    for (const topic of this.topics.values()) {
      const { counts } = topic;
      let behind = 0;
      for (const subscriber of topic.subscribers) if (subscriber.behind) behind++;
      out.push({ ...counts, subscribers: topic.subscribers.size, behind, publishers: topic.publishers.size, remotePublishers: topic.remotePublishers.size, kept: topic.history.size, lastAt: counts.lastAt || null });
    }
    return out;
  }

  /** Counts of every topic ever published to (capped; see MAX_TOPIC_SERIES), for metrics. */
  allCounts(): Iterable<TopicCounts> {
    const list = [...this.counts.values()];
    if (this.overflow) list.push(this.overflow);
    return list;
  }

  /** Subscribers per topic kept now, for metrics. */
  subscriberCounts(): Array<{ group: string; topic: string; subscribers: number }> {
    return [...this.topics.values()].filter((t) => t.subscribers.size > 0).map((t) => ({ group: t.group, topic: t.topic, subscribers: t.subscribers.size }));
  }

  /** Ends every subscription (the bridge stops). */
  close(): void {
    clearInterval(this.keepAliveTimer);
    for (const topic of this.topics.values()) for (const subscriber of [...topic.subscribers]) subscriber.close('closing');
  }

  private topicFor(group: string, name: string, publishing: boolean): Topic {
    const key = topicKey(group, name);
    let topic = this.topics.get(key);
    if (topic) {
      this.touch(topic);
      return topic;
    }
    if (this.topics.size >= MAX_TOPICS) this.forgetOne();
    topic = new Topic(group, name, this.countsFor(group, name), this.config.streamHistory);
    this.topics.set(key, topic);
    if (publishing) this.log.debug({ group, topic: name }, 'new stream topic');
    return topic;
  }

  /** Map order is use order: the least recently used topic comes first. */
  private touch(topic: Topic): void {
    const key = topicKey(topic.group, topic.topic);
    this.topics.delete(key);
    this.topics.set(key, topic);
  }

  private forgetOne(): void {
    for (const [key, topic] of this.topics) {
      if (topic.subscribers.size > 0 || topic.holds > 0 || topic.followed) continue;
      this.topics.delete(key);
      this.log.debug({ group: topic.group, topic: topic.topic }, `stream topic forgotten: more than ${MAX_TOPICS} topics`);
      return;
    }
  }

  private countsFor(group: string, topic: string): TopicCounts {
    const key = topicKey(group, topic);
    const found = this.counts.get(key);
    if (found) return found;
    if (this.counts.size >= MAX_TOPIC_SERIES) {
      this.overflow ??= newCounts('_other', '_other');
      return this.overflow;
    }
    const created = newCounts(group, topic);
    this.counts.set(key, created);
    return created;
  }

  private keepAlive(): void {
    const now = Date.now();
    for (const topic of this.topics.values()) for (const subscriber of topic.subscribers) subscriber.keepAlive(now, KEEP_ALIVE_MS);
  }
}

function newCounts(group: string, topic: string): TopicCounts {
  return { group, topic, events: 0, errors: 0, droppedByPages: 0, missedBySubscribers: 0, remoteEvents: 0, lastAt: 0 };
}

function topicKey(group: string, topic: string): string {
  return `${group}\n${topic}`;
}
