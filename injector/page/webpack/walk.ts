/**
 * Looking through module exports for values that pass a test. The walk reads own properties only,
 * invokes getters only where webpack and transpilers put them (a module's exports and ES module
 * namespaces: plain re-export getters), and never enters the global object, the document, DOM
 * nodes, other windows, binary buffers, chunk arrays or module factories.
 */
import { apply, pageDocument } from '../builtins.js';
import { isFactory } from './bundle.js';
import type { WebpackMatch, WebpackTest } from './types.js';

const keysOf = Object.keys;
const namesOf = Object.getOwnPropertyNames;
const getDescriptor = Object.getOwnPropertyDescriptor;
const isView = ArrayBuffer.isView;
const ArrayBufferCtor = ArrayBuffer;
const NodeCtor: typeof Node | undefined = typeof Node === 'function' ? Node : undefined;
const toStringTag = Symbol.toStringTag;
const globalObject: unknown = globalThis;
const NOTHING = Symbol('nothing');

// A function's own names that are never worth entering.
const FUNCTION_SKIP = new Set(['length', 'name', 'arguments', 'caller', 'prototype']);

/** Objects and functions (what can hold properties). */
export function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** True for what the walk never enters, whatever refers to it. */
export function isHostObject(value: object): boolean {
  if (value === globalObject || value === pageDocument) return true;
  if (NodeCtor && value instanceof NodeCtor) return true;
  if (isView(value) || value instanceof ArrayBufferCtor) return true;
  try {
    // Windows (this one, frames, other origins) have an own `window` accessor; reading the
    // descriptor runs no getter.
    const window = getDescriptor(value, 'window');
    return window !== undefined && !('value' in window);
  } catch {
    return true;
  }
}

function isPrototypeObject(value: object): boolean {
  const constructor = getDescriptor(value, 'constructor');
  if (!constructor || !('value' in constructor) || typeof constructor.value !== 'function') return false;
  const prototype = getDescriptor(constructor.value as object, 'prototype');
  return prototype !== undefined && prototype.value === value;
}

// Class methods are not enumerable: functions and prototype objects list every own name.
function keysFor(value: object): string[] {
  try {
    if (typeof value === 'function') {
      const out: string[] = [];
      const names = namesOf(value);
      for (let i = 0; i < names.length; i++) if (!FUNCTION_SKIP.has(names[i]!)) out.push(names[i]!);
      const prototype = getDescriptor(value, 'prototype');
      if (prototype && isObjectLike(prototype.value) && namesOf(prototype.value).length > 1) out.push('prototype');
      return out;
    }
    if (isPrototypeObject(value)) {
      const names = namesOf(value);
      const out: string[] = [];
      for (let i = 0; i < names.length; i++) if (names[i] !== 'constructor') out.push(names[i]!);
      return out;
    }
    return keysOf(value);
  } catch {
    return [];
  }
}

// Getters on exports and namespace objects are webpack's `() => binding` re-exports; elsewhere a
// getter may be a lazy initialiser, so it is left alone.
function allowsGetters(value: object): boolean {
  try {
    const tag = getDescriptor(value, toStringTag);
    if (tag && tag.value === 'Module') return true;
    const esModule = getDescriptor(value, '__esModule');
    return esModule !== undefined && esModule.value === true;
  } catch {
    return false;
  }
}

function read(container: object, key: string, getters: boolean): unknown {
  let descriptor: PropertyDescriptor | undefined;
  try {
    descriptor = getDescriptor(container, key);
  } catch {
    return NOTHING;
  }
  if (!descriptor) return NOTHING;
  if ('value' in descriptor) return descriptor.value;
  if (!getters || !descriptor.get) return NOTHING;
  try {
    return apply(descriptor.get, container, []);
  } catch {
    return NOTHING;
  }
}

/** One search's walk over many modules: shared visited set, so shared objects are entered once. */
export class Walk {
  /** Matches so far. */
  readonly matches: WebpackMatch[] = [];
  /** True once the first match is in (unless every match is wanted). */
  done = false;
  private readonly seen = new Map<object, number>();
  private readonly reported = new Set<unknown>();
  private readonly path: string[] = [];
  private chunkGlobal = '';
  private id = '';
  private exports: unknown;
  private exportValue: unknown;

  /** `skip` says which objects (besides host objects) are never entered, e.g. chunk arrays. */
  constructor(
    private readonly test: WebpackTest,
    private readonly depth: number,
    private readonly all: boolean,
    private readonly skip: (value: object) => boolean,
  ) {}

  /** Looks through one module's exports. */
  module(chunkGlobal: string, id: string, exports: unknown): void {
    if (this.done) return;
    this.chunkGlobal = chunkGlobal;
    this.id = id;
    this.exports = exports;
    this.exportValue = exports;
    if (this.passes(exports, '')) this.report(exports, undefined);
    if (!this.done && this.enterable(exports, this.depth)) this.visit(exports as object, this.depth, true);
  }

  // Each object is classified once per search: `seen` holds how many levels below it were walked,
  // or Infinity for what is never entered.
  private enterable(value: unknown, left: number): boolean {
    if (!isObjectLike(value)) return false;
    const before = this.seen.get(value);
    if (before !== undefined) return before < left;
    if (isFactory(value) || this.skip(value) || isHostObject(value)) {
      this.seen.set(value, Infinity);
      return false;
    }
    return true;
  }

  private passes(value: unknown, key: string): boolean {
    if (isFactory(value)) return false;
    try {
      return Boolean(this.test(value, key));
    } catch {
      return false;
    }
  }

  private visit(container: object, left: number, getters: boolean): void {
    this.seen.set(container, left);
    const keys = keysFor(container);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = read(container, key, getters);
      if (value === NOTHING) continue;
      this.path.push(key);
      if (this.path.length === 1) this.exportValue = value;
      if (this.passes(value, key)) this.report(value, container);
      if (!this.done && left > 1 && this.enterable(value, left - 1)) this.visit(value as object, left - 1, allowsGetters(value as object));
      this.path.pop();
      if (this.done) return;
    }
  }

  private report(value: unknown, owner: object | undefined): void {
    if (isObjectLike(value)) {
      if (this.reported.has(value)) return;
      this.reported.add(value);
    }
    const path = this.path;
    this.matches.push({
      chunkGlobal: this.chunkGlobal,
      id: this.id,
      exports: this.exports,
      path: path.join('.'),
      key: path.length > 0 ? path[path.length - 1]! : '',
      value,
      owner,
      exportName: path.length > 0 ? path[0]! : '',
      export: path.length > 0 ? this.exportValue : this.exports,
    });
    if (!this.all) this.done = true;
  }
}
