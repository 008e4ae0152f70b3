/** Public types of the page API. */
import type { Hook, HookOptions } from './hook.js';
import type { WebpackHelpers } from './webpack/types.js';

export type { Capture, Hook, HookOptions } from './hook.js';

export type {
  FindOptions,
  WaitForOptions,
  WebpackBundleStatus,
  WebpackHelpers,
  WebpackMatch,
  WebpackModule,
  WebpackQuery,
  WebpackQueryObject,
  WebpackRequire,
  WebpackResult,
  WebpackStatus,
  WebpackTest,
} from './webpack/types.js';

/** Where and how to connect. */
export interface ConnectOptions {
  /** Bridge WebSocket URL, e.g. `ws://127.0.0.1:12180/v1/ws`. */
  url: string;
  /** Group this page joins. */
  group: string;
  /** Shared secret, when the bridge requires one. */
  token?: string;
  /** The page key (or a group-scoped key) that admits this page to the bridge. */
  key?: string;
  /** Client id to use instead of the one kept in sessionStorage. */
  clientId?: string;
}

/** What a page function sees as `this` while it runs a call. */
export interface CallContext {
  /** The call id. */
  readonly id: string;
  /** The action name the call was made to. */
  readonly action: string;
  /** Aborted when the call's deadline passes, the caller cancels, or the connection drops. */
  readonly signal: AbortSignal;
  /** When the caller gives up, in epoch milliseconds. */
  readonly deadline: number;
}

/** A function pages register: called with the call's arguments, `this` being the call context. */
export type PageFunction = (this: CallContext, ...args: never[]) => unknown;

/** How Long objects and bigints in a function's results leave the page (docs/protocol.md, "64-bit integers"). */
export type LongsMode = 'bigint' | 'string' | 'number';

/** What `$bigint` arguments arrive as (docs/protocol.md, "64-bit integers"). */
export type BigintsMode = 'bigint' | 'string' | 'long';

/** A Long class: long.js's, which protobuf.js uses as `protobuf.util.Long`. */
export interface LongClass {
  /** Makes a Long of two 32-bit halves. */
  fromBits?(low: number, high: number, unsigned?: boolean): unknown;
  new (low: number, high: number, unsigned?: boolean): unknown;
}

/** Options of `register` and `expose`: how the function's 64-bit integers travel. */
export interface FunctionOptions {
  /**
   * How Long objects (protobuf.js `toObject()` output) and bigints in results leave the page:
   * `'bigint'` (default) as `{"$bigint": "…"}` (Python int, Node bigint), `'string'` as decimal
   * strings, `'number'` as numbers when exact (within ±(2^53 − 1)), else as `$bigint`.
   */
  longs?: LongsMode;
  /**
   * What `$bigint` arguments arrive as: `'bigint'` (default), `'string'` (decimal; protobuf.js takes
   * these for 64-bit fields), or `'long'` (a Long of the page's own class, found by pagecall or given
   * as `Long`). protobuf.js encodes a bigint as 0, so functions that hand arguments to it want one
   * of the other two.
   */
  bigints?: BigintsMode;
  /** The Long class to build Longs with, for `bigints: 'long'` (default: found on the page). */
  Long?: LongClass;
}

/** Connection state as reported by `status()`. */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why the last connection attempt failed or the connection ended. */
export type FailureReason =
  | 'bridge-not-running'
  | 'local-network-access'
  | 'csp'
  | 'unauthorized'
  | 'kicked'
  | 'replaced'
  | 'protocol-mismatch'
  | 'closed';

/** The last failure, with a message saying what to do about it. */
export interface LastError {
  reason: FailureReason;
  message: string;
}

/** Snapshot returned by `status()`. */
export interface PagecallStatus {
  state: ConnectionState;
  /** Bridge URL from the last `connect()`, or null before any. */
  url: string | null;
  /** Group from the last `connect()`, or null before any. */
  group: string | null;
  /** Client id in use (assigned by the bridge once welcomed), or null. */
  clientId: string | null;
  /** Registered action names. */
  actions: string[];
  /** Calls running now. */
  inFlight: number;
  /** How many times a connection was welcomed. */
  connects: number;
  /** The last failure since the last successful connect, with what to do about it. */
  lastError?: LastError;
  /** While reconnecting: when the next attempt starts, in epoch milliseconds. */
  retryAt?: number;
  /** Published events: emitted, sent, dropped and waiting (docs/streams.md). */
  events: EventStats;
}

/** Counters of `status().events`: what `emit` and taps published. */
export interface EventStats {
  /** Values and errors published since the injector loaded. */
  emitted: number;
  /** Handed to the connection. */
  sent: number;
  /** Dropped because the queue was full (oldest first), or because one event was larger than a frame. */
  dropped: number;
  /** Waiting to be sent now. */
  buffered: number;
}

/** Which messages a tap publishes: received (`in`, the default), sent (`out`), or both. */
export type TapDirection = 'in' | 'out' | 'both';

/** What a tap's `decode` learns about a message besides its data. */
export interface TapMessageInfo {
  /** The socket's URL. */
  url: string;
  /** `in`: the page received it; `out`: the page sent it. */
  direction: 'in' | 'out';
}

/** Options of `tap.websocket`. */
export interface TapOptions {
  /** Topic the messages are published to. */
  topic: string;
  /**
   * Turns a message into the value to publish: `data` is a string (text frame) or an ArrayBuffer
   * (binary frame; a copy, read from the Blob first when the socket's binaryType is `blob`).
   * May return a promise; return `undefined` to publish nothing. A throw or rejection is published
   * as an error event. Without it, text frames publish as strings and binary ones as bytes.
   */
  decode?: (data: string | ArrayBuffer, info: TapMessageInfo) => unknown;
  /** `in` (default), `out` or `both`; with `both` and no `decode` each value is `{direction, data}`. */
  direction?: TapDirection;
}

/** Counters of a tap. */
export interface TapStats {
  /** Sockets the tap is attached to now. */
  sockets: number;
  /** Messages it saw. */
  messages: number;
  /** Values it published. */
  published: number;
  /** Messages `decode` returned `undefined` for. */
  skipped: number;
  /** Error events it published (decode threw, or its value cannot be sent). */
  errors: number;
  /** Messages dropped because decoding fell too far behind. */
  dropped: number;
}

/** A running tap. */
export interface WebSocketTap {
  /** The topic it publishes to. */
  readonly topic: string;
  /** Stops publishing and detaches from every socket. */
  stop(): void;
  /** Its counters. */
  stats(): TapStats;
}

/** A WebSocket object of the page (to tap that socket only). */
export interface PageSocket {
  readonly url: string;
  readonly readyState: number;
  send(...args: never[]): void;
}

/** Which sockets a tap takes: a RegExp or a substring of the socket URL, a function of the URL, or the socket itself. */
export type TapMatch = RegExp | string | ((url: string) => boolean) | PageSocket;

/** Taps on what the page's own connections carry. */
export interface Taps {
  /** Publishes the messages of the page's WebSockets whose URL `match`es to `options.topic`, raw or decoded, without changing what the page receives. */
  websocket(match: TapMatch, options: TapOptions): WebSocketTap;
}

/** The object installed as `globalThis.pagecall`. */
export interface PagecallApi {
  /** Protocol version this injector speaks. */
  readonly version: number;
  /** Connects (or, with no options, reconnects with the last ones); a no-op when already connected with the same settings. */
  connect(options?: ConnectOptions): PagecallApi;
  /** Registers (or replaces) a function under an action name; options say how its 64-bit integers travel. */
  register(name: string, fn: PageFunction, options?: FunctionOptions): PagecallApi;
  /** Removes an action. */
  unregister(name: string): PagecallApi;
  /** Registers an action that calls the function at a dotted global path, resolved at call time. */
  expose(name: string, path: string, options?: FunctionOptions): PagecallApi;
  /** Publishes `value` (anything the codec carries) to `topic`; callers subscribe with GET /v1/stream. */
  emit(topic: string, value: unknown): void;
  /** Connection state, actions, the last failure and the published-event counters. */
  status(): PagecallStatus;
  /** Closes the connection and stops reconnecting. */
  disconnect(): PagecallApi;
  /** Wraps the function at a dotted global path (now, or when the page defines it) to capture its `this` and arguments. */
  hook(path: string, options?: HookOptions): Hook;
  /** Publishing what the page's own sockets carry. */
  readonly tap: Taps;
  /** Finding functions inside webpack bundles. */
  readonly webpack: WebpackHelpers;
}
