/** ESM entry of the page injector. */
import { createApi } from './api.js';
import { defineProperty } from './builtins.js';
import type { PagecallApi } from './types.js';

export type {
  CallContext,
  ConnectOptions,
  ConnectionState,
  EventStats,
  FailureReason,
  LastError,
  PageFunction,
  PagecallApi,
  PagecallStatus,
  Taps,
  TapDirection,
  TapMatch,
  TapMessageInfo,
  TapOptions,
  TapStats,
  WebSocketTap,
  FindOptions,
  WaitForOptions,
  WebpackHelpers,
  WebpackMatch,
  WebpackQuery,
  WebpackStatus,
} from './types.js';

/** Where the realm's single instance lives: `globalThis[Symbol.for('pagecall')]`. */
export const PAGECALL_KEY: unique symbol = Symbol.for('pagecall') as typeof PAGECALL_KEY;

function isApi(value: unknown): value is PagecallApi {
  return typeof value === 'object' && value !== null && typeof (value as { connect?: unknown }).connect === 'function';
}

/** Installs pagecall in this realm once and returns its API; later calls (and later loads) get the first instance. */
export function installPagecall(): PagecallApi {
  const existing: unknown = (globalThis as Record<symbol, unknown>)[PAGECALL_KEY];
  if (isApi(existing)) return existing;
  const api = createApi();
  defineProperty(globalThis, PAGECALL_KEY, { value: api, enumerable: false, writable: false, configurable: true });
  return api;
}
