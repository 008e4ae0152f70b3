/**
 * The messages pages and the bridge exchange over the page WebSocket: JSON text frames, each
 * holding one message or an array of messages (calls and results waiting for the same peer are
 * packed into one frame). docs/protocol.md describes the flow.
 */
import type { Json } from './codec.js';
import type { ErrorCode } from './errors.js';

/** Error detail a page reports when its function throws. */
export interface PageErrorPayload {
  /** Catalogue code when the failure is not the function's own (ACTION_NOT_FOUND, RESULT_TOO_LARGE...). */
  code?: ErrorCode;
  /** The thrown error's `name` (`TypeError`...). */
  name: string;
  /** The thrown error's message. */
  message: string;
  /** The page's stack trace, when it has one. */
  stack?: string;
}

/** Where a client runs: a tab's top document, a child frame, or a dedicated worker. */
export type ClientContext = 'top' | 'frame' | 'worker';

/** Every client context, for guards and listings. */
export const CLIENT_CONTEXTS: readonly ClientContext[] = ['top', 'frame', 'worker'];

/** Page → bridge, first message: who the page is and what it offers. */
export interface HelloMessage {
  type: 'hello';
  /** Protocol version the page speaks. */
  v: number;
  /** Group the page joins. */
  group: string;
  /** Client id the page had before (kept across reloads); the bridge assigns one when absent. */
  clientId?: string;
  /** Shared secret when the bridge requires one. */
  token?: string;
  /** The page key (or a group-scoped key): proof that the user put this page there. */
  key?: string;
  /** The resume secret an earlier welcome gave `clientId`; without it a reused id is not granted. */
  resume?: string;
  /** Where the client runs (absent: `top`). */
  context?: ClientContext;
  /** `location.href` of the page. */
  url: string;
  /** `document.title` of the page. */
  title: string;
  /** Names of the functions the page registered. */
  actions: string[];
}

/** Page → bridge: the function list, URL or title changed. */
export interface UpdateMessage {
  type: 'update';
  actions?: string[];
  url?: string;
  title?: string;
}

/** Page → bridge: a call finished. */
export type ResultMessage =
  | { type: 'result'; id: string; ok: true; value: Json }
  | { type: 'result'; id: string; ok: false; error: PageErrorPayload };

/** A failure that takes an event's place in a stream (a tap's `decode` threw, or what it returned cannot be sent). */
export interface EventError {
  /** Where it goes: before `items[at]` (`at` = `items.length`: after the last item). */
  at: number;
  error: PageErrorPayload;
}

/**
 * Page → bridge: values published to a topic (`pagecall.emit`, taps), in the order they were
 * emitted; one message per topic and flush. docs/streams.md describes the stream.
 */
export interface EventsMessage {
  type: 'events';
  /** Topic the values were published to. */
  topic: string;
  /** The values, codec-encoded, oldest first. */
  items: Json[];
  /** Failures in between the items, in order (`at` never decreases). */
  errors?: EventError[];
  /** Events of this topic the page dropped (oldest first) since its last message, because its buffer was full. */
  dropped?: number;
}

/** Page → bridge: answer to a ping, sent by the page's main thread (so a frozen page stays silent). */
export interface PongMessage {
  type: 'pong';
  t: number;
}

/** Bridge → page: the hello was accepted. */
export interface WelcomeMessage {
  type: 'welcome';
  v: number;
  /** The client id to keep (the page's own, or a new one). */
  clientId: string;
  group: string;
  /** The bridge pings this often; silence for three intervals means the link is dead. */
  heartbeatMs: number;
  /** Largest frame the bridge accepts; the page reports bigger results as RESULT_TOO_LARGE. */
  maxFrameBytes: number;
  /** True when the bridge was started with --allow-eval; pages refuse `$eval` otherwise. */
  allowEval?: boolean;
  /** Secret to send as `resume` with this client id when reconnecting (kept with the id). */
  resume?: string;
}

/** Bridge → page: run a function. */
export interface InvokeMessage {
  type: 'invoke';
  /** Call id; the result must carry it back. */
  id: string;
  action: string;
  /** Arguments, codec-encoded, spread into the function. */
  args: Json[];
  /** Milliseconds left before the caller gives up; the page aborts the call's signal then. */
  timeoutMs: number;
}

/** Bridge → page: the caller gave up on a call (timeout, caller gone, shutdown). */
export interface CancelMessage {
  type: 'cancel';
  id: string;
  /** The code the call settled with: TIMEOUT, CANCELLED or SHUTTING_DOWN. */
  reason: ErrorCode;
}

/** Bridge → page: liveness probe; the page answers with a pong carrying the same `t`. */
export interface PingMessage {
  type: 'ping';
  t: number;
}

/** Bridge → page: something the page sent was refused; sent before a close when fatal. */
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
}

/** Built-in action every page supports: run a code string (only when the bridge allows eval). */
export const EVAL_ACTION = '$eval';

/** Messages a page sends. */
export type PageMessage = HelloMessage | UpdateMessage | ResultMessage | PongMessage | EventsMessage;

/** Messages the bridge sends. */
export type BridgeMessage = WelcomeMessage | InvokeMessage | CancelMessage | PingMessage | ErrorMessage;

// Close codes live in their own table; re-exported here for code that imports them with the messages.
export { CLOSE_CODES, FINAL_CLOSE_CODES } from './close-codes.js';
