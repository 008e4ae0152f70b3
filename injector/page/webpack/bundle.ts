/**
 * One webpack bundle, reached through its chunk array on the global object.
 *
 * pagecall never runs a module the app has not run unless asked to, and sees every module the app
 * runs from the moment it finds the bundle:
 * - The array's `push` becomes an accessor. Chunks pushed through it get their factories wrapped
 *   before webpack installs them; a runtime that assigns `push` later (the array came first) keeps
 *   working, because each read of `push` hands out an entry bound to the callback current then.
 * - A factory wrapper calls the original exactly as webpack did (same `this`, arguments and
 *   result) and notes the module object. While pagecall searches, a wrapper refuses to run: it
 *   throws before the original starts, and the cache entry webpack just made is undone (deleted
 *   from `require.c`, or, where webpack 5 keeps its cache private, turned into an entry whose
 *   `exports` runs the factory afresh the first time the app asks for it).
 * - So asking webpack's own require for a module is a side-effect-free probe: a module that ran
 *   returns its cached exports, one that has not is refused and left for the app.
 */
import { apply, defineProperty, fnToString, getDescriptor, hasOwn, isArray, keysOf, random } from '../builtins.js';
import type { WebpackModule, WebpackRequire } from './types.js';

// The page's own: a fresh array's push is compared with it to tell whether a runtime installed one.
const nativePush = Array.prototype.push;
const nativeSplice = Array.prototype.splice;

type Factory = (...args: unknown[]) => unknown;
type Push = (...items: unknown[]) => unknown;

/** Thrown by a wrapper to refuse a run during a search; caught by pagecall before the page sees it. */
const REFUSED = new Error('pagecall.webpack: a search reached a module the app has not run yet; it was left for the app to run');

/** What pagecall knows about one wrapped factory. */
interface FactoryInfo {
  bundle: Bundle;
  id: string;
  original: Factory;
  /** `ran`: the module ran (seen, or found cached); `not-run`: it has not, and any later run is seen. */
  state: 'unknown' | 'not-run' | 'ran';
  /** The module object of a run pagecall saw. */
  module: WebpackModule | null;
  /** The original's source, once read (a slice of the script's source: keeping it costs little). */
  source: string | undefined;
}

const wrappers = new WeakMap<Factory, FactoryInfo>();
const originals = new WeakSet<Factory>();
const ownFactories = new WeakSet<object>();

/** True for webpack module factories (the page's, or pagecall's wrappers of them): never a search result. */
export function isFactory(value: unknown): boolean {
  return typeof value === 'function' && (wrappers.has(value as Factory) || originals.has(value as Factory) || ownFactories.has(value as object));
}

/** Source text of a function, or '' when it cannot be read. */
export function sourceOf(fn: unknown): string {
  try {
    return apply(fnToString, fn, []) as string;
  } catch {
    return '';
  }
}

// Searches and explicit loads are synchronous, so one module-level mode is enough: `refuse` while
// pagecall searches (factories must not run), `load` while it runs factories it was asked to.
type Mode = 'app' | 'refuse' | 'load';
let mode: Mode = 'app';
const touched: Array<{ bundle: Bundle; module: WebpackModule }> = [];

/** Runs `work` in a mode; when the outermost one ends, webpack's traces of refused or failed runs are cleared. */
export function withMode<T>(next: Mode, work: () => T): T {
  const previous = mode;
  mode = next;
  try {
    return work();
  } finally {
    mode = previous;
    if (previous === 'app') clearTouched();
  }
}

// webpack 5 with strictModuleErrorHandling stores the error of a run on the module (`module.error`)
// and throws it on every later require: pagecall's own refusals and failed loads must not stay there.
function clearTouched(): void {
  for (let i = 0; i < touched.length; i++) {
    const { bundle, module } = touched[i]!;
    if (hasOwn(module, 'error')) {
      bundle.keepsErrors = true;
      delete module.error;
    }
  }
  touched.length = 0;
}

/** How a search sees one module. */
export type ModuleState = { ran: true; exports: unknown } | { ran: false };

/** One bundle: its chunk array, `__webpack_require__` once reached, and its wrapped factories. */
export class Bundle {
  /** Its `require`, once reached. */
  require: WebpackRequire | null = null;
  /** Whether pagecall saw the chunk array before any chunk was installed. */
  readonly capture: 'early' | 'late';
  /** The runtime keeps a failed module's error and rethrows it (strictModuleErrorHandling). */
  keepsErrors = false;
  /** Why require or modules cannot be reached, when they cannot. */
  problem: string | undefined;
  private current: Push;
  private readonly entries = new Map<Push, Push>();
  private readonly ownIds = new Set<string>();

  /**
   * Takes over `array.push`. `onChange` is called (synchronously, keep it cheap) when modules
   * run or chunks are installed.
   */
  constructor(
    readonly chunkGlobal: string,
    readonly array: unknown[],
    readonly found: 'auto' | 'use',
    private readonly onChange: () => void,
  ) {
    const descriptor = getDescriptor(array, 'push');
    let push: unknown = nativePush;
    if (descriptor) push = 'value' in descriptor ? descriptor.value : descriptor.get ? apply(descriptor.get, array, []) : undefined;
    this.current = typeof push === 'function' ? (push as Push) : nativePush;
    const runtimeInstalled = this.current !== nativePush;
    // Before the runtime runs, it installs the chunks already in the array itself (not through
    // push): their factories are wrapped in place now.
    if (!runtimeInstalled) for (let i = 0; i < array.length; i++) this.wrapChunk(array[i]);
    this.capture = runtimeInstalled && array.length > 0 ? 'late' : 'early';
    try {
      defineProperty(array, 'push', {
        configurable: true,
        enumerable: true,
        get: () => this.entryFor(this.current),
        set: (value: Push) => {
          this.current = value;
        },
      });
    } catch {
      this.problem = 'its push cannot be replaced, so chunks loaded later are not seen before they run';
    }
    if (this.capture === 'late') this.reachRequire();
  }

  /** The push the page gets: wraps the factories of the chunks pushed, then hands them to `next`. */
  private entryFor(next: Push): Push {
    let entry = this.entries.get(next);
    if (!entry) {
      const bundle = this;
      entry = function (this: unknown, ...chunks: unknown[]): unknown {
        for (let i = 0; i < chunks.length; i++) bundle.wrapChunk(chunks[i]);
        const result = apply(next, this, chunks);
        bundle.onChange();
        return result;
      };
      this.entries.set(next, entry);
    }
    return entry;
  }

  private wrapChunk(chunk: unknown): void {
    if (!isArray(chunk) || chunk.length < 2) return;
    const modules = chunk[1] as Record<string, unknown> | null;
    if (modules === null || typeof modules !== 'object') return;
    const installed = this.require?.m;
    for (const id of keysOf(modules)) {
      const factory = modules[id];
      if (typeof factory !== 'function' || isFactory(factory)) continue;
      // Not installed yet, so it cannot have run: every run from now on is seen.
      const fresh = !installed || !hasOwn(installed, id);
      modules[id] = this.wrap(id, factory as Factory, fresh ? 'not-run' : 'unknown');
    }
  }

  private wrap(id: string, original: Factory, state: FactoryInfo['state']): Factory {
    const bundle = this;
    // Every field is set here: later assignments then never reach an Object.prototype setter.
    const info: FactoryInfo = { bundle, id, original, state, module: null, source: undefined };
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      const module = args[0] as WebpackModule;
      const asExports = this !== undefined && this === args[1];
      if (!bundle.require) bundle.adopt(args[2]);
      if (mode === 'refuse') {
        info.state = 'not-run';
        bundle.undo(info, module, asExports, module.exports);
        throw REFUSED;
      }
      let ok = false;
      try {
        const result = apply(original, this, args);
        ok = true;
        return result;
      } finally {
        if (!ok && mode === 'load') {
          info.state = 'not-run';
          bundle.undo(info, module, asExports, undefined);
        } else {
          info.state = 'ran';
          info.module = module;
          bundle.onChange();
        }
      }
    };
    wrappers.set(wrapper, info);
    originals.add(original);
    return wrapper;
  }

  /**
   * Leaves a module as if it had never been required: deleted from `require.c` where there is one,
   * otherwise its cache entry's `exports` becomes an accessor that runs the factory (whatever is in
   * `require.m` then) the first time the app's require reads it, and turns back into a plain value.
   * `exports` is the untouched object webpack made (a refused run) or undefined (a failed run: a
   * fresh object is used, as webpack would make).
   */
  private undo(info: FactoryInfo, module: WebpackModule, asExports: boolean, exports: unknown): void {
    touched.push({ bundle: this, module });
    const req = this.require;
    if (!req) return;
    if (req.c) {
      if (req.c[info.id] === module) delete req.c[info.id];
      return;
    }
    const bundle = this;
    const settle = (value: unknown): void => {
      defineProperty(module, 'exports', { value, writable: true, enumerable: true, configurable: true });
    };
    defineProperty(module, 'exports', {
      configurable: true,
      enumerable: true,
      get() {
        const fresh = exports ?? {};
        settle(fresh);
        const require = bundle.require!;
        try {
          apply(require.m![info.id] as Factory, asExports ? fresh : undefined, [module, fresh, require]);
        } catch (error) {
          if (error !== REFUSED && bundle.keepsErrors) module.error = error;
          throw error;
        }
        if (hasOwn(module, 'loaded')) module.loaded = true;
        return module.exports;
      },
      set: settle,
    });
  }

  /** Takes `require` when a factory hands it over, and wraps every factory it already has. */
  private adopt(candidate: unknown): void {
    if (typeof candidate !== 'function' || !(candidate as WebpackRequire).m || typeof (candidate as WebpackRequire).m !== 'object') return;
    this.require = candidate as WebpackRequire;
    this.problem = undefined;
    this.wrapInstalled();
  }

  /** Wraps factories installed without passing through pagecall (before it came, or by other code). */
  wrapInstalled(): void {
    const installed = this.require?.m;
    if (!installed) return;
    for (const id of keysOf(installed)) {
      const factory = installed[id];
      if (typeof factory === 'function' && !isFactory(factory)) installed[id] = this.wrap(id, factory as Factory, 'unknown');
    }
  }

  /**
   * Reaches `__webpack_require__`: webpack 5 calls the third element of a pushed chunk with it;
   * webpack 4 runs a pushed chunk's entry module, whose factory receives it. Both fake chunks are
   * taken out of the array again, and the webpack 4 module out of the module table.
   */
  reachRequire(): WebpackRequire | null {
    if (this.require) return this.require;
    if (this.current === nativePush) {
      this.problem = 'its runtime has not loaded yet';
      return null;
    }
    const chunkId = `pagecall_${random().toString(36).slice(2)}`;
    let reached: unknown = null;
    // No declared parameters: webpack 4 spreads a chunk's third element into its list of entry
    // modules, and a function of length 0 adds none there.
    const callback = function (): void {
      reached = arguments[0];
    };
    this.pushOwn([[chunkId], {}, callback]);
    if (!reached) {
      const moduleId = `${chunkId}_4`;
      const factory = (_module: unknown, _exports: unknown, require: unknown): void => {
        reached = require;
      };
      ownFactories.add(factory);
      this.ownIds.add(moduleId);
      this.pushOwn([[moduleId], { [moduleId]: factory }, [[moduleId]]]);
      const req = reached as WebpackRequire | null;
      if (req?.m) delete req.m[moduleId];
      if (req?.c) delete req.c[moduleId];
    }
    if (typeof reached === 'function' && (reached as WebpackRequire).m) this.adopt(reached);
    else this.problem = `${this.chunkGlobal}.push did not hand over __webpack_require__ (not a webpack JSONP chunk array?)`;
    return this.require;
  }

  private pushOwn(chunk: unknown[]): void {
    try {
      apply(this.current, this.array, [chunk]);
    } catch {
      // not a webpack runtime after all
    }
    for (let i = this.array.length - 1; i >= 0; i--) {
      if (this.array[i] === chunk) {
        apply(nativeSplice, this.array, [i, 1]);
        break;
      }
    }
  }

  /** Ids of the installed modules (pagecall's own excluded). */
  moduleIds(): string[] {
    const installed = this.require?.m;
    if (!installed) return [];
    const ids = keysOf(installed);
    return this.ownIds.size === 0 ? ids : ids.filter((id) => !this.ownIds.has(id));
  }

  private info(id: string): FactoryInfo | undefined {
    const installed = this.require?.m;
    if (!installed) return undefined;
    let factory = installed[id];
    if (typeof factory !== 'function') return undefined;
    if (!wrappers.has(factory as Factory) && !ownFactories.has(factory as object)) installed[id] = factory = this.wrap(id, factory as Factory, 'unknown');
    return wrappers.get(factory as Factory);
  }

  /** The source of a module's factory ('' when unknown). */
  factorySource(id: string): string {
    const info = this.info(id);
    if (!info) return '';
    info.source ??= sourceOf(info.original);
    return info.source;
  }

  /**
   * Whether a module has run, and its exports if so, without running anything. Call only inside
   * `withMode('refuse', …)`.
   */
  state(id: string): ModuleState {
    const req = this.require;
    const info = this.info(id);
    if (!req || !info) return { ran: false };
    if (req.c) {
      const cached = req.c[id];
      return cached ? { ran: true, exports: cached.exports } : { ran: false };
    }
    if (info.state === 'not-run') return { ran: false };
    if (info.state === 'ran' && info.module) return { ran: true, exports: info.module.exports };
    try {
      const exports = req(id);
      info.state = 'ran';
      return { ran: true, exports };
    } catch (error) {
      if (error === REFUSED) return { ran: false };
      // It ran and failed, and the runtime keeps failing it (strictModuleErrorHandling).
      info.state = 'ran';
      return { ran: true, exports: undefined };
    }
  }

  /** Runs a module the app has not run (explicitly asked for). Returns its exports, or the error it threw. */
  load(id: string): { ok: true; exports: unknown } | { ok: false; error: unknown } {
    const req = this.require;
    if (!req) return { ok: false, error: new Error(`pagecall.webpack: ${this.chunkGlobal} has no require`) };
    this.info(id);
    return withMode('load', () => {
      try {
        return { ok: true as const, exports: req(id) };
      } catch (error) {
        return { ok: false as const, error };
      }
    });
  }

  /** Counts for status(). */
  counts(): { modules: number; ran: number; notRun: number; unknown: number } {
    const out = { modules: 0, ran: 0, notRun: 0, unknown: 0 };
    const req = this.require;
    const installed = req?.m;
    if (!installed) return out;
    for (const id of this.moduleIds()) {
      out.modules++;
      if (req.c) {
        if (req.c[id]) out.ran++;
        else out.notRun++;
        continue;
      }
      const info = wrappers.get(installed[id] as Factory);
      const state = info?.state ?? 'unknown';
      if (state === 'ran') out.ran++;
      else if (state === 'not-run') out.notRun++;
      else out.unknown++;
    }
    return out;
  }
}
