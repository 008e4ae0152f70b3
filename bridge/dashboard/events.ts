/**
 * What GET /v1/events pushes (server-sent events, one JSON object per `data:` line). Shared by the
 * bridge and the dashboard's browser code, so it holds no Node or DOM types.
 */
import type { ErrorCode } from '../../protocol/errors.js';

/** A connected page as the dashboard shows it. */
export interface PageView {
  id: string;
  group: string;
  url: string;
  title: string;
  /** The page's origin, from its WebSocket handshake (null for programs that send none). */
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
  /** The error message (cut to 300 characters) when the call failed. */
  message?: string;
  /** Arguments and result as JSON text cut to 2,000 characters; only with --debug-capture. */
  args?: string;
  result?: string;
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
  totals: Totals;
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
  totals: Totals;
}

/** Any event on the stream. */
export type LiveEvent = SnapshotEvent | UpdateEvent;

/** Most entries kept in the recent-calls log. */
export const RECENT_CALLS = 200;
/** Seconds of throughput history kept. */
export const RATE_SECONDS = 120;
/** How often changes are pushed, in ms. */
export const PUSH_INTERVAL_MS = 500;
