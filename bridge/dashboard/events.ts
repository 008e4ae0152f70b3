/**
 * What GET /v1/events pushes (server-sent events, one JSON object per `data:` line). Shared by the
 * bridge and the dashboard's browser code, so it holds no Node or DOM types.
 */
import type { ErrorCode } from '../../protocol/errors.js';
import type { ClientContext } from '../../protocol/messages.js';

/** A cluster as the dashboard shows it (present only when the bridge is in one). */
export interface ClusterView {
  /** This node's name. */
  node: string;
  /** This node's connection to NATS: while it is not `connected`, only this node's pages are served. */
  nats: 'connecting' | 'connected' | 'reconnecting' | 'closed';
  /** When `nats` last changed, ISO time. */
  since: string;
  /** Why NATS was lost or refused, if it was. */
  error: string | null;
  /** This node first, then the others it hears. */
  nodes: Array<{ node: string; url: string; pages: number; self: boolean }>;
  /** Nodes that did not answer the last page listing (their pages are not shown). */
  missing: string[];
}

/** A connected page as the dashboard shows it. */
export interface PageView {
  id: string;
  group: string;
  url: string;
  title: string;
  /** Where the client runs: a tab's top document, a child frame, or a dedicated worker. */
  context: ClientContext;
  /** The Origin its socket came from (null when it sent none). */
  origin: string | null;
  /** True when the page joined without a key (allowed by --open-pages). */
  keyless: boolean;
  actions: string[];
  /** Epoch ms. */
  connectedAt: number;
  inFlight: number;
  /** Calls this page answered successfully. */
  served: number;
  /** Calls sent to this page that failed (page errors, timeouts, disconnects). */
  failed: number;
  /** Median and 99th percentile of the page's recent call durations (last 256 calls), in ms. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** The cluster node holding the page (only when the bridge is in a cluster). */
  node?: string;
}

/** One settled call in the recent-calls log. */
export interface CallView {
  /** Increases by one per settled call; lets a client see whether it missed some. */
  seq: number;
  /** Epoch ms when the call settled. */
  at: number;
  requestId: string | null;
  group: string;
  action: string;
  clientId: string | null;
  durationMs: number;
  /** `ok` or an error code. */
  outcome: 'ok' | ErrorCode;
  /** The other cluster node whose page answered (absent when a page of this node did). */
  node?: string;
  /** The error message (cut to 300 characters) when the call failed. */
  message?: string;
  /** Arguments and result as JSON text cut to 2,000 characters; only with --debug-capture. */
  args?: string;
  result?: string;
}

/** A stream topic (GET /v1/stream) as the dashboard shows it. */
export interface StreamView {
  group: string;
  topic: string;
  /** Open subscriptions. */
  subscribers: number;
  /** Subscribers that cannot keep up right now (waiting for their connection to drain). */
  behind: number;
  /** Connected pages that published to it. */
  publishers: number;
  /** In a cluster: other nodes' pages publishing to it (seen while this node follows the topic). */
  remotePublishers?: number;
  /** Values published. */
  events: number;
  /** In a cluster: values other nodes' pages published that reached this node. */
  remoteEvents?: number;
  /** Error events published (a tap's decode failed). */
  errors: number;
  /** Events pages dropped before sending them. */
  droppedByPages: number;
  /** Entries slow subscribers missed. */
  missedBySubscribers: number;
  /** Entries kept for resumes. */
  kept: number;
  /** Epoch ms of the last entry, or null. */
  lastAt: number | null;
}

/** Calls settled in one second. */
export interface RatePoint {
  /** Epoch ms at the end of the second. */
  t: number;
  ok: number;
  failed: number;
}

/** Bridge-wide numbers. */
export interface Totals {
  pages: number;
  inFlight: number;
  waiting: number;
  calls: number;
  failed: number;
}

/** The first event on a new stream: everything the dashboard needs to draw itself. */
export interface SnapshotEvent {
  type: 'snapshot';
  version: string;
  protocol: number;
  tokenRequired: boolean;
  /** Pages join without the page key (--open-pages): any website can join a group. */
  openPages: boolean;
  debugCapture: boolean;
  serverTime: number;
  pages: PageView[];
  /** Oldest first; at most 200. */
  calls: CallView[];
  /** Oldest first; the last 120 seconds. */
  rate: RatePoint[];
  /** Stream topics, by group and topic name. */
  streams: StreamView[];
  totals: Totals;
  cluster?: ClusterView;
}

/** What changed since the previous event; sent at most every 500 ms, and only when something did. */
export interface UpdateEvent {
  type: 'update';
  serverTime: number;
  /** Pages that joined or changed (replace by id). */
  pages: PageView[];
  /** Ids of pages that left. */
  gone: string[];
  /** Calls settled since the previous event, oldest first. */
  calls: CallView[];
  /** Seconds completed since the previous event. */
  rate: RatePoint[];
  /** Every stream topic, when anything about them changed since the previous event. */
  streams?: StreamView[];
  totals: Totals;
  /** The cluster, when it changed. */
  cluster?: ClusterView;
}

/** Any event on the stream. */
export type LiveEvent = SnapshotEvent | UpdateEvent;

/** Most entries kept in the recent-calls log. */
export const RECENT_CALLS = 200;
/** Seconds of throughput history kept. */
export const RATE_SECONDS = 120;
/** How often changes are pushed, in ms. */
export const PUSH_INTERVAL_MS = 500;
