/**
 * Looking through module exports for values that pass a test. The walk reads own properties only,
 * invokes getters only where webpack and transpilers put them (a module's exports and ES module
 * namespaces: plain re-export getters), and never enters the global object, the document, DOM
 * nodes, other windows, binary buffers, chunk arrays or module factories.
 */
import { apply, getDescriptor, keysOf, namesOf, pageDocument } from '../builtins.js';
import { isFactory } from './bundle.js';
import type { WebpackMatch, WebpackTest } from './types.js';

// The page's own (what the page's objects are instances of).
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

/** An object the walk will look into, and how it got there. */
interface Node {
  value: object;
  key: string;
  parent: Node | null;
  getters: boolean;
}

/**
 * One search's walk over many modules, level by level (the shallowest match in a module comes
 * first), with one visited map for the whole search so shared objects are entered once.
 */
export class Walk {
  /** Matches so far. */
  readonly matches: WebpackMatch[] = [];
  /** True once the first match is in (unless every match is wanted). */
  done = false;
  private readonly seen = new Map<object, number>();
  private readonly reported = new Set<unknown>();
  private chunkGlobal = '';
  private id = '';
  private exports: unknown;

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
    if (this.passes(exports, '')) this.report(exports, null, '');
    if (this.done || !this.enterable(exports, this.depth)) return;
    let level: Node[] = [{ value: exports as object, key: '', parent: null, getters: true }];
    this.seen.set(exports as object, this.depth);
    for (let left = this.depth; left >= 1 && level.length > 0; left--) {
      const next: Node[] = [];
      for (let n = 0; n < level.length; n++) {
        const node = level[n]!;
        const keys = keysFor(node.value);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i]!;
          const value = read(node.value, key, node.getters);
          if (value === NOTHING) continue;
          if (this.passes(value, key)) this.report(value, node, key);
          if (this.done) return;
          if (left > 1 && this.enterable(value, left - 1)) {
            this.seen.set(value as object, left - 1);
            next.push({ value: value as object, key, parent: node, getters: allowsGetters(value as object) });
          }
        }
      }
      level = next;
    }
  }

  // Each object is classified once per search: `seen` holds how many levels below it were (or
  // are about to be) walked, or Infinity for what is never entered.
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

  /** `holder` is the node the value was read from (null for the exports themselves). */
  private report(value: unknown, holder: Node | null, key: string): void {
    if (isObjectLike(value)) {
      if (this.reported.has(value)) return;
      this.reported.add(value);
    }
    const path: string[] = [];
    if (holder) {
      path.push(key);
      for (let node: Node | null = holder; node && node.parent; node = node.parent) path.push(node.key);
      path.reverse();
    }
    let exportValue: unknown = this.exports;
    if (path.length === 1) exportValue = value;
    else if (path.length > 1) {
      let node = holder!;
      while (node.parent && node.parent.parent) node = node.parent;
      exportValue = node.value;
    }
    this.matches.push({
      chunkGlobal: this.chunkGlobal,
      id: this.id,
      exports: this.exports,
      path: path.join('.'),
      key: path.length > 0 ? key : '',
      value,
      owner: holder ? holder.value : undefined,
      exportName: path[0] ?? '',
      export: exportValue,
    });
    if (!this.all) this.done = true;
  }
}
