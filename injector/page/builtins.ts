/**
 * Built-ins captured when the injector loads. Sites patch globals (JSON, WebSocket, timers, fetch)
 * for their own reasons; everything after load goes through these copies instead.
 */
const g = globalThis;

/** `Reflect.apply` as it was at load. */
export const apply = Reflect.apply;
/** `Date.now` as it was at load. */
export const now = Date.now;
/** `Math.random` as it was at load. */
export const random = Math.random;
/** `Math.min` as it was at load. */
export const min = Math.min;
/** `JSON.parse` as it was at load. */
export const parseJson = JSON.parse;
/** `JSON.stringify` as it was at load. */
export const stringifyJson = JSON.stringify;
/** `Object.defineProperty` as it was at load. */
export const defineProperty = Object.defineProperty;
/** `Array.isArray` as it was at load. */
export const isArray = Array.isArray;
/** `String.fromCharCode` as it was at load. */
export const fromCharCode = String.fromCharCode;

// Called through a variable, eval is indirect: the code runs in global scope, not in ours.
const nativeEval = g.eval;
/** Runs a code string with the load-time `eval`, indirectly (in global scope). */
export function indirectEval(code: unknown): unknown {
  return nativeEval(String(code));
}

/** `setTimeout` as it was at load. */
export const setTimer = g.setTimeout.bind(g) as (callback: () => void, ms: number) => number;
/** The longest delay setTimeout takes: it fires at once for anything above 2^31-1 ms. */
export const MAX_TIMER_MS = 2147483647;
/** `clearTimeout` as it was at load. */
export const clearTimer = g.clearTimeout.bind(g) as (id: number | undefined) => void;
/** `queueMicrotask` as it was at load. */
export const queueMicro = g.queueMicrotask.bind(g);

/** The `WebSocket` constructor as it was at load. */
export const NativeWebSocket = g.WebSocket;
const wsPrototype = NativeWebSocket?.prototype;
const wsSend = wsPrototype?.send;
const wsClose = wsPrototype?.close;

/** Sends a text frame with the load-time `WebSocket.prototype.send` (sites hook `send` to sniff traffic). */
export function socketSend(ws: WebSocket, text: string): void {
  apply(wsSend, ws, [text]);
}

const wsBufferedAmount = findGetter(wsPrototype, 'bufferedAmount');

/** Bytes a socket has queued and not yet sent, through the load-time getter (0 where there is none). */
export function socketBuffered(ws: WebSocket): number {
  return wsBufferedAmount ? (apply(wsBufferedAmount, ws, []) as number) : 0;
}

/** Closes a socket with the load-time `close`, ignoring the errors a closing socket may raise. */
export function socketClose(ws: WebSocket, code: number, reason: string): void {
  try {
    apply(wsClose, ws, [code, reason]);
  } catch {
    // already closing or closed
  }
}

/** The `AbortController` constructor as it was at load. */
export const NativeAbortController = g.AbortController;

const promiseResolve = Promise.resolve.bind(Promise) as (value: unknown) => Promise<unknown>;
const promiseThen = Promise.prototype.then;

/** Calls `ok` or `fail` once `value` (a promise, a thenable or a plain value) settles. */
export function whenSettled(value: unknown, ok: (value: unknown) => void, fail: (error: unknown) => void): void {
  let promise: Promise<unknown>;
  try {
    promise = promiseResolve(value);
  } catch (error) {
    fail(error);
    return;
  }
  apply(promiseThen, promise, [ok, fail]);
}

/** `fetch` as it was at load, when the realm has one. */
export const nativeFetch: typeof fetch | undefined = typeof g.fetch === 'function' ? g.fetch.bind(g) : undefined;

const permissions = g.navigator?.permissions;
/** `navigator.permissions.query` as it was at load, when the realm has it. */
export const queryPermission: Permissions['query'] | undefined =
  permissions && typeof permissions.query === 'function' ? permissions.query.bind(permissions) : undefined;

/** The `URL` constructor as it was at load. */
export const NativeURL = g.URL;

const con = g.console;
/** `console.info` as it was at load. */
export const logInfo = con.info.bind(con);
/** `console.warn` as it was at load. */
export const logWarn = con.warn.bind(con);
/** `console.debug` as it was at load. */
export const logDebug = con.debug.bind(con);

/** `btoa` as it was at load, when the realm has it. */
export const nativeBtoa: ((data: string) => string) | undefined = typeof g.btoa === 'function' ? g.btoa.bind(g) : undefined;
/** `atob` as it was at load, when the realm has it. */
export const nativeAtob: ((data: string) => string) | undefined = typeof g.atob === 'function' ? g.atob.bind(g) : undefined;

function findGetter(target: object | undefined, key: string): (() => unknown) | undefined {
  for (let o: object | null | undefined = target; o; o = Object.getPrototypeOf(o) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(o, key);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}

/** The page's document at load (undefined in workers). */
export const pageDocument: Document | undefined = g.document;
const pageLocation: Location | undefined = g.location;
const titleGetter = findGetter(pageDocument, 'title');
const sessionStorageGetter = findGetter(g, 'sessionStorage');
const storagePrototype = typeof Storage === 'function' ? Storage.prototype : undefined;
const storageGetItem = storagePrototype?.getItem;
const storageSetItem = storagePrototype?.setItem;
const storageRemoveItem = storagePrototype?.removeItem;

/** `location.href` of the page, or '' where there is none. */
export function pageUrl(): string {
  return pageLocation ? String(pageLocation.href) : '';
}

/** `document.title` through Document's own getter, or '' where there is none. */
export function pageTitle(): string {
  try {
    return titleGetter && pageDocument ? String(apply(titleGetter, pageDocument, [])) : '';
  } catch {
    return '';
  }
}

// sessionStorage throws in sandboxed frames, with storage disabled, or on opaque origins.
function session(): Storage | undefined {
  return sessionStorageGetter ? (apply(sessionStorageGetter, g, []) as Storage | null) ?? undefined : undefined;
}

/** Reads a sessionStorage item; undefined when absent or when storage is unavailable. */
export function storageGet(key: string): string | undefined {
  try {
    const storage = session();
    const value: unknown = storage && storageGetItem ? apply(storageGetItem, storage, [key]) : null;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a sessionStorage item; silently does nothing when storage is unavailable. */
export function storageSet(key: string, value: string): void {
  try {
    const storage = session();
    if (storage && storageSetItem) apply(storageSetItem, storage, [key, value]);
  } catch {
    // storage unavailable or full
  }
}

/** Removes a sessionStorage item; silently does nothing when storage is unavailable. */
export function storageRemove(key: string): void {
  try {
    const storage = session();
    if (storage && storageRemoveItem) apply(storageRemoveItem, storage, [key]);
  } catch {
    // storage unavailable
  }
}
