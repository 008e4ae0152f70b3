/**
 * One bridge's membership in a cluster over NATS (`--nats`): the connection and its states, the
 * heartbeat, the directory of other nodes, the forwarder (calls out) and the responder (calls in),
 * the cluster-wide listing and kicks, and the stream relay (page events to other nodes' stream
 * subscribers, stream-relay.ts). docs/cluster.md explains the
 * design; bridge/cluster/subjects.ts lists the subjects.
 *
 * Without NATS (not reachable yet, or lost) the node serves its own pages as a single bridge
 * would and keeps reconnecting; /health, GET /v1/cluster and the dashboard say so.
 */
import { performance } from 'node:perf_hooks';
import { connect, type ConnectionOptions, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { nanoid } from 'nanoid';
import type { ClientRegistry } from '../client-registry.js';
import type { BridgeConfig } from '../config.js';
import type { PageView } from '../dashboard/events.js';
import type { Logger } from '../logger.js';
import type { ClientInfo, PageClient } from '../page-client.js';
import type { PendingCalls } from '../pending-calls.js';
import { MISSED_BEATS, NodeDirectory, type GoneReason, type NodeEntry } from './directory.js';
import { Forwarder, type Link } from './forwarder.js';
import { natsConnectOptions } from './nats-options.js';
import { Responder, type Subscriber } from './responder.js';
import { StreamRelay } from './stream-relay.js';
import { Subjects } from './subjects.js';
import { CLUSTER_PROTOCOL, readHeartbeat, readListAnswer, readListRequest, type HeartbeatMessage } from './wire.js';

/** Where this node stands with NATS. */
export type NatsState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** One node as GET /v1/cluster and the dashboard list it. */
export interface ClusterNodeView {
  node: string;
  /** Its instance id (a restarted node has a new one). */
  instance: string;
  url: string;
  version: string;
  pages: number;
  /** This node. */
  self: boolean;
  /** Milliseconds since it was last heard from (0 for this node). */
  lastSeenMs: number;
}

/** The cluster as this node sees it. */
export interface ClusterStatus {
  node: string;
  instance: string;
  nats: NatsState;
  /** The NATS server this node is connected to (no credentials), or null. */
  server: string | null;
  /** When `nats` last changed, ISO time. */
  since: string;
  /** Why the last connection attempt or connection failed, if it did. */
  error: string | null;
  /** This node first, then the others it hears, by name. */
  nodes: ClusterNodeView[];
}

/** A page as the cluster-wide listing has it: with the node that holds it. */
export type ClusterClientInfo = ClientInfo & { node: string };

/** A cluster-wide listing: every node's pages, and the nodes that did not answer in time. */
export interface ClusterListing<T> {
  items: T[];
  /** Nodes heard from (heartbeats) that did not answer the listing. */
  missing: string[];
}

/** How long a listing waits for the other nodes. */
const LIST_WAIT_MS = 1_500;
/** How long a kick waits for the node holding the page. */
const KICK_WAIT_MS = 2_000;
/** Budget for the groups and actions one heartbeat carries, in characters. */
const HEARTBEAT_BUDGET = 32 * 1024;
/** How soon after its pages change a node announces it. */
const CHANGE_BEAT_MS = 50;
/** Longest wait between attempts to connect (from 1 s, doubling), before the first connection or after one closed for good. */
const MAX_CONNECT_WAIT_MS = 5_000;

/** What the cluster needs of its bridge. */
export interface ClusterDeps {
  readonly config: BridgeConfig;
  readonly registry: ClientRegistry;
  readonly pending: PendingCalls;
  readonly log: Logger;
  readonly version: string;
  /** Kicks a page of this node; false when it is not here. */
  readonly kick: (clientId: string) => boolean;
  /** This node's pages as the dashboard shows them. */
  readonly pageViews: () => PageView[];
}

/** A node of a cluster. */
export class Cluster {
  readonly instance = nanoid(12);
  readonly name: string;
  readonly subjects: Subjects;
  private readonly directory: NodeDirectory;
  private readonly forwarder: Forwarder;
  private readonly responder: Responder;
  private readonly options: ConnectionOptions;
  private readonly startedAt = Date.now();
  private nc: NatsConnection | null = null;
  private state: NatsState = 'connecting';
  private stateSince = Date.now();
  private lastError: string | null = null;
  private url = '';
  private closing = false;
  private timers: NodeJS.Timeout[] = [];
  private changeBeat: NodeJS.Timeout | undefined;
  /** performance.now() of the last beat, to notice this process stalling. */
  private lastBeat = 0;
  private retry: NodeJS.Timeout | undefined;
  private connectWaitMs = 1_000;
  private readonly eventListeners = new Set<{ subject: string; onMessage: (data: Uint8Array) => void; sub: Subscription | null }>();
  private readonly warnedNames = new Set<string>();
  private listSeq = 0;
  /** Listings waiting for other nodes' answers, by number. */
  private readonly listings = new Map<string, { waiting: Set<string>; parts: Map<string, number>; items: unknown[]; done: () => void }>();
  /** The heartbeat's groups and actions, rebuilt after this node's pages change. */
  private announced: { groups: Record<string, string[]>; more: boolean } | null = null;
  private readonly link: Link;
  /** Stream topics across the cluster: the stream hub attaches to it. */
  readonly streams: StreamRelay;

  constructor(private readonly deps: ClusterDeps) {
    const { config, log, pending, registry } = deps;
    this.name = config.node!;
    this.subjects = new Subjects(config.natsPrefix);
    this.options = natsConnectOptions(config, this.name);
    this.directory = new NodeDirectory((node, why) => this.onNodeGone(node, why), config.clusterHeartbeatMs);
    // The link's getters have their own `this`: they read the cluster through `self`.
    const self = this;
    this.link = {
      get ready() {
        return self.state === 'connected' && self.nc !== null;
      },
      get maxPayload() {
        return self.nc?.info?.max_payload ?? 1024 * 1024;
      },
      publish(subject, payload, reply) {
        self.nc!.publish(subject, payload, reply === undefined ? undefined : { reply });
      },
    };
    const common = { instance: this.instance, name: this.name, link: this.link, subjects: this.subjects, directory: this.directory, pending, log };
    this.forwarder = new Forwarder({ ...common, registry, lossAfterMs: config.clusterHeartbeatMs * MISSED_BEATS });
    this.responder = new Responder({
      ...common,
      config,
      kick: deps.kick,
      changed: () => {
        this.announced = null;
        this.soonBeat();
      },
    });
    pending.attach(this.forwarder);
    this.streams = new StreamRelay({
      instance: this.instance,
      name: this.name,
      link: this.link,
      subjects: this.subjects,
      directory: this.directory,
      log,
      heartbeatMs: config.clusterHeartbeatMs,
      subscribe: (subject, onMessage) => this.subscribeEvents(subject, onMessage),
      changed: () => this.soonBeat(),
    });
  }

  /** Starts joining: connects in the background (the bridge serves its own pages meanwhile). */
  start(url: string): void {
    this.url = url;
    const { clusterHeartbeatMs } = this.deps.config;
    const beat = setInterval(() => this.beat(), clusterHeartbeatMs);
    const ack = setInterval(() => this.responder.tick(), Math.max(25, Math.min(250, Math.floor(clusterHeartbeatMs / 4))));
    beat.unref();
    ack.unref();
    this.timers.push(beat, ack);
    void this.connectLoop();
  }

  /** The cluster as this node sees it. */
  status(): ClusterStatus {
    const now = performance.now();
    const self: ClusterNodeView = { node: this.name, instance: this.instance, url: this.url, version: this.deps.version, pages: this.deps.registry.size, self: true, lastSeenMs: 0 };
    const others = this.directory
      .list()
      .filter((n) => n.announced)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n): ClusterNodeView => ({ node: n.name, instance: n.instance, url: n.url, version: n.version, pages: n.pages, self: false, lastSeenMs: Math.round(now - n.lastSeen) }));
    return {
      node: this.name,
      instance: this.instance,
      nats: this.state,
      server: this.state === 'connected' && this.nc ? this.nc.getServer() : null,
      since: new Date(this.stateSince).toISOString(),
      error: this.lastError,
      nodes: [self, ...others],
    };
  }

  /** Whether calls can go to other nodes now. */
  get connected(): boolean {
    return this.link.ready;
  }

  /** Calls lost with the node running them, since start. */
  get lostCalls(): number {
    return this.forwarder.lost;
  }

  /** Calls this node has out on other nodes, and other nodes' calls running here (leak checks). */
  get callsInFlight(): { out: number; in: number } {
    return { out: this.forwarder.size, in: this.responder.running };
  }

  /** Hook: a page joined this node. */
  onJoin(client: PageClient): void {
    this.responder.onJoin(client);
  }

  /** Hook: a page of this node changed its functions, URL or title. */
  onChange(client: PageClient): void {
    this.responder.onChange(client);
  }

  /** Hook: a page left this node. */
  onLeave(client: PageClient): void {
    this.responder.onLeave(client);
  }

  /** Every node's pages for GET /v1/clients, each with its node (`group` filters). */
  async listClients(local: ClientInfo[], group?: string): Promise<ClusterListing<ClusterClientInfo>> {
    const mine = local.map((c) => ({ ...c, node: this.name }));
    const remote = await this.gather<ClusterClientInfo>('clients', group);
    return { items: [...mine, ...remote.items], missing: remote.missing };
  }

  /** Other nodes' pages as the dashboard shows them. */
  remotePageViews(): Promise<ClusterListing<PageView>> {
    return this.gather<PageView>('pages');
  }

  /** Kicks a page held by another node; false when no node has it. */
  async kick(clientId: string): Promise<boolean> {
    const nc = this.nc;
    if (!nc || !this.link.ready) return false;
    try {
      const reply = await nc.request(this.subjects.client(clientId), JSON.stringify({ v: CLUSTER_PROTOCOL, kick: clientId }), { timeout: KICK_WAIT_MS });
      return (JSON.parse(reply.string()) as { kicked?: unknown }).kicked === true;
    } catch {
      return false;
    }
  }

  /**
   * Subscribes to a subject of stream entries (stream-relay.ts) until the returned function is
   * called; the subscription survives reconnects and is made again on a new connection.
   */
  private subscribeEvents(subject: string, onMessage: (data: Uint8Array) => void): () => void {
    const listener = { subject, onMessage, sub: null as Subscription | null };
    this.eventListeners.add(listener);
    if (this.nc) listener.sub = this.subscribeEventsOn(this.nc, listener);
    return () => {
      this.eventListeners.delete(listener);
      listener.sub?.unsubscribe();
    };
  }

  /** Stops taking other nodes' calls (shutdown, before this node drains its own). */
  stopServing(): void {
    this.responder.stopServing();
  }

  /** Says bye and closes the connection. */
  async close(): Promise<void> {
    this.closing = true;
    this.streams.close();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.changeBeat);
    clearTimeout(this.retry);
    // Answers of calls the shutdown just ended go first, so their callers' nodes retry them elsewhere.
    if (this.link.ready) this.responder.flushNow();
    const nc = this.nc;
    this.nc = null;
    if (nc && !nc.isClosed()) {
      if (this.state === 'connected') nc.publish(this.subjects.heartbeat, JSON.stringify(this.heartbeat(true)));
      await Promise.race([nc.drain().catch(() => nc.close()), new Promise((r) => setTimeout(r, 2_000).unref())]);
      if (!nc.isClosed()) await nc.close().catch(() => {});
    }
    this.setState('closed', null);
  }

  // ---- connection -------------------------------------------------------------------------

  private async connectLoop(): Promise<void> {
    const { log } = this.deps;
    let nc: NatsConnection;
    try {
      nc = await connect(this.options);
    } catch (error) {
      if (this.closing) return;
      const message = (error as Error).message;
      // Said once per new reason, not at every attempt of a long outage.
      if (message !== this.lastError) log.error({ err: message, servers: this.deps.config.nats.length }, "cluster: could not connect to NATS; serving this node's pages only, trying again");
      this.lastError = message;
      this.retryConnect();
      return;
    }
    if (this.closing) {
      await nc.close();
      return;
    }
    this.connectWaitMs = 1_000;
    this.nc = nc;
    this.setup(nc);
    this.setState('connected', null);
    log.info({ node: this.name, server: nc.getServer() }, 'cluster: joined over NATS');
    this.beat(true);
    void this.watch(nc);
    void nc.closed().then((error) => {
      if (this.closing || this.nc !== nc) return;
      this.nc = null;
      this.lastError = error ? error.message : 'the NATS connection closed';
      this.lost();
      this.setState('reconnecting', this.lastError);
      log.error({ err: this.lastError }, "cluster: NATS connection closed; serving this node's pages only, connecting again");
      this.retryConnect();
    });
  }

  /** The next attempt, 1 s after a failure and doubling to MAX_CONNECT_WAIT_MS, with jitter; never keeps the process alive. */
  private retryConnect(): void {
    const wait = this.connectWaitMs * (0.75 + Math.random() / 2);
    this.connectWaitMs = Math.min(MAX_CONNECT_WAIT_MS, this.connectWaitMs * 2);
    this.retry = setTimeout(() => void this.connectLoop(), wait);
    this.retry.unref();
  }

  private async watch(nc: NatsConnection): Promise<void> {
    const { log } = this.deps;
    for await (const s of nc.status()) {
      if (this.nc !== nc || this.closing) return;
      switch (s.type) {
        case 'disconnect':
          if (this.state !== 'connected') break;
          this.lost();
          this.setState('reconnecting', null);
          log.warn({ server: s.server }, 'cluster: lost NATS; serving this node\'s pages only until it is back');
          break;
        case 'reconnect':
          this.setState('connected', null);
          log.info({ server: s.server }, 'cluster: NATS is back; rejoined');
          this.beat(true);
          break;
        case 'error':
          this.lastError = s.error.message;
          log.warn({ err: s.error.message }, 'cluster: NATS reported an error');
          break;
        default:
          break;
      }
    }
  }

  /** Subscriptions of a new connection (a reconnect keeps them). */
  private setup(nc: NatsConnection): void {
    const { subjects, instance, forwarder, responder } = this;
    const onError = (what: string) => (error: Error | null): boolean => {
      if (!error) return false;
      this.deps.log.warn({ err: error.message, subject: what }, 'cluster: subscription error');
      return true;
    };
    const replies = onError('replies');
    const listingAt = subjects.replyPrefix(instance).length;
    nc.subscribe(subjects.replies(instance), {
      callback: (error, m) => {
        if (replies(error)) return;
        const kind = m.subject.charCodeAt(listingAt);
        const status = m.headers?.hasError ? m.headers.code : undefined;
        if (kind === 76 /* L */) this.onListAnswer(m);
        else if (kind === 73 /* I */) this.streams.onAck(m.subject.slice(listingAt), m.data, status);
        else forwarder.onReply({ subject: m.subject, data: m.data, status });
      },
    });
    const plain = (subject: string, handler: (m: Msg) => void): void => {
      const failed = onError(subject);
      nc.subscribe(subject, {
        callback: (error, m) => {
          if (!failed(error)) handler(m);
        },
      });
    };
    plain(subjects.heartbeat, (m) => this.onHeartbeat(m));
    plain(subjects.list, (m) => this.onList(m));
    plain(subjects.cancel, (m) => responder.onCancel(m));
    plain(subjects.nodeCancel(instance), (m) => responder.onCancel(m));
    plain(subjects.interest, (m) => this.streams.onInterest(m.data, m.reply));
    const subscriber: Subscriber = {
      subscribe: (subject, queue, onMessage) => {
        const failed = onError(subject);
        const sub = nc.subscribe(subject, {
          ...(queue ? { queue } : {}),
          callback: (error, m) => {
            if (!failed(error)) onMessage(m);
          },
        });
        return { stop: () => void sub.drain().catch(() => sub.unsubscribe()) };
      },
    };
    responder.start(subscriber);
    for (const listener of this.eventListeners) listener.sub = this.subscribeEventsOn(nc, listener);
  }

  private subscribeEventsOn(nc: NatsConnection, listener: { subject: string; onMessage: (data: Uint8Array) => void }): Subscription {
    return nc.subscribe(listener.subject, {
      callback: (error, m) => {
        if (!error) listener.onMessage(m.data);
      },
    });
  }

  /** NATS is gone for now: calls out and in are failed or stopped; followed stream topics get a gap; the directory starts over. */
  private lost(): void {
    // Once per outage (a connection that closes after its disconnect comes here twice).
    if (this.state === 'connected') this.streams.onNatsLost();
    this.forwarder.onDisconnect();
    this.responder.onDisconnect();
    this.directory.clear();
  }

  private setState(state: NatsState, error: string | null): void {
    if (error !== null) this.lastError = error;
    if (state === 'connected') this.lastError = null;
    if (this.state === state) return;
    this.state = state;
    this.stateSince = Date.now();
  }

  // ---- heartbeats ---------------------------------------------------------------------------

  /**
   * Every interval: announce this node, forget silent nodes, fail calls nobody acknowledged. `probe`
   * (on connecting) asks every other node to announce itself at once.
   */
  private beat(probe = false): void {
    if (!this.link.ready) return;
    this.announce(probe);
    const now = performance.now();
    const stalled = now - this.lastBeat > this.deps.config.clusterHeartbeatMs * 2;
    this.lastBeat = now;
    // After this process itself stalled, heartbeats that arrived meanwhile are still unread: judge nobody this round.
    if (stalled) return;
    // In the check phase, after the poll phase has read whatever arrived while this timer waited.
    setImmediate(() => {
      if (!this.link.ready) return;
      this.directory.sweep();
      this.forwarder.sweep();
    });
  }

  private announce(probe: boolean): void {
    const beat = this.heartbeat(false);
    if (probe) beat.probe = true;
    try {
      this.nc!.publish(this.subjects.heartbeat, JSON.stringify(beat));
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: could not publish the heartbeat');
    }
  }

  /** A heartbeat soon after this node's pages changed, so other nodes' error messages are current. */
  private soonBeat(): void {
    if (this.changeBeat !== undefined || !this.link.ready) return;
    this.changeBeat = setTimeout(() => {
      this.changeBeat = undefined;
      if (this.link.ready) this.announce(false);
    }, CHANGE_BEAT_MS);
    this.changeBeat.unref();
  }

  private heartbeat(bye: boolean): HeartbeatMessage {
    const { registry, config, version } = this.deps;
    const { groups, more } = (this.announced ??= this.groupsAndActions());
    const beat: HeartbeatMessage = { v: CLUSTER_PROTOCOL, n: this.instance, name: this.name, url: this.url, version, since: this.startedAt, hb: config.clusterHeartbeatMs, pages: registry.size, groups };
    if (more) beat.more = true;
    const streams = bye ? undefined : this.streams.announced();
    if (streams) beat.streams = streams;
    if (bye) beat.bye = true;
    return beat;
  }

  /** This node's groups with the actions their pages registered, within HEARTBEAT_BUDGET. */
  private groupsAndActions(): { groups: Record<string, string[]>; more: boolean } {
    const { registry } = this.deps;
    const groups: Record<string, string[]> = {};
    let budget = HEARTBEAT_BUDGET;
    let more = false;
    for (const group of registry.groupNames().sort()) {
      const actions = new Set<string>();
      for (const client of registry.list(group)) for (const a of client.actions) actions.add(a);
      const list = [...actions].sort();
      const cost = group.length + list.reduce((n, a) => n + a.length + 3, 4);
      if (cost > budget) {
        more = true;
        continue;
      }
      budget -= cost;
      groups[group] = list;
    }
    return { groups, more };
  }

  private onHeartbeat(m: Msg): void {
    let beat: HeartbeatMessage;
    try {
      beat = readHeartbeat(m.data);
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: unreadable heartbeat');
      return;
    }
    if (beat.n === this.instance) return;
    const { node, isNew } = this.directory.heard(beat);
    if (beat.bye) return;
    if (beat.probe && this.link.ready) this.announce(false);
    if (isNew) {
      this.deps.log.info({ node: node.name, url: node.url, pages: node.pages }, 'cluster: node joined');
      if (node.name === this.name && !this.warnedNames.has(node.instance)) {
        this.warnedNames.add(node.instance);
        this.deps.log.warn({ node: node.name }, 'cluster: another node uses this node\'s name; give each node its own --node');
      }
    }
  }

  private onNodeGone(node: NodeEntry, why: GoneReason): void {
    const log = this.deps.log;
    if (why === 'left') log.info({ node: node.name }, 'cluster: node left');
    else log.warn({ node: node.name, silentMs: Math.round(performance.now() - node.lastSeen) }, 'cluster: node stopped answering; failing over its calls');
    this.forwarder.onNodeGone(node, why);
    this.responder.onNodeGone(node);
    this.streams.onNodeGone(node, why);
  }

  // ---- listing ------------------------------------------------------------------------------

  private onList(m: Msg): void {
    if (!m.reply) return;
    let request;
    try {
      request = readListRequest(m.data);
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: unreadable listing request');
      return;
    }
    const items: unknown[] = request.view === 'pages' ? this.deps.pageViews().map((p) => ({ ...p, node: this.name })) : this.deps.registry.list(request.group).map((c) => ({ ...c.info(), node: this.name }));
    // A node with thousands of pages answers in parts, each under the server's max_payload.
    const limit = this.link.maxPayload - 1024;
    const parts: string[][] = [[]];
    let bytes = 0;
    for (const item of items) {
      const text = JSON.stringify(item);
      const size = Buffer.byteLength(text) + 1;
      if (size > limit) continue;
      if (bytes + size > limit) {
        parts.push([]);
        bytes = 0;
      }
      parts[parts.length - 1]!.push(text);
      bytes += size;
    }
    const head = `{"v":${CLUSTER_PROTOCOL},"n":${JSON.stringify(this.instance)},"name":${JSON.stringify(this.name)},"parts":${parts.length}`;
    parts.forEach((part, i) => this.link.publish(m.reply!, `${head},"part":${i + 1},"items":[${part.join(',')}]}`));
  }

  /** A part of another node's answer to a listing of this node. */
  private onListAnswer(m: Msg): void {
    const listing = this.listings.get(m.subject.slice(m.subject.lastIndexOf('.') + 2));
    if (!listing) return;
    let answer;
    try {
      answer = readListAnswer(m.data);
    } catch (error) {
      this.deps.log.warn({ err: (error as Error).message }, 'cluster: unreadable listing answer');
      return;
    }
    this.directory.touch(answer.n, answer.name);
    const got = (listing.parts.get(answer.n) ?? 0) + 1;
    listing.parts.set(answer.n, got);
    listing.items.push(...answer.items);
    if (got >= answer.parts) {
      listing.waiting.delete(answer.n);
      if (listing.waiting.size === 0) listing.done();
    }
  }

  /** Asks every other node for its pages; waits for the nodes it knows of, at most LIST_WAIT_MS. */
  private gather<T>(view: 'clients' | 'pages', group?: string): Promise<ClusterListing<T>> {
    const known = this.directory.list().filter((n) => n.announced);
    if (!this.link.ready || known.length === 0) return Promise.resolve({ items: [], missing: [] });
    const request: Record<string, unknown> = { v: CLUSTER_PROTOCOL, view };
    if (group !== undefined) request.group = group;
    const key = String(++this.listSeq);
    return new Promise((resolve) => {
      const listing = {
        waiting: new Set(known.map((n) => n.instance)),
        parts: new Map<string, number>(),
        items: [] as unknown[],
        done: () => {
          clearTimeout(timer);
          this.listings.delete(key);
          // A node that left meanwhile is not missing, it is gone.
          const missing = known.filter((n) => listing.waiting.has(n.instance) && this.directory.get(n.instance)).map((n) => n.name);
          resolve({ items: listing.items as T[], missing });
        },
      };
      const timer = setTimeout(listing.done, LIST_WAIT_MS);
      this.listings.set(key, listing);
      try {
        this.link.publish(this.subjects.list, JSON.stringify(request), this.subjects.reply(this.instance, `L${key}`));
      } catch (error) {
        this.deps.log.warn({ err: (error as Error).message }, 'cluster: could not ask for the listing');
        listing.done();
      }
    });
  }
}
