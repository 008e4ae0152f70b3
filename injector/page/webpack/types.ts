/** Public types of the webpack helpers (`pagecall.webpack`). */

/** The parts of `__webpack_require__` pagecall uses. */
export interface WebpackRequire {
  (id: string | number): unknown;
  /** Module cache, id → module (webpack 4 and development builds; webpack 5 production builds have none). */
  c?: Record<string, WebpackModule | undefined>;
  /** Module factories: id → factory. */
  m?: Record<string, unknown>;
}

/** A module object as webpack hands it to the module's factory. */
export interface WebpackModule {
  exports?: unknown;
  [key: string]: unknown;
}

/** Tests one value found in a module's exports; `key` is the property it sits under (`''` for the exports). */
export type WebpackTest = (value: unknown, key: string) => boolean;

/** What to look for, as data: every part given must hold for the same value. */
export interface WebpackQueryObject {
  /** The value sits under this key: an export name, or a key nested inside exports (`'Response'`). */
  export?: string;
  /** The value is an object or function with all these members, own or inherited (`['decode', 'toObject']`). */
  props?: string[];
  /** The value is a function whose source contains all these strings (minified code keeps strings). */
  code?: string[];
  /** And it passes this predicate. */
  test?: WebpackTest;
}

/** A predicate, or a query object. */
export type WebpackQuery = WebpackTest | WebpackQueryObject;

/** What a single-result finder returns for its first match. */
export type WebpackResult = 'value' | 'owner' | 'export' | 'match';

/** Options of the finders. */
export interface FindOptions {
  /**
   * Also run module factories the app has not run yet, when their source contains the query's
   * strings (export name, props, code, `source`). Off by default: running a module early has side
   * effects and can leave the app a module set up too soon. A run that throws is undone so the app
   * later runs that module afresh.
   */
  load?: boolean;
  /** More strings a factory's source must contain for `load` to run it (required with a bare predicate). */
  source?: string[];
  /** How many levels below a module's exports to look (default 6: protobuf.js classes sit 5 below the protobuf module). */
  depth?: number;
  /** Every match instead of the first: the finders then return `WebpackMatch[]`. */
  all?: boolean;
  /** What the first match gives: its value (default), its owner, the module export it sits in, or the whole match. */
  result?: WebpackResult;
}

/** Options of waitFor(). */
export interface WaitForOptions extends FindOptions {
  /** Give up after this many milliseconds (default 30000; `Infinity` waits as long as the page lives). */
  timeoutMs?: number;
  /** Stop waiting when this aborts (a registered function passes `this.signal`). */
  signal?: AbortSignal;
}

/** One value found in a module's exports. */
export interface WebpackMatch {
  /** The chunk global of the bundle the module belongs to (`webpackChunkapp`). */
  chunkGlobal: string;
  /** Module id in that bundle. */
  id: string;
  /** The module's exports. */
  exports: unknown;
  /** Dotted path from the exports to the value (`''` for the exports themselves). */
  path: string;
  /** The last key of the path (`''` for the exports). */
  key: string;
  /** The value. */
  value: unknown;
  /** The object or function the value is a property of (what `this` is when the page calls `owner.key()`); undefined for the exports. */
  owner: unknown;
  /** The first key of the path: the module export the value sits in (`''` for the exports). */
  exportName: string;
  /** That export's value (the exports themselves when the path is empty). */
  export: unknown;
}

/** What pagecall sees of one bundle. */
export interface WebpackBundleStatus {
  /** Name of its chunk array on the global object. */
  chunkGlobal: string;
  /** How it was found: by its name or shape (`auto`) or through `use(name)`. */
  found: 'auto' | 'use';
  /** `early`: pagecall watched its chunk array before the runtime installed chunks (every later module run is seen); `late`: chunks were installed first, and modules that ran before are reached through webpack's require (their cached exports; nothing is run). */
  capture: 'early' | 'late';
  /** Whether `__webpack_require__` has been reached. */
  require: boolean;
  /** Whether it has a module cache (`require.c`). */
  cache: boolean;
  /** Module factories installed. */
  modules: number;
  /** Modules known to have run. */
  ran: number;
  /** Modules known not to have run yet. */
  notRun: number;
  /** Modules not looked at yet (a search finds out, without running them). */
  unknown: number;
  /** Why something cannot be seen, when it cannot. */
  problem?: string;
}

/** Snapshot returned by `pagecall.webpack.status()`. */
export interface WebpackStatus {
  bundles: WebpackBundleStatus[];
  /** Chunk globals named with `use()` that the page has not created (yet). */
  awaiting: string[];
  /** waitFor() calls still waiting. */
  waiting: number;
}

/** `pagecall.webpack`: reaching functions inside webpack bundles. Nothing here runs a module the app has not run, unless `load: true` says so. */
export interface WebpackHelpers {
  /** `__webpack_require__` of the first bundle (or the one named with use()), or null when no bundle has loaded. */
  require(): WebpackRequire | null;
  /** Matches of a predicate or query in module exports: the first, or every one with `all`. */
  find(query: WebpackQuery, options?: FindOptions): WebpackMatch[];
  /** The first value exported (or nested in exports) under `name`. */
  findExport(name: string, options?: FindOptions): unknown;
  /** The first object or function that has all the named members (options may follow the names). */
  findByProps(...args: [...names: string[], options: FindOptions] | string[]): unknown;
  /** The first function whose source contains every snippet; `result: 'owner'` gives the class or object holding it. */
  findByCode(...args: [...snippets: string[], options: FindOptions] | string[]): unknown;
  /** Resolves with the first match once there is one, including in chunks the page loads later; rejects on timeout or abort. */
  waitFor(query: WebpackQuery, options?: WaitForOptions): Promise<unknown>;
  /** Names a chunk global (for bundles whose array pagecall does not recognise by itself). */
  use(chunkGlobal: string): void;
  /** What pagecall sees of the page's bundles. */
  status(): WebpackStatus;
}
