/**
 * Finding the page's webpack bundles: arrays on the global object named like webpack chunk globals
 * (`webpackChunk*`, `webpackJsonp*`), arrays of any name that hold webpack chunks
 * (`__LOADABLE_LOADED_CHUNKS__`), and names given with `use(name)`.
 *
 * Loaded before the page (launcher, init script), pagecall looks again each time the parser inserts
 * a script: a MutationObserver callback runs before that script does, so a chunk array created by
 * one script is taken over before the next script pushes chunks to it. After the page's `load`
 * event it stops watching the DOM, except while a waitFor() is pending.
 */
import { addListener, apply, defineProperty, getDescriptor, isArray, keysOf, logInfo, namesOf, pageDocument, queueMicro } from '../builtins.js';
import { Bundle } from './bundle.js';

const g = globalThis as unknown as Record<string, unknown>;
const MutationObserverCtor: typeof MutationObserver | undefined = typeof g.MutationObserver === 'function' ? (g.MutationObserver as typeof MutationObserver) : undefined;

const CHUNK_GLOBAL_NAME = /^(webpackChunk|webpackJsonp)/;
/** How many elements of an unnamed array are checked for the chunk shape. */
const SHAPE_SAMPLE = 8;

function isChunk(value: unknown): boolean {
  if (!isArray(value) || value.length < 2 || value.length > 6) return false;
  const ids = value[0];
  if (!isArray(ids) || ids.length === 0) return false;
  for (let i = 0; i < ids.length; i++) if (typeof ids[i] !== 'string' && typeof ids[i] !== 'number') return false;
  const modules = value[1] as Record<string, unknown> | null;
  if (modules === null || typeof modules !== 'object') return false;
  const keys = keysOf(modules);
  for (let i = 0; i < keys.length && i < SHAPE_SAMPLE; i++) if (typeof modules[keys[i]!] !== 'function') return false;
  const third = value[2];
  return third === undefined || typeof third === 'function' || isArray(third);
}

/** Whether a global array is a webpack chunk array: by its name, or because it holds chunks (`[ids, modules, …]`). */
export function isChunkArray(name: string, value: unknown[]): boolean {
  if (CHUNK_GLOBAL_NAME.test(name)) return true;
  if (value.length === 0) return false;
  for (let i = 0; i < value.length && i < SHAPE_SAMPLE; i++) if (!isChunk(value[i])) return false;
  return true;
}

/** The bundles of this realm, found and watched. */
export class Bundles {
  /** Bundles found so far, in the order found. */
  readonly list: Bundle[] = [];
  private readonly arrays = new WeakSet<object>();
  /** Globals holding functions (most are the platform's interfaces): never chunk arrays, not looked at again. */
  private readonly functionNames = new Set<string>();
  private readonly named: string[] = [];
  private readonly awaiting = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private changeQueued = false;
  private observer: MutationObserver | null = null;
  private observing = false;
  private pageLoaded = true;
  private waiting = false;

  constructor() {
    this.scan();
    this.watchPage();
  }

  /** Calls `listener` (in a microtask, batched) after modules ran, chunks were installed or bundles appeared. */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private changed = (): void => {
    if (this.changeQueued) return;
    this.changeQueued = true;
    queueMicro(() => {
      this.changeQueued = false;
      for (const listener of this.listeners) listener();
    });
  };

  /** Looks for chunk arrays not taken over yet. */
  scan(): void {
    let names: string[];
    try {
      names = namesOf(g);
    } catch {
      return;
    }
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (this.functionNames.has(name)) continue;
      // Descriptors, not reads: reading every global would run getters (and deprecation warnings).
      const descriptor = getDescriptor(g, name);
      if (!descriptor || !('value' in descriptor)) continue;
      const value: unknown = descriptor.value;
      if (typeof value === 'function') this.functionNames.add(name);
      if (!isArray(value) || this.arrays.has(value)) continue;
      if (isChunkArray(name, value)) this.add(name, value, this.named.includes(name) ? 'use' : 'auto');
    }
    for (const name of this.awaiting) {
      let value: unknown;
      try {
        value = g[name];
      } catch {
        continue;
      }
      if (isArray(value)) {
        this.awaiting.delete(name);
        if (!this.arrays.has(value)) this.add(name, value, 'use');
      }
    }
  }

  private add(name: string, array: unknown[], found: 'auto' | 'use'): Bundle {
    this.arrays.add(array);
    const bundle = new Bundle(name, array, found, this.changed);
    this.list.push(bundle);
    if (bundle.capture === 'late') {
      logInfo(
        `pagecall.webpack: ${name} had installed chunks before pagecall loaded; modules that already ran are read from ` +
          "webpack's own cache through its require (nothing is run). Load pagecall before the page (pagecall open, or an init script) to see each module run.",
      );
    }
    if (bundle.problem) logInfo(`pagecall.webpack: ${name}: ${bundle.problem}`);
    this.changed();
    return bundle;
  }

  /** Names a chunk global: taken over now if it exists, else the moment the page creates it. */
  use(name: string): void {
    if (!this.named.includes(name)) this.named.push(name);
    const descriptor = getDescriptor(g, name);
    let value: unknown;
    if (descriptor) value = 'value' in descriptor ? descriptor.value : g[name];
    if (isArray(value)) {
      if (!this.arrays.has(value)) this.add(name, value, 'use');
      return;
    }
    if (value !== undefined) throw new TypeError(`pagecall.webpack.use: ${name} is ${value === null ? 'null' : `a ${typeof value}`}, not an array of webpack chunks`);
    this.awaiting.add(name);
    if (descriptor && (!descriptor.configurable || !('value' in descriptor))) return;
    // Trap the assignment (`self[name] = self[name] || []`) so the array is taken over before the
    // runtime installs anything from it.
    try {
      defineProperty(g, name, {
        configurable: true,
        enumerable: true,
        get: () => undefined,
        set: (next: unknown) => {
          defineProperty(g, name, { value: next, writable: true, enumerable: true, configurable: true });
          if (isArray(next) && !this.arrays.has(next)) {
            this.awaiting.delete(name);
            this.add(name, next, 'use');
          }
        },
      });
    } catch {
      // scan() keeps looking for it
    }
  }

  /** Bundles named with use() first, then the others in the order found. */
  ordered(): Bundle[] {
    const rank = (b: Bundle): number => {
      const index = this.named.indexOf(b.chunkGlobal);
      return index === -1 ? this.named.length : index;
    };
    return this.list.slice().sort((a, b) => rank(a) - rank(b));
  }

  /** Names given to use() that the page has not created. */
  awaitingNames(): string[] {
    return [...this.awaiting];
  }

  /** True for chunk arrays and the runtimes' own tables: never searched. */
  isBundleInternal(value: object): boolean {
    if (this.arrays.has(value)) return true;
    for (let i = 0; i < this.list.length; i++) {
      const req = this.list[i]!.require;
      if (req && (value === req || value === req.m || value === req.c)) return true;
    }
    return false;
  }

  /** Keeps watching the DOM for new scripts while something waits for a module. */
  setWaiting(waiting: boolean): void {
    this.waiting = waiting;
    this.updateObserver();
  }

  private watchPage(): void {
    const doc = pageDocument;
    if (!doc || !MutationObserverCtor || !addListener) return;
    this.observer = new MutationObserverCtor((records) => this.onMutations(records));
    this.pageLoaded = doc.readyState === 'complete';
    if (!this.pageLoaded) {
      apply(addListener, g, ['DOMContentLoaded', () => this.scan(), { once: true }]);
      apply(addListener, g, [
        'load',
        () => {
          this.pageLoaded = true;
          this.scan();
          this.updateObserver();
        },
        { once: true },
      ]);
    }
    this.updateObserver();
  }

  private updateObserver(): void {
    const want = !this.pageLoaded || this.waiting;
    if (!this.observer || want === this.observing) return;
    this.observing = want;
    if (want) this.observer.observe(pageDocument!, { childList: true, subtree: true });
    else this.observer.disconnect();
  }

  private onMutations(records: MutationRecord[]): void {
    let script = false;
    for (let i = 0; i < records.length; i++) {
      const added = records[i]!.addedNodes;
      for (let j = 0; j < added.length; j++) {
        const node = added[j]!;
        if (node.nodeName !== 'SCRIPT') continue;
        script = true;
        // Look again right after it runs too: it may be the last script, or create a bundle's array.
        if ((node as HTMLScriptElement).src) apply(addListener, node, ['load', () => this.scan(), { once: true }]);
      }
    }
    if (script) this.scan();
  }
}
