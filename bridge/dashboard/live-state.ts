/**
 * What the dashboard shows, kept up to date from the bridge's hooks: per-page counters and recent
 * latencies, the recent-calls log and calls per second — all in fixed-size buffers — and the
 * server-sent-event subscribers that get a snapshot, then batched changes at most every 500 ms.
 *
 * The call hook runs for every call, so it only bumps counters and fills one ring slot; views and
 * JSON are built on the push timer, once for all subscribers, and only while someone listens.
 */
import type { ServerResponse } from 'node:http';
import { PROTOCOL_VERSION } from '../../protocol/index.js';
import type { ClientRegistry } from '../client-registry.js';
import type { Cluster } from '../cluster/cluster.js';
import type { BridgeConfig } from '../config.js';
import type { PageClient } from '../page-client.js';
import type { PendingCalls, SettledCall } from '../pending-calls.js';
import type { StreamHub } from '../streams/stream-hub.js';
import { PUSH_INTERVAL_MS, RATE_SECONDS, RECENT_CALLS, type CallView, type ClusterView, type LiveEvent, type PageView, type RatePoint, type SnapshotEvent, type StreamView, type Totals } from './events.js';

/** Durations kept per page for its quantiles. */
export const LATENCY_SAMPLES = 256;
const MESSAGE_CHARS = 300;
const CAPTURE_CHARS = 2_000;
/** A subscriber this far behind is dropped; its EventSource reconnects and gets a fresh snapshot. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;
/** How often other nodes' pages are fetched while someone watches. */
const REMOTE_REFRESH_MS = 1_000;

/** The last LATENCY_SAMPLES durations of one page, in a fixed ring. */
export class LatencyWindow {
  private readonly values = new Float64Array(LATENCY_SAMPLES);
  private count = 0;

  /** Records one duration. */
  add(ms: number): void {
    this.values[this.count % LATENCY_SAMPLES] = ms;
    this.count++;
  }

  /** The q-quantile (0..1, nearest rank) of the kept durations, or null when there are none. */
  quantiles(...qs: number[]): Array<number | null> {
    const n = Math.min(this.count, LATENCY_SAMPLES);
    if (n === 0) return qs.map(() => null);
    const sorted = this.values.slice(0, n).sort();
    return qs.map((q) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!);
  }
}

/** A fixed-capacity ring that keeps the newest items. */
export class Ring<T> {
  private readonly items: Array<T | undefined>;
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  /** Adds an item, evicting the oldest when full. */
  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** The items, oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out.push(this.items[(start + i) % this.capacity]!);
    return out;
  }

  /** The newest items matching `keep`, oldest first (scans from the newest end and stops early). */
  newestWhile(keep: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let i = 1; i <= this.size; i++) {
      const item = this.items[(this.next - i + this.capacity) % this.capacity]!;
      if (!keep(item)) break;
      out.push(item);
    }
    return out.reverse();
  }
}

interface PageRecord {
  readonly client: PageClient;
  served: number;
  failed: number;
  readonly latency: LatencyWindow;
  /** inFlight as last pushed, to notice changes the hooks do not report (calls starting). */
  pushedInFlight: number;
}

function preview(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = '[not serializable]';
  }
  text ??= 'undefined';
  return text.length > CAPTURE_CHARS ? `${text.slice(0, CAPTURE_CHARS)}…` : text;
}

/** Live dashboard state and its event stream. */
export class LiveState {
  private readonly pages = new Map<string, PageRecord>();
  private readonly dirty = new Set<string>();
  private gone: string[] = [];
  private readonly calls = new Ring<CallView>(RECENT_CALLS);
  private readonly rate = new Ring<RatePoint>(RATE_SECONDS);
  private unsentRate: RatePoint[] = [];
  private seq = 0;
  private pushedSeq = 0;
  private totalCalls = 0;
  private totalFailed = 0;
  private secondOk = 0;
  private secondFailed = 0;
  private pushedTotals = '';
  private pushedStreams = '';
  private lastWrite = 0;
  private readonly subscribers = new Set<ServerResponse>();
  private readonly sampler: NodeJS.Timeout;
  private pusher: NodeJS.Timeout | undefined;
  /** Other nodes' pages (cluster only), with their JSON to see what changed. */
  private readonly remote = new Map<string, { view: PageView; json: string }>();
  private remoteMissing: string[] = [];
  private remoteFetchedAt = 0;
  private remoteFetching = false;
  private pushedCluster = '';

  constructor(
    private readonly config: BridgeConfig,
    private readonly registry: ClientRegistry,
    private readonly pending: PendingCalls,
    private readonly version: string,
    private readonly streams: StreamHub,
    private readonly cluster: Cluster | null = null,
  ) {
    this.sampler = setInterval(() => this.sample(), 1_000);
    this.sampler.unref();
  }

  /** Number of open event streams. */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Hook: a page joined. */
  onJoin(client: PageClient): void {
    // A page that moved here from another node is this node's now.
    this.remote.delete(client.id);
    this.pages.set(client.id, { client, served: 0, failed: 0, latency: new LatencyWindow(), pushedInFlight: client.inFlight });
    this.dirty.add(client.id);
  }

  /** Hook: a page changed its functions, URL or title. */
  onChange(client: PageClient): void {
    this.dirty.add(client.id);
  }

  /** Hook: a page left. */
  onLeave(client: PageClient): void {
    if (this.pages.get(client.id)?.client !== client) return;
    this.pages.delete(client.id);
    this.dirty.delete(client.id);
    this.gone.push(client.id);
  }

  /** Hook: a call settled. Cheap: counters, one ring slot, no JSON unless debug capture is on. */
  onSettled(call: SettledCall): void {
    const error = call.error;
    this.totalCalls++;
    if (error) {
      this.totalFailed++;
      this.secondFailed++;
    } else {
      this.secondOk++;
    }
    if (call.clientId !== null) {
      const page = this.pages.get(call.clientId);
      if (page) {
        if (!error) page.served++;
        else if (error.code !== 'CANCELLED') page.failed++;
        page.latency.add(call.durationMs);
        this.dirty.add(call.clientId);
      }
    }
    const view: CallView = {
      seq: ++this.seq,
      at: Date.now(),
      requestId: call.requestId ?? null,
      group: call.group,
      action: call.action,
      clientId: call.clientId,
      durationMs: call.durationMs,
      outcome: error ? error.code : 'ok',
    };
    if (call.node !== null) view.node = call.node;
    if (error) view.message = error.message.length > MESSAGE_CHARS ? `${error.message.slice(0, MESSAGE_CHARS)}…` : error.message;
    if (this.config.debugCapture) {
      view.args = preview(call.args);
      if (!error) view.result = preview(call.value);
    }
    this.calls.push(view);
  }

  /** This node's pages as the dashboard shows them. */
  pageViews(): PageView[] {
    const pages: PageView[] = [];
    for (const page of this.pages.values()) pages.push(this.view(page));
    return pages;
  }

  /** Everything, as sent first on a new stream. */
  snapshot(): SnapshotEvent {
    const pages = this.pageViews();
    for (const { view } of this.remote.values()) pages.push(view);
    const snapshot: SnapshotEvent = {
      type: 'snapshot',
      version: this.version,
      protocol: PROTOCOL_VERSION,
      tokenRequired: this.config.token !== undefined,
      openPages: this.config.openPages && this.config.token === undefined,
      debugCapture: this.config.debugCapture,
      serverTime: Date.now(),
      pages,
      calls: this.calls.toArray(),
      rate: this.rate.toArray(),
      streams: this.streamViews(),
      totals: this.totals(),
    };
    if (this.cluster) snapshot.cluster = this.clusterView();
    return snapshot;
  }

  private streamViews(): StreamView[] {
    return this.streams
      .summaries()
      .map(({ group, topic, subscribers, behind, publishers, remotePublishers, events, remoteEvents, errors, droppedByPages, missedBySubscribers, kept, lastAt }): StreamView => {
        const view: StreamView = { group, topic, subscribers, behind, publishers, events, errors, droppedByPages, missedBySubscribers, kept, lastAt };
        if (this.cluster) Object.assign(view, { remotePublishers, remoteEvents });
        return view;
      })
      .sort((a, b) => (a.group === b.group ? (a.topic < b.topic ? -1 : 1) : a.group < b.group ? -1 : 1));
  }

  /** Turns a response into an event stream: a snapshot now, changes as they happen. */
  subscribe(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.subscribers.add(res);
    res.once('close', () => {
      this.subscribers.delete(res);
      if (this.subscribers.size === 0) this.stopPushing();
    });
    res.write(`retry: 2000\n\n${frame(this.snapshot())}`);
    if (!this.pusher) {
      // Changes from before anyone listened are in the snapshot already.
      this.dirty.clear();
      this.gone = [];
      this.unsentRate = [];
      this.pushedSeq = this.seq;
      this.pushedTotals = '';
      this.pushedCluster = '';
      this.pushedStreams = JSON.stringify(this.streamViews());
      this.lastWrite = Date.now();
      this.fetchRemote();
      this.pusher = setInterval(() => this.push(), PUSH_INTERVAL_MS);
      this.pusher.unref();
    }
  }

  /** Ends every stream and stops the timers. */
  close(): void {
    clearInterval(this.sampler);
    this.stopPushing();
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
  }

  private stopPushing(): void {
    clearInterval(this.pusher);
    this.pusher = undefined;
  }

  private totals(): Totals {
    return { pages: this.registry.size + this.remote.size, inFlight: this.pending.inFlight, waiting: this.pending.waiting, calls: this.totalCalls, failed: this.totalFailed };
  }

  private clusterView(): ClusterView {
    const status = this.cluster!.status();
    return {
      node: status.node,
      nats: status.nats,
      since: status.since,
      error: status.error,
      nodes: status.nodes.map((n) => ({ node: n.node, url: n.url, pages: n.pages, self: n.self })),
      missing: this.remoteMissing,
    };
  }

  /** Fetches other nodes' pages (cluster only), at most every REMOTE_REFRESH_MS, one fetch at a time. */
  private fetchRemote(): void {
    const cluster = this.cluster;
    if (!cluster || this.remoteFetching || Date.now() - this.remoteFetchedAt < REMOTE_REFRESH_MS) return;
    this.remoteFetching = true;
    cluster.remotePageViews().then(
      ({ items, missing }) => {
        this.remoteFetching = false;
        this.remoteFetchedAt = Date.now();
        this.remoteMissing = missing;
        const seen = new Set<string>();
        for (const view of items) {
          if (typeof view?.id !== 'string' || this.pages.has(view.id)) continue;
          seen.add(view.id);
          const json = JSON.stringify(view);
          if (this.remote.get(view.id)?.json === json) continue;
          this.remote.set(view.id, { view, json });
          this.dirty.add(view.id);
        }
        for (const id of [...this.remote.keys()]) {
          if (seen.has(id)) continue;
          this.remote.delete(id);
          this.dirty.delete(id);
          this.gone.push(id);
        }
      },
      () => {
        this.remoteFetching = false;
        this.remoteFetchedAt = Date.now();
      },
    );
  }

  private view(page: PageRecord): PageView {
    const { client } = page;
    const [p50, p99] = page.latency.quantiles(0.5, 0.99);
    page.pushedInFlight = client.inFlight;
    return {
      id: client.id,
      group: client.group,
      url: client.url,
      title: client.title,
      context: client.context,
      origin: client.origin,
      keyless: client.admission === 'open',
      actions: [...client.actions].sort(),
      connectedAt: client.connectedAt,
      inFlight: client.inFlight,
      served: page.served,
      failed: page.failed,
      p50Ms: p50 ?? null,
      p99Ms: p99 ?? null,
      ...(this.cluster ? { node: this.cluster.name } : {}),
    };
  }

  private sample(): void {
    const point: RatePoint = { t: Date.now(), ok: this.secondOk, failed: this.secondFailed };
    this.secondOk = 0;
    this.secondFailed = 0;
    this.rate.push(point);
    if (this.pusher) this.unsentRate.push(point);
  }

  private push(): void {
    // Calls starting are not reported by any hook; in-flight counts are compared here instead.
    for (const page of this.pages.values()) if (page.client.inFlight !== page.pushedInFlight) this.dirty.add(page.client.id);
    const totals = this.totals();
    const totalsText = `${totals.pages},${totals.inFlight},${totals.waiting},${totals.calls}`;
    const now = Date.now();
    this.fetchRemote();
    const cluster = this.cluster ? this.clusterView() : undefined;
    const clusterText = cluster ? JSON.stringify(cluster) : '';
    const streams = this.streamViews();
    const streamsText = JSON.stringify(streams);
    const streamsChanged = streamsText !== this.pushedStreams;
    const idle =
      !streamsChanged &&
      this.dirty.size === 0 &&
      this.gone.length === 0 &&
      this.seq === this.pushedSeq &&
      this.unsentRate.length === 0 &&
      totalsText === this.pushedTotals &&
      clusterText === this.pushedCluster;
    if (idle) {
      if (now - this.lastWrite >= KEEP_ALIVE_MS) this.broadcast(': keep-alive\n\n', now);
      return;
    }
    const pages: PageView[] = [];
    for (const id of this.dirty) {
      const page = this.pages.get(id);
      if (page) pages.push(this.view(page));
      else {
        const remote = this.remote.get(id);
        if (remote) pages.push(remote.view);
      }
    }
    const since = this.pushedSeq;
    const event: LiveEvent = {
      type: 'update',
      serverTime: now,
      pages,
      gone: this.gone,
      calls: this.seq === since ? [] : this.calls.newestWhile((c) => c.seq > since),
      rate: this.unsentRate,
      totals,
    };
    if (cluster && clusterText !== this.pushedCluster) event.cluster = cluster;
    this.pushedCluster = clusterText;
    if (streamsChanged) event.streams = streams;
    this.pushedStreams = streamsText;
    this.dirty.clear();
    this.gone = [];
    this.unsentRate = [];
    this.pushedSeq = this.seq;
    this.pushedTotals = totalsText;
    this.broadcast(frame(event), now);
  }

  private broadcast(text: string, now: number): void {
    this.lastWrite = now;
    for (const res of this.subscribers) {
      if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
      else res.write(text);
    }
  }
}

function frame(event: LiveEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
