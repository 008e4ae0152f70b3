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
  /** Registers (or replaces) a function under an action name. */
  register(name: string, fn: PageFunction): PagecallApi;
  /** Removes an action. */
  unregister(name: string): PagecallApi;
  /** Registers an action that calls the function at a dotted global path, resolved at call time. */
  expose(name: string, path: string): PagecallApi;
  /** Connection state, actions and the last failure. */
  status(): PagecallStatus;
  /** Closes the connection and stops reconnecting. */
  disconnect(): PagecallApi;
  /** Wraps the function at a dotted global path (now, or when the page defines it) to capture its `this` and arguments. */
  hook(path: string, options?: HookOptions): Hook;
  /** Finding functions inside webpack bundles. */
  readonly webpack: WebpackHelpers;
}
