/**
 * Prometheus metrics for GET /metrics, with prom-client. Each bridge has its own registry (several
 * bridges in one process do not clash); process metrics describe the process, so they live in one
 * shared registry appended to every bridge's output. docs/metrics.md lists every metric.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PROTOCOL_VERSION, closeCodeLabel } from '../protocol/index.js';
import type { ClientRegistry } from './client-registry.js';
import type { Cluster } from './cluster/cluster.js';
import type { PageClient } from './page-client.js';
import type { HubCounters } from './page-hub.js';
import type { PendingCalls, SettledCall } from './pending-calls.js';
import type { StreamHub, TopicCounts } from './streams/stream-hub.js';

/** Distinct group/action label pairs kept; beyond that calls are counted under `_other`. */
export const MAX_ACTION_SERIES = 1_000;
/** Label value for calls past MAX_ACTION_SERIES. */
export const OTHER = '_other';

/** Call duration buckets, in seconds: sub-millisecond page calls up to the longest deadlines. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

let processRegistry: Registry | undefined;

/** Node process metrics (CPU, memory, event loop lag, GC…), collected once per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Counts of one group/action pair, kept as plain numbers: prom-client's own label children cost
 * about half a microsecond per update, too much for every call; they are read on scrape instead. */
interface ActionSeries {
  readonly group: string;
  readonly action: string;
  /** outcome (`ok` or an error code) → calls */
  readonly outcomes: Map<string, number>;
  /** calls per bucket (not cumulative); the last slot is +Inf */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

function newSeries(group: string, action: string): ActionSeries {
  return { group, action, outcomes: new Map(), buckets: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0, count: 0 };
}

/** A sample as prom-client's registry formats it. */
interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * The call-duration histogram as a prom-client metric: the registry asks it for samples on scrape
 * (the shape prom-client's own Histogram returns from get()), built from the series' plain counts.
 */
function durationHistogram(series: () => Iterable<ActionSeries>): object {
  const name = 'pagecall_call_duration_seconds';
  const help = 'Time from accepting a call to settling it (any outcome), in seconds.';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    get: async () => {
      const values: Sample[] = [];
      for (const s of series()) {
        const labels = { group: s.group, action: s.action };
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          values.push({ value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` });
        });
        values.push({ value: s.count, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` });
        values.push({ value: s.sum, labels, metricName: `${name}_sum` });
        values.push({ value: s.count, labels, metricName: `${name}_count` });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}

/** What the metrics read on scrape. */
export interface MetricsSources {
  registry: ClientRegistry;
  pending: PendingCalls;
  counters: HubCounters;
  subscribers: () => number;
  streams: StreamHub;
  version: string;
  /** The cluster membership, when the bridge is in one (its gauges exist only then). */
  cluster?: Cluster | null;
}

/** One bridge's metrics. */
export class BridgeMetrics {
  /** This bridge's registry (process metrics are added by render()). */
  readonly registry = new Registry();
  private readonly joins: Counter;
  private readonly leaves: Counter<'reason'>;
  /** group → action → counts. */
  private readonly series = new Map<string, Map<string, ActionSeries>>();
  /** The same series in creation order, for scrapes; the overflow series is last when it exists. */
  private readonly allSeries: ActionSeries[] = [];
  private overflow: ActionSeries | undefined;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const allSeries = this.allSeries;
    new Counter({
      name: 'pagecall_calls_total',
      help: 'Calls settled, by group, action and outcome (ok or an error code).',
      labelNames: ['group', 'action', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const s of allSeries) for (const [outcome, n] of s.outcomes) this.inc({ group: s.group, action: s.action, outcome }, n);
      },
    });
    this.registry.registerMetric(durationHistogram(() => allSeries) as Histogram);
    this.joins = new Counter({ name: 'pagecall_page_connections_total', help: 'Pages that joined (completed the handshake).', registers });
    this.leaves = new Counter({ name: 'pagecall_page_disconnections_total', help: 'Pages that left, by reason.', labelNames: ['reason'], registers });
    new Gauge({
      name: 'pagecall_pages',
      help: 'Connected pages, by group.',
      labelNames: ['group'],
      registers,
      collect() {
        this.reset();
        for (const group of sources.registry.groupNames()) this.set({ group }, sources.registry.list(group).length);
      },
    });
    new Gauge({ name: 'pagecall_calls_in_flight', help: 'Calls running in pages now.', registers, collect() { this.set(sources.pending.inFlight); } });
    new Gauge({ name: 'pagecall_calls_waiting', help: 'Calls waiting for a page with a free slot.', registers, collect() { this.set(sources.pending.waiting); } });
    const fromHub = (name: string, help: string, read: (c: HubCounters) => number): void => {
      new Counter({ name, help, registers, collect() { this.reset(); this.inc(read(sources.counters)); } });
    };
    const byDirection = (name: string, help: string, read: (c: HubCounters) => [number, number]): void => {
      new Counter({
        name,
        help,
        labelNames: ['direction'],
        registers,
        collect() {
          const [inbound, outbound] = read(sources.counters);
          this.reset();
          this.inc({ direction: 'in' }, inbound);
          this.inc({ direction: 'out' }, outbound);
        },
      });
    };
    byDirection('pagecall_ws_messages_total', 'Protocol messages exchanged with pages (several may share one frame).', (c) => [c.messagesIn, c.messagesOut]);
    byDirection('pagecall_ws_bytes_total', 'WebSocket payload bytes exchanged with pages.', (c) => [c.bytesIn, c.bytesOut]);
    fromHub('pagecall_ws_bad_frames_total', 'Invalid frames or messages received from pages.', (c) => c.badFrames);
    fromHub('pagecall_ws_ignored_results_total', 'Results nobody waited for (late after a timeout, or not the page\'s call).', (c) => c.ignoredResults);
    fromHub('pagecall_ws_results_passed_through_total', 'Results whose value went to the caller as the page sent it, checked but not parsed (large results, docs/protocol.md).', (c) => c.passedThrough);
    const { streams } = sources;
    const perTopic = (name: string, help: string, read: (c: TopicCounts) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['group', 'topic'],
        registers,
        collect() {
          this.reset();
          for (const c of streams.allCounts()) this.inc({ group: c.group, topic: c.topic }, read(c));
        },
      });
    };
    perTopic('pagecall_stream_events_total', 'Values pages published, by group and topic.', (c) => c.events);
    perTopic('pagecall_stream_errors_total', "Error events pages published (a tap's decode failed), by group and topic.", (c) => c.errors);
    perTopic('pagecall_stream_page_dropped_total', 'Events pages dropped before sending them (they emitted faster than they could send), by group and topic.', (c) => c.droppedByPages);
    perTopic('pagecall_stream_subscriber_missed_total', 'Entries slow subscribers missed (they fell behind the history), by group and topic.', (c) => c.missedBySubscribers);
    new Gauge({
      name: 'pagecall_stream_subscribers',
      help: 'Open GET /v1/stream subscriptions (SSE, NDJSON and WebSocket), by group and topic.',
      labelNames: ['group', 'topic'],
      registers,
      collect() {
        this.reset();
        for (const t of streams.subscriberCounts()) this.set({ group: t.group, topic: t.topic }, t.subscribers);
      },
    });
    new Gauge({ name: 'pagecall_stream_topics', help: 'Stream topics kept now (with their history).', registers, collect() { this.set(streams.topicCount); } });
    new Gauge({ name: 'pagecall_event_subscribers', help: 'Open GET /v1/events streams (dashboards).', registers, collect() { this.set(sources.subscribers()); } });
    new Gauge({ name: 'pagecall_info', help: 'Always 1; labels carry the bridge version and protocol version.', labelNames: ['version', 'protocol'], registers }).set({ version: sources.version, protocol: String(PROTOCOL_VERSION) }, 1);
    const cluster = sources.cluster;
    if (cluster) {
      new Gauge({ name: 'pagecall_cluster_nats_connected', help: '1 while this node is connected to NATS, else 0 (it serves its own pages only).', registers, collect() { this.set(cluster.connected ? 1 : 0); } });
      new Gauge({ name: 'pagecall_cluster_nodes', help: 'Nodes of the cluster this node hears, itself included.', registers, collect() { this.set(cluster.status().nodes.length); } });
      new Gauge({ name: 'pagecall_cluster_calls_out', help: "This node's calls running on other nodes now.", registers, collect() { this.set(cluster.callsInFlight.out); } });
      new Gauge({ name: 'pagecall_cluster_calls_in', help: "Other nodes' calls running on this node's pages now.", registers, collect() { this.set(cluster.callsInFlight.in); } });
      new Counter({ name: 'pagecall_cluster_calls_lost_total', help: 'Calls lost with the node running them (it died, was cut off, or this node lost NATS); each was retried or failed with CLIENT_DISCONNECTED.', registers, collect() { this.reset(); this.inc(cluster.lostCalls); } });
      perTopic('pagecall_stream_remote_events_total', "Values other nodes' pages published that reached this node (while it followed the topic), by group and topic.", (c) => c.remoteEvents);
      new Gauge({
        name: 'pagecall_stream_remote_publishers',
        help: "Other nodes' pages publishing to a topic this node follows, by group and topic.",
        labelNames: ['group', 'topic'],
        registers,
        collect() {
          this.reset();
          for (const t of streams.summaries()) if (t.remotePublishers > 0) this.set({ group: t.group, topic: t.topic }, t.remotePublishers);
        },
      });
      const relay = cluster.streams;
      new Gauge({ name: 'pagecall_cluster_stream_topics_followed', help: 'Stream topics this node follows (other nodes send it their entries): those with subscribers here, and for a minute after the last one left.', registers, collect() { this.set(relay.followed); } });
      new Counter({ name: 'pagecall_cluster_stream_entries_sent_total', help: "Stream entries of this node's pages sent to other nodes (only while one follows the topic).", registers, collect() { this.reset(); this.inc(relay.sent); } });
      new Counter({ name: 'pagecall_cluster_stream_entries_received_total', help: "Stream entries of other nodes' pages received.", registers, collect() { this.reset(); this.inc(relay.received); } });
    }
    processMetrics();
  }

  /** Hook: a call settled. Plain number updates: two map lookups, a bucket scan, no allocation. */
  onSettled(call: SettledCall): void {
    const series = this.seriesFor(call.group, call.action);
    const outcome = call.error ? call.error.code : 'ok';
    series.outcomes.set(outcome, (series.outcomes.get(outcome) ?? 0) + 1);
    const seconds = call.durationMs / 1000;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    series.buckets[i]!++;
    series.sum += seconds;
    series.count++;
  }

  /** Hook: a page joined. */
  onJoin(_client: PageClient): void {
    this.joins.inc();
  }

  /** Hook: a page left with a WebSocket close code. */
  onLeave(_client: PageClient, code: number): void {
    this.leaves.inc({ reason: closeCodeLabel(code) });
  }

  /** The Prometheus text exposition: this bridge's metrics, then the process's. */
  async render(): Promise<string> {
    const [own, proc] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return `${own}\n${proc}`;
  }

  /** The content type of render()'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private seriesFor(group: string, action: string): ActionSeries {
    let actions = this.series.get(group);
    const found = actions?.get(action);
    if (found) return found;
    if (this.allSeries.length - (this.overflow ? 1 : 0) >= MAX_ACTION_SERIES) {
      if (!this.overflow) {
        this.overflow = newSeries(OTHER, OTHER);
        this.allSeries.push(this.overflow);
      }
      return this.overflow;
    }
    if (!actions) {
      actions = new Map();
      this.series.set(group, actions);
    }
    const created = newSeries(group, action);
    actions.set(action, created);
    this.allSeries.push(created);
    return created;
  }
}
