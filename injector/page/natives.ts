/**
 * The built-ins the injector calls, where each lives on a realm's global object, and whether a
 * realm's copy is the browser's own or a replacement the page put there before the injector came
 * (anti-debugging code replaces JSON, Function.prototype.toString, console and timers; sniffers
 * replace WebSocket and its send).
 *
 * Two judgements:
 * - `suspects` asks the page's own realm, with no side effect: a native function's source text is
 *   `function name() { [native code] }`, and it carries none of the marks of a JavaScript function
 *   (an own `prototype` where the built-in has none, own `arguments`/`caller`, an own `toString`).
 *   That text comes from the page's Function.prototype.toString, which anti-debugging code replaces
 *   with one that lies about itself and its other replacements; so it is checked by what it cannot
 *   hide: asked about a non-function, the built-in throws with no JavaScript frame in between.
 * - `replacedIn` compares against a clean realm (a fresh same-origin frame): that realm's toString
 *   cannot be lied to, and shows a wrapper's source, a bound function or a Proxy as nameless, so
 *   anything but the built-in itself differs from the clean realm's copy.
 */

/**
 * The built-ins the injector calls (injector/page/builtins.ts hands out the copies it chose), by
 * their path from the global object; `set ` marks an event handler's setter.
 */
export const NATIVES = {
  parse: 'JSON.parse',
  stringify: 'JSON.stringify',
  toString: 'Function.prototype.toString',
  apply: 'Reflect.apply',
  construct: 'Reflect.construct',
  defineProperty: 'Object.defineProperty',
  getOwnPropertyDescriptor: 'Object.getOwnPropertyDescriptor',
  getOwnPropertyNames: 'Object.getOwnPropertyNames',
  keys: 'Object.keys',
  getPrototypeOf: 'Object.getPrototypeOf',
  freeze: 'Object.freeze',
  hasOwnProperty: 'Object.prototype.hasOwnProperty',
  objectToString: 'Object.prototype.toString',
  isArray: 'Array.isArray',
  fromCharCode: 'String.fromCharCode',
  now: 'Date.now',
  random: 'Math.random',
  min: 'Math.min',
  Promise: 'Promise',
  promiseResolve: 'Promise.resolve',
  promiseThen: 'Promise.prototype.then',
  setTimeout: 'setTimeout',
  clearTimeout: 'clearTimeout',
  queueMicrotask: 'queueMicrotask',
  fetch: 'fetch',
  atob: 'atob',
  btoa: 'btoa',
  addEventListener: 'EventTarget.prototype.addEventListener',
  WebSocket: 'WebSocket',
  send: 'WebSocket.prototype.send',
  close: 'WebSocket.prototype.close',
  onopen: 'set WebSocket.prototype.onopen',
  onmessage: 'set WebSocket.prototype.onmessage',
  onclose: 'set WebSocket.prototype.onclose',
  onerror: 'set WebSocket.prototype.onerror',
  info: 'console.info',
  warn: 'console.warn',
  debug: 'console.debug',
} as const;

/** A built-in's name in NATIVES. */
export type NativeName = keyof typeof NATIVES;

/** What one realm has of each built-in (undefined where it has none, as workers have no WebSocket accessors on some engines). */
export type Realm = Record<NativeName, unknown>;

/** The tools a judgement calls: the asking realm's own. */
export interface JudgeTools {
  apply: typeof Reflect.apply;
  toString: () => string;
  getOwnPropertyDescriptor: typeof Object.getOwnPropertyDescriptor;
}

const objectKeys = Object.keys;
const NAMES = objectKeys(NATIVES) as NativeName[];

/** Constructors: they have a `prototype` of their own. */
const CONSTRUCTORS: ReadonlySet<NativeName> = new Set(['Promise', 'WebSocket']);

/**
 * Copies from another realm that work only while that realm's frame is in the document: the
 * WebSocket constructor (a removed frame's sockets never connect) and console (a removed frame's
 * console prints nothing). Every other copy works after its frame is removed: language built-ins
 * anywhere, Web API functions when called with this page's window or objects as `this`.
 */
const LIVE: ReadonlySet<NativeName> = new Set(['WebSocket', 'info', 'warn', 'debug']);

/**
 * Copies that must come from one realm: when one of them was replaced, all are taken from the clean
 * realm (Promise.resolve makes promises of the realm of the `Promise` it is called on).
 */
const PROMISE_GROUP: readonly NativeName[] = ['Promise', 'promiseResolve', 'promiseThen'];

/** Reads one built-in from a realm's global object; undefined when any step is missing or throws. */
export function readNative(global: object, name: NativeName, getOwnPropertyDescriptor: JudgeTools['getOwnPropertyDescriptor']): unknown {
  try {
    const spec: string = NATIVES[name];
    const setter = spec.startsWith('set ');
    const segments = (setter ? spec.slice(4) : spec).split('.');
    const last = segments.length - 1;
    let owner: unknown = global;
    for (let i = 0; i < last; i++) {
      owner = (owner as Record<string, unknown> | null | undefined)?.[segments[i]!];
      if (owner === null || (typeof owner !== 'object' && typeof owner !== 'function')) return undefined;
    }
    if (setter) return getOwnPropertyDescriptor(owner as object, segments[last]!)?.set;
    return (owner as Record<string, unknown>)[segments[last]!];
  } catch {
    return undefined;
  }
}

/** Reads every built-in of NATIVES from a realm's global object. */
export function readRealm(global: object, getOwnPropertyDescriptor: JudgeTools['getOwnPropertyDescriptor']): Realm {
  const realm = {} as Realm;
  for (const name of NAMES) realm[name] = readNative(global, name, getOwnPropertyDescriptor);
  return realm;
}

/** The name a native function's source shows: `parse`, `set onmessage`. */
function expectedName(name: NativeName): string {
  const spec: string = NATIVES[name];
  const last = spec.slice(spec.lastIndexOf('.') + 1);
  return spec.startsWith('set ') ? `set ${last}` : last;
}

// Chromium and Firefox format native source differently (one line, or braces on their own lines).
const NATIVE_SOURCE = /^function ([\w$]+(?: [\w$]+)?)?\(\) \{\s*\[native code\]\s*\}$/;

function sourceOf(fn: unknown, tools: JudgeTools): string | undefined {
  try {
    const text: unknown = tools.apply(tools.toString, fn, []);
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

function hasOwn(fn: object, key: string, tools: JudgeTools): boolean {
  try {
    return tools.getOwnPropertyDescriptor(fn, key) !== undefined;
  } catch {
    return true;
  }
}

/**
 * True when `fn` looks like the built-in `name` by the asking realm's tools: native source text
 * naming it, and none of the marks of a JavaScript function (an own `prototype` on what is not a
 * constructor, own `arguments` or `caller`, an own `toString`). Absent (undefined) counts as native.
 */
export function looksNative(fn: unknown, name: NativeName, tools: JudgeTools): boolean {
  if (typeof fn !== 'function') return fn === undefined;
  const match = NATIVE_SOURCE.exec(sourceOf(fn, tools) ?? '');
  if (!match || match[1] !== expectedName(name)) return false;
  if (!CONSTRUCTORS.has(name) && hasOwn(fn, 'prototype', tools)) return false;
  return !hasOwn(fn, 'arguments', tools) && !hasOwn(fn, 'caller', tools) && !hasOwn(fn, 'toString', tools);
}

/**
 * The built-ins of `realm` that do not look native by its own tools (the realm's own
 * Function.prototype.toString, Reflect.apply and Object.getOwnPropertyDescriptor, which are judged
 * too). Asks nothing of any other realm and changes nothing.
 */
export function suspects(realm: Realm): NativeName[] {
  const tools: JudgeTools = {
    apply: typeof realm.apply === 'function' ? (realm.apply as JudgeTools['apply']) : Reflect.apply,
    toString: realm.toString as JudgeTools['toString'],
    getOwnPropertyDescriptor: typeof realm.getOwnPropertyDescriptor === 'function' ? (realm.getOwnPropertyDescriptor as JudgeTools['getOwnPropertyDescriptor']) : Object.getOwnPropertyDescriptor,
  };
  const out = NAMES.filter((name) => !looksNative(realm[name], name, tools));
  if (!out.includes('toString') && toStringLies(tools)) out.push('toString');
  return out;
}

// A source location at the end of a stack line: `(https://site/anti.js:3:20)`, `anti.js:3:20`.
const LOCATION = /:\d+:\d+\)?$/;

/**
 * True when Function.prototype.toString is a replacement, however well it disguises itself (its
 * answers about itself and every other function can be made up): asked about something that is not
 * a function, the built-in throws straight away, while a replacement that passes the question on
 * shows up as a frame with a source location between the throw and the asker. A stack that does
 * not show the asker (Error.stackTraceLimit set to 0) cannot clear it either.
 */
function toStringLies(tools: JudgeTools): boolean {
  let stack: unknown;
  const probe = {
    pagecallToStringProbe(): boolean {
      try {
        tools.apply(tools.toString, {}, []);
        return true;
      } catch (error) {
        try {
          stack = (error as { stack?: unknown } | null)?.stack;
        } catch {
          // a thrown value whose stack cannot be read
        }
        return false;
      }
    },
  };
  // A toString that answers for a receiver that is not a function is not the built-in.
  if (probe.pagecallToStringProbe()) return true;
  if (typeof stack !== 'string') return true;
  const lines = stack.split('\n');
  const asker = lines.findIndex((line) => line.includes('pagecallToStringProbe'));
  if (asker < 0) return true;
  for (let i = 0; i < asker; i++) if (LOCATION.test(lines[i]!.trim())) return true;
  return false;
}

/**
 * The built-ins `page` has replaced or removed, judged against `clean` (a fresh realm of the same
 * origin) with that realm's tools: a page copy is the built-in when the clean realm's toString
 * gives it the same source text as the clean copy. One replaced member of the Promise group names
 * them all.
 */
export function replacedIn(page: Realm, clean: Realm): NativeName[] {
  const tools: JudgeTools = {
    apply: clean.apply as JudgeTools['apply'],
    toString: clean.toString as JudgeTools['toString'],
    getOwnPropertyDescriptor: clean.getOwnPropertyDescriptor as JudgeTools['getOwnPropertyDescriptor'],
  };
  const out = NAMES.filter((name) => {
    const ours = page[name];
    const theirs = clean[name];
    if (typeof theirs !== 'function') return false;
    return typeof ours !== 'function' || sourceOf(ours, tools) !== sourceOf(theirs, tools) || !looksNative(ours, name, tools);
  });
  if (PROMISE_GROUP.some((name) => out.includes(name))) {
    for (const name of PROMISE_GROUP) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** How a built-in is named in messages: its path (`set WebSocket.prototype.onmessage`). */
export function nativeLabel(name: NativeName): string {
  return NATIVES[name];
}

/** True when the clean realm's copy of `name` works only while its frame stays in the document. */
export function needsLiveRealm(name: NativeName): boolean {
  return LIVE.has(name);
}
