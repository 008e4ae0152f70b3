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
  /** Connection state, actions and the last failure. */
  status(): PagecallStatus;
  /** Closes the connection and stops reconnecting. */
  disconnect(): PagecallApi;
  /** Wraps the function at a dotted global path (now, or when the page defines it) to capture its `this` and arguments. */
  hook(path: string, options?: HookOptions): Hook;
  /** Finding functions inside webpack bundles. */
  readonly webpack: WebpackHelpers;
}
