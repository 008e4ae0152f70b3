/**
 * Built-ins captured when the injector loads. Sites patch globals (JSON, WebSocket, timers, fetch)
 * for their own reasons; everything after load goes through these copies instead.
 *
 * Loaded before the page's scripts (the launcher, an init script), the page's own copies are the
 * browser's. Pasted later, some may already be replaced (anti-debugging code replaces JSON,
 * Function.prototype.toString, console and timers first thing; sniffers replace WebSocket and its
 * send). When any looks replaced (natives.ts says how that is judged), the injector takes the
 * browser's own from a hidden same-origin frame (clean-realm.ts) and says so once in the console;
 * the page keeps its replacements for itself. In a worker there is no document to make a frame in:
 * it says so and uses what is there.
 */
import type { CodecNatives } from '../../protocol/codec.js';
import { CleanFrame, type FrameTools } from './clean-realm.js';
import { nativeLabel, needsLiveRealm, readRealm, replacedIn, suspects, type NativeName, type Realm } from './natives.js';

const g = globalThis;
const pageGetDescriptor = Object.getOwnPropertyDescriptor;
const page: Realm = readRealm(g, pageGetDescriptor);

/** The page's document at load (undefined in workers). */
export const pageDocument: Document | undefined = g.document;

function getterOf(proto: object | undefined, key: string): (() => unknown) | undefined {
  try {
    return proto ? pageGetDescriptor(proto, key)?.get : undefined;
  } catch {
    return undefined;
  }
}

const frameTools: FrameTools | undefined =
  pageDocument && typeof Element === 'function' && typeof Node === 'function' && typeof Document === 'function'
    ? {
        apply: Reflect.apply,
        createElement: Document.prototype.createElement,
        setAttribute: Element.prototype.setAttribute,
        appendChild: Node.prototype.appendChild,
        remove: Element.prototype.remove,
        contentWindow: getterOf(typeof HTMLIFrameElement === 'function' ? HTMLIFrameElement.prototype : undefined, 'contentWindow'),
        isConnected: getterOf(Node.prototype, 'isConnected'),
        documentElement: getterOf(Document.prototype, 'documentElement'),
      }
    : undefined;

/** What the injector uses: the page's own copies, or a clean frame's where the page's were replaced. */
interface Choice {
  chosen: Realm;
  /** The built-ins taken from the clean frame. */
  replaced: ReadonlySet<NativeName>;
  /** The frame, while a copy taken from it needs it in the document. */
  frame: CleanFrame | undefined;
  /** What to say once in the console, and how loud. */
  notice: { level: 'info' | 'warn' | 'debug'; text: string } | undefined;
}

function labels(names: NativeName[]): string {
  return names.map(nativeLabel).join(', ');
}

function choose(): Choice {
  const none = new Set<NativeName>();
  // A second load (another paste) keeps the first instance and drops this one: no frame for it.
  if ((g as unknown as Record<symbol, unknown>)[Symbol.for('pagecall')] !== undefined) return { chosen: page, replaced: none, frame: undefined, notice: undefined };
  const looked = suspects(page);
  if (looked.length === 0) return { chosen: page, replaced: none, frame: undefined, notice: undefined };
  const asIs = (why: string): Choice => ({
    chosen: page,
    replaced: none,
    frame: undefined,
    notice: {
      level: 'warn',
      text:
        `pagecall: these built-ins do not look like the browser's own here (replaced before pagecall loaded?): ${labels(looked)}; ${why}, so pagecall uses them as they are. ` +
        'If it cannot connect or calls fail, load pagecall before the code that replaces them (pagecall open, an init script or a userscript at document-start).',
    },
  });
  if (!pageDocument || !frameTools) return asIs('a worker has no document to take clean copies from');
  const frame = CleanFrame.open(pageDocument, frameTools);
  const win = frame?.window();
  if (!frame || !win) return asIs('no hidden frame could be made to take clean copies from');
  const cleanGetDescriptor = (win as { Object: ObjectConstructor }).Object.getOwnPropertyDescriptor;
  const clean = readRealm(win, cleanGetDescriptor);
  const replacedList = replacedIn(page, clean);
  if (replacedList.length === 0) {
    frame.remove();
    return { chosen: page, replaced: none, frame: undefined, notice: { level: 'debug', text: `pagecall: ${labels(looked)} looked replaced but are the browser's own` } };
  }
  const chosen = { ...page };
  for (const name of replacedList) chosen[name] = clean[name];
  const live = replacedList.filter(needsLiveRealm);
  if (live.length === 0) frame.remove();
  const where =
    live.length === 0
      ? 'a hidden same-origin frame, removed again'
      : `a hidden same-origin frame, kept in the page because ${labels(live)} work only while their frame is there`;
  return {
    chosen,
    replaced: new Set(replacedList),
    frame: live.length === 0 ? undefined : frame,
    notice: {
      level: 'info',
      text: `pagecall: this page replaced ${labels(replacedList)} before pagecall loaded; pagecall uses the browser's own, taken from ${where}. The page keeps its own.`,
    },
  };
}

const { chosen, replaced, frame, notice } = choose();

/** `Reflect.apply` as it was at load. */
export const apply = chosen.apply as typeof Reflect.apply;
/** `Reflect.construct` as it was at load. */
export const construct = chosen.construct as typeof Reflect.construct;
/** `Date.now` as it was at load. */
export const now = chosen.now as () => number;
/** `Math.random` as it was at load. */
export const random = chosen.random as () => number;
/** `Math.min` as it was at load. */
export const min = chosen.min as (...values: number[]) => number;
/** `JSON.stringify` as it was at load. */
export const stringifyJson = chosen.stringify as typeof JSON.stringify;
/** `Object.defineProperty` as it was at load. */
export const defineProperty = chosen.defineProperty as typeof Object.defineProperty;
/** `Object.getOwnPropertyDescriptor` as it was at load. */
export const getDescriptor = chosen.getOwnPropertyDescriptor as typeof Object.getOwnPropertyDescriptor;
/** `Object.getOwnPropertyNames` as it was at load. */
export const namesOf = chosen.getOwnPropertyNames as typeof Object.getOwnPropertyNames;
/** `Object.keys` as it was at load. */
export const keysOf = chosen.keys as typeof Object.keys;
/** `Object.getPrototypeOf` as it was at load. */
export const getPrototypeOf = chosen.getPrototypeOf as typeof Object.getPrototypeOf;
/** `Object.freeze` as it was at load. */
export const freeze = chosen.freeze as typeof Object.freeze;
/** `Array.isArray` as it was at load. */
export const isArray = chosen.isArray as typeof Array.isArray;
/** `String.fromCharCode` as it was at load. */
export const fromCharCode = chosen.fromCharCode as typeof String.fromCharCode;
/** `Function.prototype.toString` as it was at load (call it with `apply`). */
export const fnToString = chosen.toString as (this: unknown) => string;
const hasOwnProperty = chosen.hasOwnProperty as (this: object, key: PropertyKey) => boolean;

/** `Object.prototype.hasOwnProperty` of `o` as it was at load. */
export function hasOwn(o: object, key: PropertyKey): boolean {
  return apply(hasOwnProperty, o, [key]) as boolean;
}

/** The built-ins the value codec calls. */
export const codecNatives: CodecNatives = {
  isArray,
  keys: keysOf,
  getPrototypeOf,
  hasOwnProperty,
  objectToString: chosen.objectToString as (this: unknown) => string,
  stringify: stringifyJson,
};

const dataProperty = (value: unknown): PropertyDescriptor => ({ value, writable: true, enumerable: true, configurable: true });

/**
 * A value parsed in another realm, rebuilt of this realm's arrays and objects (page functions get
 * arrays that are `instanceof Array`). Properties are defined, never assigned: an `Object.prototype`
 * setter the page installed sees none of them.
 */
function rehome(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) defineProperty(out, i, dataProperty(rehome(value[i])));
    return out;
  }
  const out: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  for (const key of keysOf(record)) defineProperty(out, key, dataProperty(rehome(record[key])));
  return out;
}

const parse = chosen.parse as (text: string) => unknown;
/** `JSON.parse` as it was at load (parsing in a clean frame when the page replaced it). */
export const parseJson: (text: string) => unknown = replaced.has('parse') ? (text) => rehome(parse(text)) : parse;

// Called through a variable, eval is indirect: the code runs in global scope, not in ours. Always
// the page's: another realm's eval would run the code in that realm's global scope.
const nativeEval = g.eval;
/** Runs a code string with the load-time `eval`, indirectly (in global scope). */
export function indirectEval(code: unknown): unknown {
  return nativeEval(String(code));
}

/** A window function called with this global as `this`, as the page calls it. */
function onGlobal<A extends unknown[], R>(fn: unknown): (...args: A) => R {
  return (...args: A) => apply(fn as (...a: A) => R, g, args);
}

/** `setTimeout` as it was at load. */
export const setTimer = onGlobal<[callback: () => void, ms: number], number>(chosen.setTimeout);
/** The longest delay setTimeout takes: it fires at once for anything above 2^31-1 ms. */
export const MAX_TIMER_MS = 2147483647;
/** `clearTimeout` as it was at load. */
export const clearTimer = onGlobal<[id: number | undefined], void>(chosen.clearTimeout);
/** `queueMicrotask` as it was at load. */
export const queueMicro = onGlobal<[callback: () => void], void>(chosen.queueMicrotask);

/** The page's `WebSocket` constructor as it was at load (pagecall's own sockets come from `openSocket`). */
export const NativeWebSocket = page.WebSocket as typeof WebSocket;
const socketCtor = chosen.WebSocket as typeof WebSocket;
const wsSend = chosen.send as WebSocket['send'];
const wsClose = chosen.close as WebSocket['close'];

/** What a pagecall socket reports. */
export interface SocketEvents {
  open(): void;
  message(event: MessageEvent): void;
  close(event: CloseEvent): void;
  error(): void;
}

/**
 * Opens a WebSocket with the browser's own constructor: the page's, or the clean frame's where the
 * page replaced it (a new frame is made if the page removed that one).
 */
export function openSocket(url: string): WebSocket {
  if (frame) {
    const Ctor = (frame.window() as { WebSocket?: typeof WebSocket } | undefined)?.WebSocket;
    if (typeof Ctor === 'function') return new Ctor(url);
  }
  return new socketCtor(url);
}

/** Sets a socket's event handlers with the load-time setters (sites hook them to sniff what arrives). */
export function socketOn(ws: WebSocket, events: SocketEvents): void {
  apply(chosen.onopen as (this: WebSocket, fn: () => void) => void, ws, [events.open]);
  apply(chosen.onmessage as (this: WebSocket, fn: (event: MessageEvent) => void) => void, ws, [events.message]);
  apply(chosen.onclose as (this: WebSocket, fn: (event: CloseEvent) => void) => void, ws, [events.close]);
  apply(chosen.onerror as (this: WebSocket, fn: () => void) => void, ws, [events.error]);
}

/** Sends a text frame with the load-time `WebSocket.prototype.send` (sites hook `send` to sniff traffic). */
export function socketSend(ws: WebSocket, text: string): void {
  apply(wsSend, ws, [text]);
}

// From the constructor pagecall's sockets come from (the clean frame's when the page replaced it).
const wsBufferedAmount = findGetter(socketCtor?.prototype, 'bufferedAmount');

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

/** `EventTarget.prototype.addEventListener` as it was at load. */
export const addListener = chosen.addEventListener as (this: EventTarget, type: string, listener: (event: Event) => void, options?: AddEventListenerOptions) => void;

/** The `AbortController` constructor as it was at load (the page's: page functions receive its signals). */
export const NativeAbortController = g.AbortController;

const PromiseCtor = chosen.Promise;
const promiseResolve = chosen.promiseResolve as (this: unknown, value: unknown) => Promise<unknown>;
const promiseThen = chosen.promiseThen as Promise<unknown>['then'];

/** Calls `ok` or `fail` once `value` (a promise, a thenable or a plain value) settles. */
export function whenSettled(value: unknown, ok: (value: unknown) => void, fail: (error: unknown) => void): void {
  let promise: Promise<unknown>;
  try {
    promise = apply(promiseResolve, PromiseCtor, [value]);
  } catch (error) {
    fail(error);
    return;
  }
  apply(promiseThen, promise, [ok, fail]);
}

/** `fetch` as it was at load, when the realm has one. */
export const nativeFetch: typeof fetch | undefined = typeof chosen.fetch === 'function' ? onGlobal<Parameters<typeof fetch>, Promise<Response>>(chosen.fetch) : undefined;

const permissions = g.navigator?.permissions;
const permissionsQuery = permissions?.query;
/** `navigator.permissions.query` as it was at load, when the realm has it. */
export const queryPermission: Permissions['query'] | undefined =
  permissions && typeof permissionsQuery === 'function' ? (descriptor) => apply(permissionsQuery, permissions, [descriptor]) : undefined;

/** The `URL` constructor as it was at load. */
export const NativeURL = g.URL;

const pageConsole = g.console;

function logger(level: 'info' | 'warn' | 'debug'): (message: string) => void {
  const own = chosen[level] as (...data: unknown[]) => void;
  return (message) => {
    try {
      const con = replaced.has(level) ? (frame?.window() as { console?: Console } | undefined)?.console : undefined;
      if (con) apply(con[level], con, [message]);
      else apply(own, pageConsole, [message]);
    } catch {
      // a console that throws: nowhere to say it
    }
  };
}

/** `console.info` as it was at load. */
export const logInfo = logger('info');
/** `console.warn` as it was at load. */
export const logWarn = logger('warn');
/** `console.debug` as it was at load. */
export const logDebug = logger('debug');

if (notice) (notice.level === 'info' ? logInfo : notice.level === 'warn' ? logWarn : logDebug)(notice.text);

/** `btoa` as it was at load, when the realm has it. */
export const nativeBtoa: ((data: string) => string) | undefined = typeof chosen.btoa === 'function' ? onGlobal<[string], string>(chosen.btoa) : undefined;
/** `atob` as it was at load, when the realm has it. */
export const nativeAtob: ((data: string) => string) | undefined = typeof chosen.atob === 'function' ? onGlobal<[string], string>(chosen.atob) : undefined;

function findGetter(target: object | undefined, key: string): (() => unknown) | undefined {
  for (let o: object | null | undefined = target; o; o = getPrototypeOf(o) as object | null) {
    const descriptor = getDescriptor(o, key);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}
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
