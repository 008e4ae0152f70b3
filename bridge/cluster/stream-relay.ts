/**
 * Stream topics across the cluster (docs/cluster.md#streams). A node **follows** a topic while it
 * has a /v1/stream subscriber for it (and FOLLOW_LINGER_MS after the last one left, so a
 * subscriber that reconnects resumes without a hole): it subscribes to the topic's subject, tells
 * every node (an interest message, then its heartbeats) and waits until they confirm, so a
 * subscription that starts misses nothing any node's pages publish after it. A node sends its own
 * pages' entries of a topic only while another node follows it: nobody following costs nothing.
 *
 * Entries travel as their JSON bodies under a small head (wire.ts: encodeEvents); the following
 * node numbers them in its own history (bridge/streams/stream-hub.ts: receive), so ids, sequence
 * numbers and resumes are those of the node a subscriber is connected to. The sender's own numbers
 * travel along, so entries lost on the way show up as a gap with their count.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import type { Following, OutgoingBatch, Readiness, RemoteStreams, StreamHub } from '../streams/stream-hub.js';
import { MISSED_BEATS, type GoneReason, type NodeDirectory, type NodeEntry } from './directory.js';
import type { Link } from './forwarder.js';
import type { Subjects } from './subjects.js';
import { CLUSTER_PROTOCOL, encodeEvents, readEvents, readInterest, readInterestAck, WireProblem, type EventsHead } from './wire.js';

/** How long a topic stays followed after its last subscriber left. */
export const FOLLOW_LINGER_MS = 60_000;
/** Budget for the followed topics one heartbeat lists, in characters; past it a group is listed as `*` (all its topics). */
const STREAMS_BUDGET = 32 * 1024;
/** Room left in a message for NATS's own framing. */
const PAYLOAD_SLACK = 512;

/** What the relay calls on the stream hub. */
export type RelayHub = Pick<StreamHub, 'receive' | 'remoteLeft' | 'followStarted' | 'followEnded' | 'nodeLost' | 'nodeLeft' | 'natsLost'>;

/** What the relay needs of its cluster. */
export interface RelayDeps {
  readonly instance: string;
  readonly name: string;
  readonly link: Link;
  readonly subjects: Subjects;
  readonly directory: NodeDirectory;
  readonly log: Logger;
  /** The heartbeat interval: a new follower waits MISSED_BEATS of them for the nodes' confirmations at most. */
  readonly heartbeatMs: number;
  /** Subscribes to a subject for as long as the returned function is not called (across reconnects). */
  readonly subscribe: (subject: string, onMessage: (data: Uint8Array) => void) => () => void;
  /** The set of followed topics changed: announce it soon. */
  readonly changed: () => void;
}

/** One topic this node follows. */
interface Follow {
  readonly group: string;
  readonly topic: string;
  /** Subscribers (and subscriptions in the making) that need it. */
  refs: number;
  /** Waiting for the other nodes' confirmations. */
  starting: boolean;
  waiters: Array<{ mark: () => number; resolve: (readiness: Readiness) => void }>;
  /** Nodes (instance ids) whose confirmation is awaited. */
  waiting: Set<string>;
  ask: string;
  askedAt: number;
  timer: NodeJS.Timeout | undefined;
  linger: NodeJS.Timeout | undefined;
  unsubscribe: () => void;
}

/** This node's side of streams over NATS. */
export class StreamRelay implements RemoteStreams {
  readonly node: string;
  private hub: RelayHub | null = null;
  private readonly follows = new Map<string, Follow>();
  /** Follows waiting for confirmations, by the id in their reply subject. */
  private readonly asks = new Map<string, Follow>();
  private askSeq = 0;
  private closed = false;
  /** Nodes whose unreadable messages were logged already (once each). */
  private readonly warned = new Set<string>();
  /** Entries of this node's pages sent to other nodes, since start. */
  sent = 0;
  /** Entries of other nodes' pages that arrived, since start. */
  received = 0;

  constructor(private readonly deps: RelayDeps) {
    this.node = deps.name;
  }

  /** The hub entries go to. */
  attach(hub: RelayHub): void {
    this.hub = hub;
  }

  /** Topics followed now (lingering ones included). */
  get followed(): number {
    return this.follows.size;
  }

  // ---- sending this node's pages' entries --------------------------------------------------

  wants(group: string, topic: string): boolean {
    return this.deps.link.ready && this.deps.directory.wantsStream(group, topic);
  }

  send(batch: OutgoingBatch): void {
    const { link, subjects, log } = this.deps;
    if (!link.ready) return;
    const head = { v: CLUSTER_PROTOCOL, n: this.deps.instance, name: this.node, g: batch.group, o: batch.topic, c: batch.clientId, e: batch.epoch, t: batch.time };
    const { messages, skipped } = encodeEvents(head, batch.first, batch.kinds, batch.bodies, link.maxPayload - PAYLOAD_SLACK);
    const subject = subjects.events(batch.group, batch.topic);
    try {
      for (const message of messages) link.publish(subject, message);
    } catch (error) {
      // The connection is going: the following nodes see the jump in numbers (or this node gone) as a gap.
      log.debug({ err: (error as Error).message }, 'cluster: could not send stream entries');
      return;
    }
    this.sent += batch.bodies.length - skipped;
    if (skipped > 0) log.warn({ group: batch.group, topic: batch.topic, skipped, maxPayload: link.maxPayload }, "cluster: stream entries larger than the NATS server's max_payload were not sent to other nodes");
  }

  left(group: string, topic: string, clientId: string): void {
    const { link, subjects } = this.deps;
    if (!link.ready) return;
    const head: EventsHead = { v: CLUSTER_PROTOCOL, n: this.deps.instance, name: this.node, g: group, o: topic, c: clientId, e: '', s: 0, t: Date.now(), k: '', left: true };
    try {
      link.publish(subjects.events(group, topic), JSON.stringify(head));
    } catch {
      // As in send(): nothing to do when the connection is going.
    }
  }

  // ---- following topics for this node's subscribers ----------------------------------------

  follow(group: string, topic: string, mark: () => number): Following {
    const key = `${group}\n${topic}`;
    let follow = this.follows.get(key);
    if (!follow) {
      follow = { group, topic, refs: 0, starting: false, waiters: [], waiting: new Set(), ask: '', askedAt: 0, timer: undefined, linger: undefined, unsubscribe: () => {} };
      this.follows.set(key, follow);
      this.hub?.followStarted(group, topic, this.deps.directory.hasGroup(group));
      // Subscribed before anyone is asked: NATS handles one connection's messages in order, so the
      // subscription is in place when the other nodes read the interest message.
      follow.unsubscribe = this.deps.subscribe(this.deps.subjects.events(group, topic), (data) => this.onEntries(data));
      this.deps.changed();
      this.askNodes(follow);
    } else if (follow.linger !== undefined) {
      clearTimeout(follow.linger);
      follow.linger = undefined;
    }
    follow.refs++;
    const f = follow;
    let released = false;
    const ready = f.starting ? new Promise<Readiness>((resolve) => f.waiters.push({ mark, resolve })) : Promise.resolve(this.readiness(f, mark, [], !this.deps.link.ready));
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        this.unfollow(f);
      },
    };
  }

  /** The topics followed now, by group, as the heartbeat carries them (undefined when none). */
  announced(): Record<string, string[]> | undefined {
    if (this.follows.size === 0) return undefined;
    const byGroup = new Map<string, string[]>();
    for (const f of this.follows.values()) {
      const topics = byGroup.get(f.group);
      if (topics) topics.push(f.topic);
      else byGroup.set(f.group, [f.topic]);
    }
    const out: Record<string, string[]> = {};
    let budget = STREAMS_BUDGET;
    for (const [group, topics] of byGroup) {
      const cost = topics.reduce((n, t) => n + t.length + 3, group.length + 4);
      // Listed as every topic of the group when the list does not fit: other nodes then send a bit more, never less.
      out[group] = cost <= budget ? topics : ['*'];
      budget -= cost <= budget ? cost : group.length + 7;
    }
    return out;
  }

  private askNodes(follow: Follow): void {
    const { link, directory, subjects } = this.deps;
    const nodes = directory.list().filter((n) => n.announced);
    if (!link.ready || nodes.length === 0) return;
    follow.starting = true;
    follow.waiting = new Set(nodes.map((n) => n.instance));
    follow.ask = `I${++this.askSeq}`;
    follow.askedAt = performance.now();
    this.asks.set(follow.ask, follow);
    try {
      link.publish(subjects.interest, JSON.stringify({ v: CLUSTER_PROTOCOL, n: this.deps.instance, name: this.node, g: follow.group, t: follow.topic }), subjects.reply(this.deps.instance, follow.ask));
    } catch (error) {
      this.deps.log.debug({ err: (error as Error).message }, 'cluster: could not announce a followed stream topic');
      this.settle(follow, true);
      return;
    }
    // As long as a node may be silent before it counts as gone: a dead node is dropped from the wait
    // by then (nothing after this point can come from it); only a stalled one is reported.
    follow.timer = setTimeout(() => this.settle(follow), this.deps.heartbeatMs * MISSED_BEATS);
    follow.timer.unref();
  }

  /** The confirmations are in (or the wait is over): the subscribers waiting for them start. */
  private settle(follow: Follow, offline = !this.deps.link.ready): void {
    clearTimeout(follow.timer);
    follow.timer = undefined;
    this.asks.delete(follow.ask);
    if (!follow.starting) return;
    follow.starting = false;
    const unconfirmed = offline
      ? []
      : [...follow.waiting]
          .map((instance) => this.deps.directory.get(instance))
          .filter((n): n is NodeEntry => n !== undefined && n.groups.has(follow.group))
          .map((n) => n.name);
    follow.waiting.clear();
    for (const waiter of follow.waiters.splice(0)) waiter.resolve(this.readiness(follow, waiter.mark, unconfirmed, offline));
  }

  private readiness(follow: Follow, mark: () => number, unconfirmed: string[], offline: boolean): Readiness {
    return { mark: mark(), offline, unconfirmed, waitedMs: follow.askedAt === 0 ? 0 : Math.round(performance.now() - follow.askedAt) };
  }

  private unfollow(follow: Follow): void {
    if (--follow.refs > 0 || this.closed) return;
    follow.linger = setTimeout(() => this.stop(follow), FOLLOW_LINGER_MS);
    follow.linger.unref();
  }

  private stop(follow: Follow): void {
    const key = `${follow.group}\n${follow.topic}`;
    if (this.follows.get(key) !== follow) return;
    this.follows.delete(key);
    this.settle(follow);
    follow.unsubscribe();
    this.hub?.followEnded(follow.group, follow.topic);
    this.deps.changed();
  }

  // ---- what other nodes send --------------------------------------------------------------

  /** Another node follows a topic: note it, and confirm. */
  onInterest(data: Uint8Array, reply: string | undefined): void {
    let interest;
    try {
      interest = readInterest(data);
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: unreadable stream interest');
      return;
    }
    if (interest.n === this.deps.instance) return;
    this.deps.directory.follows(interest.n, interest.name, interest.g, interest.t);
    if (reply === undefined || !this.deps.link.ready) return;
    try {
      this.deps.link.publish(reply, JSON.stringify({ v: CLUSTER_PROTOCOL, n: this.deps.instance, name: this.node }));
    } catch {
      // The asking node stops waiting at its deadline.
    }
  }

  /** A node confirmed it sends the topic's entries here (`id` is the ask's); status 503: no other node listens at all. */
  onAck(id: string, data: Uint8Array, status: number | undefined): void {
    const follow = this.asks.get(id);
    if (!follow) return;
    if (status !== undefined) {
      if (status === 503) this.settle(follow);
      return;
    }
    try {
      const ack = readInterestAck(data);
      this.deps.directory.touch(ack.n, ack.name);
      follow.waiting.delete(ack.n);
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: unreadable stream interest confirmation');
      return;
    }
    if (follow.waiting.size === 0) this.settle(follow);
  }

  private onEntries(data: Uint8Array): void {
    let read;
    try {
      read = readEvents(data);
    } catch (error) {
      const problem = error instanceof WireProblem ? error.message : String(error);
      if (!this.warned.has(problem)) {
        this.warned.add(problem);
        this.deps.log.warn({ err: problem }, 'cluster: unreadable stream entries (the numbers that follow will show the hole as a gap)');
      }
      return;
    }
    const { head, bodies } = read;
    if (head.n === this.deps.instance || !this.hub) return;
    if (head.left) {
      this.hub.remoteLeft(head.g, head.o, head.c, head.n);
      return;
    }
    this.received += bodies.length;
    this.hub.receive({ group: head.g, topic: head.o, clientId: head.c, epoch: head.e, first: head.s, time: head.t, kinds: head.k, bodies, instance: head.n, node: head.name });
  }

  // ---- the cluster changes ----------------------------------------------------------------

  /** A node left the directory: its confirmations are not awaited any more; a silent one leaves gaps. */
  onNodeGone(node: NodeEntry, why: GoneReason): void {
    for (const follow of this.follows.values()) {
      if (follow.waiting.delete(node.instance) && follow.waiting.size === 0) this.settle(follow);
    }
    if (why === 'silent') this.hub?.nodeLost(node.instance, node.name, node.groups);
    else this.hub?.nodeLeft(node.instance);
  }

  /** This node lost NATS: subscribers waiting start now (told so), followed topics get a gap. */
  onNatsLost(): void {
    for (const follow of this.follows.values()) this.settle(follow, true);
    this.hub?.natsLost();
  }

  /** The bridge stops. */
  close(): void {
    this.closed = true;
    for (const follow of this.follows.values()) {
      clearTimeout(follow.linger);
      this.settle(follow, true);
    }
  }
}
