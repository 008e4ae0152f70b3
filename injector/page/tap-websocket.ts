/**
 * `pagecall.tap.websocket`: publishes what the page's own WebSockets receive (and, when asked, what
 * they send), raw or decoded by a function of the user's, without changing anything the page sees.
 *
 * How sockets are reached:
 * - Sockets created after the first tap: the global `WebSocket` becomes a Proxy of the one in place.
 *   It has the same prototype object, statics, `name` and `length`, `instanceof` holds, and
 *   constructing goes to the original; `WebSocket.prototype.constructor` points to the Proxy so
 *   `ws.constructor === WebSocket` still holds. From an init script (the launcher, a hook script)
 *   this catches every socket of the page.
 * - Sockets that existed before (a pasted injector): when the tap is installed after the page
 *   loaded, or when it taps outgoing messages, `WebSocket.prototype.send` becomes a Proxy of the
 *   original that notes its socket the first time it sends (live sites send heartbeats).
 * - Any socket object passed as `match` itself.
 *
 * What the page gets is untouched: the tap's listener reads `event.data` through the original
 * getter and copies binary data before any code of the user's sees it; decoding runs in a later
 * task, after the page's own handlers, and whatever it does or throws stays in the stream.
 */
import { apply, defineProperty, logDebug, logWarn, NativeWebSocket, pageDocument, setTimer, whenSettled } from './builtins.js';
import { checkTopicName, type EventQueue } from './emit.js';
import { toErrorPayload } from './error-payload.js';
import type { TapMatch, TapOptions, TapStats, WebSocketTap } from './types.js';

// Captured at load, before the page's scripts can patch them.
const g = globalThis as unknown as Record<string, unknown>;
const getOwnDescriptor = Object.getOwnPropertyDescriptor;
const getPrototypeOf = Object.getPrototypeOf;
const construct = Reflect.construct;
const NativeProxy = Proxy;
const NativeArrayBuffer = ArrayBuffer;
const NativeUint8Array = Uint8Array;
const isView = ArrayBuffer.isView;
const arrayBufferSlice = ArrayBuffer.prototype.slice;
const uint8Slice = Uint8Array.prototype.slice;
const regexpTest = RegExp.prototype.test;
const stringIndexOf = String.prototype.indexOf;
const NativeBlob: typeof Blob | undefined = typeof Blob === 'function' ? Blob : undefined;
const blobArrayBuffer = NativeBlob?.prototype.arrayBuffer;
const eventTarget = typeof EventTarget === 'function' ? EventTarget.prototype : undefined;
const addListener = eventTarget?.addEventListener;
const removeListener = eventTarget?.removeEventListener;
const wsPrototype: WebSocket | undefined = NativeWebSocket?.prototype;
const nativeSend = wsPrototype?.send;

function getter(target: object | undefined, key: string): (() => unknown) | undefined {
  for (let o: object | null | undefined = target; o; o = getPrototypeOf(o) as object | null) {
    const descriptor = getOwnDescriptor(o, key);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}

const urlGetter = getter(wsPrototype, 'url');
const messageDataGetter = getter(typeof MessageEvent === 'function' ? MessageEvent.prototype : undefined, 'data');

/** Messages waiting to be decoded on one socket; more drop the oldest. */
export const MAX_PENDING = 10_000;

interface Pending {
  direction: 'in' | 'out';
  data: unknown;
}

interface Tap {
  readonly topic: string;
  readonly matches: (url: string, ws: WebSocket) => boolean;
  readonly decode: TapOptions['decode'];
  readonly incoming: boolean;
  readonly outgoing: boolean;
  readonly wrap: boolean;
  readonly queue: EventQueue;
  readonly sockets: Map<WebSocket, SocketTap>;
  stopped: boolean;
  stats: TapStats;
}

/** One tap on one socket: its listener and the messages waiting for `decode`, in order. */
class SocketTap {
  private pending: Pending[] = [];
  private head = 0;
  private busy = false;
  private scheduled = false;
  readonly listener: ((event: Event) => void) | undefined;

  constructor(
    private readonly tap: Tap,
    readonly ws: WebSocket,
    private readonly url: string,
  ) {
    this.listener = tap.incoming ? (event) => this.received(event) : undefined;
  }

  private received(event: Event): void {
    let data: unknown;
    try {
      data = messageDataGetter ? apply(messageDataGetter, event, []) : (event as MessageEvent).data;
    } catch {
      return;
    }
    this.take('in', data);
  }

  /** Queues a message (copied now: the page may reuse or transfer its buffer) for a later task. */
  take(direction: 'in' | 'out', data: unknown): void {
    const tap = this.tap;
    if (tap.stopped) return;
    tap.stats.messages++;
    if (this.pending.length - this.head >= MAX_PENDING) {
      this.head++;
      tap.stats.dropped++;
      tap.queue.drop(tap.topic);
    }
    this.pending.push({ direction, data: copyData(data) });
    if (!this.scheduled && !this.busy) {
      this.scheduled = true;
      // A task, not a microtask: those would run before the page's own listeners of this event.
      setTimer(this.drain, 0);
    }
  }

  /** Decodes and publishes what waits, in order; an async decode or Blob read pauses the loop until it settles. */
  private readonly drain = (): void => {
    this.scheduled = false;
    this.busy = false;
    const tap = this.tap;
    while (this.head < this.pending.length) {
      if (tap.stopped) break;
      const item = this.pending[this.head]!;
      this.pending[this.head] = undefined as unknown as Pending;
      this.head++;
      if (NativeBlob && blobArrayBuffer && item.data instanceof NativeBlob) {
        this.busy = true;
        whenSettled(
          apply(blobArrayBuffer, item.data, []),
          (buffer) => {
            if (!this.handle(item.direction, buffer)) this.drain();
          },
          (error) => {
            this.failed(error);
            this.drain();
          },
        );
        return;
      }
      if (this.handle(item.direction, item.data)) return;
    }
    this.pending = [];
    this.head = 0;
  };

  private failed(error: unknown): void {
    if (this.tap.stopped) return;
    this.tap.stats.errors++;
    this.tap.queue.publishError(this.tap.topic, toErrorPayload(error));
  }

  /** Publishes one message; true when it waits for a promise (the drain resumes when it settles). */
  private handle(direction: 'in' | 'out', data: unknown): boolean {
    const tap = this.tap;
    if (!tap.decode) {
      const value = data instanceof NativeArrayBuffer ? new NativeUint8Array(data) : data;
      this.publish(tap.wrap ? { direction, data: value } : value);
      return false;
    }
    let result: unknown;
    let then: unknown;
    try {
      result = apply(tap.decode, undefined, [data, { url: this.url, direction }]);
      if (result !== null && (typeof result === 'object' || typeof result === 'function')) then = (result as { then?: unknown }).then;
    } catch (error) {
      this.failed(error);
      return false;
    }
    if (typeof then !== 'function') {
      this.publish(result);
      return false;
    }
    this.busy = true;
    whenSettled(
      result,
      (value) => {
        this.publish(value);
        this.drain();
      },
      (error) => {
        this.failed(error);
        this.drain();
      },
    );
    return true;
  }

  private publish(value: unknown): void {
    const tap = this.tap;
    if (tap.stopped) return;
    const outcome = tap.queue.publish(tap.topic, value);
    if (outcome === 'published') tap.stats.published++;
    else if (outcome === 'error') tap.stats.errors++;
    else tap.stats.skipped++;
  }
}

/** Binary data as a fresh ArrayBuffer (a Blob is immutable and is read later); text as it is. */
function copyData(data: unknown): unknown {
  if (typeof data === 'string') return data;
  try {
    if (data instanceof NativeArrayBuffer) return apply(arrayBufferSlice, data, [0]);
    if (isView(data)) {
      const view = new NativeUint8Array(data.buffer, data.byteOffset, data.byteLength);
      return (apply(uint8Slice, view, []) as Uint8Array).buffer;
    }
  } catch {
    // a detached buffer: nothing left to copy
    return new NativeArrayBuffer(0);
  }
  return data;
}

// ---- the sockets of this realm --------------------------------------------------------------

const taps = new Set<Tap>();
/** Open sockets seen through the constructor, `send` or a tap's match, with their URL. */
const sockets = new Map<WebSocket, string>();
let constructorWrapped = false;
let sendWrapped = false;

function socketUrl(ws: WebSocket): string {
  try {
    return String(urlGetter ? apply(urlGetter, ws, []) : ws.url);
  } catch {
    return '';
  }
}

/** Notes a socket of the page and attaches every tap that matches it. */
function noteSocket(ws: WebSocket): void {
  if (sockets.has(ws)) return;
  const url = socketUrl(ws);
  sockets.set(ws, url);
  if (addListener) {
    apply(addListener, ws, ['close', () => forget(ws)]);
  }
  for (const tap of taps) attachIfMatches(tap, ws, url);
}

function forget(ws: WebSocket): void {
  sockets.delete(ws);
  for (const tap of taps) tap.sockets.delete(ws);
}

function attachIfMatches(tap: Tap, ws: WebSocket, url: string): void {
  if (tap.stopped || tap.sockets.has(ws)) return;
  let matched = false;
  try {
    matched = tap.matches(url, ws);
  } catch (error) {
    logDebug(`pagecall.tap.websocket: the match function threw for ${url}: ${toErrorPayload(error).message}`);
  }
  if (!matched) return;
  const socketTap = new SocketTap(tap, ws, url);
  tap.sockets.set(ws, socketTap);
  if (socketTap.listener && addListener) apply(addListener, ws, ['message', socketTap.listener]);
}

/** Replaces the global WebSocket with a Proxy of it that notes every socket constructed. */
function wrapConstructor(): void {
  if (constructorWrapped) return;
  constructorWrapped = true;
  const descriptor = getOwnDescriptor(g, 'WebSocket');
  const Current = descriptor?.value as typeof WebSocket | undefined;
  if (!descriptor || typeof Current !== 'function' || !descriptor.configurable) {
    logWarn('pagecall.tap.websocket: cannot wrap this page\'s WebSocket constructor; only sockets that send, or that you pass as the match, are tapped');
    return;
  }
  const proxy: typeof WebSocket = new NativeProxy(Current, {
    construct(target, args, newTarget) {
      const ws = construct(target, args, newTarget === proxy ? target : newTarget) as WebSocket;
      try {
        noteSocket(ws);
      } catch (error) {
        logDebug(`pagecall.tap.websocket: ${toErrorPayload(error).message}`);
      }
      return ws;
    },
  });
  const prototype = Current.prototype as { constructor?: unknown } | undefined;
  const constructorDescriptor = prototype ? getOwnDescriptor(prototype, 'constructor') : undefined;
  if (prototype && constructorDescriptor?.value === Current && constructorDescriptor.configurable) {
    defineProperty(prototype, 'constructor', { ...constructorDescriptor, value: proxy });
  }
  defineProperty(g, 'WebSocket', { value: proxy, writable: descriptor.writable === true, enumerable: descriptor.enumerable === true, configurable: true });
}

/** Replaces WebSocket.prototype.send with a Proxy of it that notes its socket (and taps what is sent). */
function wrapSend(): void {
  if (sendWrapped || !wsPrototype || !nativeSend) return;
  sendWrapped = true;
  const descriptor = getOwnDescriptor(wsPrototype, 'send');
  if (!descriptor || descriptor.value !== nativeSend || !descriptor.configurable) {
    logWarn('pagecall.tap.websocket: cannot wrap WebSocket.prototype.send here; sockets opened before the tap and outgoing messages are not tapped');
    return;
  }
  const proxy = new NativeProxy(nativeSend, {
    apply(target, thisArg: WebSocket, args: unknown[]) {
      // The page's call first and as it was: what it throws is the page's; nothing is tapped then.
      const result = apply(target, thisArg, args);
      try {
        sent(thisArg, args[0]);
      } catch (error) {
        logDebug(`pagecall.tap.websocket: ${toErrorPayload(error).message}`);
      }
      return result;
    },
  });
  defineProperty(wsPrototype, 'send', { ...descriptor, value: proxy });
}

function sent(ws: WebSocket, data: unknown): void {
  noteSocket(ws);
  for (const tap of taps) {
    if (!tap.outgoing) continue;
    tap.sockets.get(ws)?.take('out', data);
  }
}

/** The function a `match` argument stands for. */
function matcher(match: TapMatch): (url: string, ws: WebSocket) => boolean {
  if (typeof match === 'string') return (url) => (apply(stringIndexOf, url, [match]) as number) >= 0;
  if (match instanceof RegExp) {
    return (url) => {
      match.lastIndex = 0;
      return apply(regexpTest, match, [url]) as boolean;
    };
  }
  if (typeof match === 'function') return (url) => Boolean(apply(match as (url: string) => boolean, undefined, [url]));
  if (NativeWebSocket && match instanceof NativeWebSocket) return (_url, ws) => ws === (match as unknown);
  throw new TypeError('pagecall.tap.websocket: match must be a RegExp or string tested against socket URLs, a function of the URL, or a WebSocket');
}

/** True when the page has probably opened sockets already (the tap was not installed at document start). */
function lateInPage(): boolean {
  try {
    return !pageDocument || pageDocument.readyState !== 'loading';
  } catch {
    return true;
  }
}

/** `pagecall.tap.websocket`: starts a tap publishing to `options.topic` through `queue`. */
export function tapWebSocket(queue: EventQueue, match: TapMatch, options: TapOptions): WebSocketTap {
  if (!NativeWebSocket) throw new TypeError('pagecall.tap.websocket: this realm has no WebSocket');
  const matches = matcher(match);
  if (options === null || typeof options !== 'object') throw new TypeError('pagecall.tap.websocket: pass options { topic, decode?, direction? }');
  const { topic, decode, direction = 'in' } = options;
  checkTopicName(topic, 'tap.websocket');
  if (decode !== undefined && typeof decode !== 'function') throw new TypeError(`pagecall.tap.websocket: decode must be a function, got ${decode === null ? 'null' : typeof decode}`);
  if (direction !== 'in' && direction !== 'out' && direction !== 'both') throw new TypeError(`pagecall.tap.websocket: direction must be "in", "out" or "both", got ${String(direction)}`);
  const tap: Tap = {
    topic,
    matches,
    decode,
    incoming: direction !== 'out',
    outgoing: direction !== 'in',
    wrap: direction === 'both' && decode === undefined,
    queue,
    sockets: new Map(),
    stopped: false,
    stats: { sockets: 0, messages: 0, published: 0, skipped: 0, errors: 0, dropped: 0 },
  };
  taps.add(tap);
  wrapConstructor();
  if (tap.outgoing || lateInPage()) wrapSend();
  if (NativeWebSocket && match instanceof NativeWebSocket) noteSocket(match as unknown as WebSocket);
  for (const [ws, url] of sockets) attachIfMatches(tap, ws, url);
  return {
    topic,
    stop() {
      if (tap.stopped) return;
      tap.stopped = true;
      taps.delete(tap);
      for (const socketTap of tap.sockets.values()) {
        if (socketTap.listener && removeListener) apply(removeListener, socketTap.ws, ['message', socketTap.listener]);
      }
      tap.sockets.clear();
    },
    stats() {
      return { ...tap.stats, sockets: tap.sockets.size };
    },
  };
}
