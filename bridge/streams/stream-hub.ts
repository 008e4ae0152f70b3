/**
 * Topics and their subscribers. Pages publish with `events` messages; each topic (per group) numbers
 * what arrives, keeps the newest entries for resumes (--stream-history), and hands every batch to
 * its subscribers. docs/streams.md describes the stream as callers see it.
 */
import { customAlphabet } from 'nanoid';
import type { EventsMessage } from '../../protocol/index.js';
import type { BridgeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { PageClient } from '../page-client.js';
import { entryJson, entryTail, gapBody, parseEventId, type Entry } from './format.js';
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
  /** Entries kept for resumes. */
  kept: number;
  lastAt: number | null;
}

/** One topic of one group. */
class Topic implements TopicView {
  readonly epoch = newEpoch();
  seq = 0;
  readonly history: History;
  readonly subscribers = new Set<Subscriber>();
  readonly publishers = new Set<PageClient>();
  /** client id → serial of the connection it last published from. */
  private readonly lastConnection = new Map<string, number>();

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

  /** True when `client` (by id) published here before from another connection: a reload or a reconnect. */
  cameBack(clientId: string, serial: number): boolean {
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

  /** A page's `events` message: numbered, kept, and handed to the topic's subscribers. */
  publish(client: PageClient, message: EventsMessage): void {
    const topic = this.topicFor(client.group, message.topic, true);
    const time = Date.now();
    const tail = entryTail(topic.group, topic.topic, client.id, time);
    const entries: Entry[] = [];
    const add = (kind: Entry['kind'], body: string): void => {
      const seq = ++topic.seq;
      entries.push({ seq, clientId: client.id, kind, json: entryJson(kind, topic.epoch, seq, tail, body) });
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
    for (const entry of entries) topic.history.push(entry);
    if (topic.subscribers.size === 0) return;
    const batch = new Batch(entries, client.id, topic.epoch);
    for (const subscriber of topic.subscribers) subscriber.offer(batch);
  }

  /** A page left: it no longer counts as a publisher (its id is remembered, to mark its return). */
  clientLeft(client: PageClient): void {
    for (const topic of this.topics.values()) topic.publishers.delete(client);
  }

  /**
   * Subscribes `sink` to `group`/`name`: live from now, or after the entry `options.resume` names
   * (what the history no longer holds is reported as a gap first).
   */
  subscribe(group: string, name: string, sink: Sink, options: SubscribeOptions): Subscriber {
    const topic = this.topicFor(group, name, false);
    let after = topic.seq;
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
    });
    topic.subscribers.add(subscriber);
    this.subscriberCount++;
    if (reset) {
      subscriber.tell('reset', null, `this topic's history does not go back to ${options.resume} (the bridge restarted, or forgot the topic): what was published in between is lost`);
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
      out.push({ ...counts, subscribers: topic.subscribers.size, behind, publishers: topic.publishers.size, kept: topic.history.size, lastAt: counts.lastAt || null });
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
    const key = `${group}\n${name}`;
    let topic = this.topics.get(key);
    if (topic) {
      // Map order is use order: the least recently used topic comes first.
      this.topics.delete(key);
      this.topics.set(key, topic);
      return topic;
    }
    if (this.topics.size >= MAX_TOPICS) this.forgetOne();
    topic = new Topic(group, name, this.countsFor(group, name), this.config.streamHistory);
    this.topics.set(key, topic);
    if (publishing) this.log.debug({ group, topic: name }, 'new stream topic');
    return topic;
  }

  private forgetOne(): void {
    for (const [key, topic] of this.topics) {
      if (topic.subscribers.size > 0) continue;
      this.topics.delete(key);
      this.log.debug({ group: topic.group, topic: topic.topic }, `stream topic forgotten: more than ${MAX_TOPICS} topics`);
      return;
    }
  }

  private countsFor(group: string, topic: string): TopicCounts {
    const key = `${group}\n${topic}`;
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
  return { group, topic, events: 0, errors: 0, droppedByPages: 0, missedBySubscribers: 0, lastAt: 0 };
}
