/**
 * Reaching functions inside webpack bundles. The page's own `__webpack_require__` is obtained by
 * pushing a fake chunk whose runtime callback receives it (webpack 5 `webpackChunk*` arrays), or a
 * fake entry module (webpack 4 `webpackJsonp`). Its module cache and factories are then searched.
 */

/** The parts of `__webpack_require__` used here. */
export interface WebpackRequire {
  (id: string | number): unknown;
  /** module cache: id → {exports} */
  c?: Record<string, { exports?: unknown } | undefined>;
  /** module factories: id → factory */
  m?: Record<string, unknown>;
}

/** A module export that matched. */
export interface WebpackMatch {
  /** Module id in the bundle. */
  id: string;
  /** The module's exports object. */
  exports: unknown;
  /** The matching value (the exports, or a value nested in them). */
  value: unknown;
  /** Dotted path from the exports to the value (`''` for the exports themselves). */
  path: string;
}

/** Options of find(). */
export interface FindOptions {
  /** Also run module factories that have not run yet (default true). Running them can have side effects. */
  load?: boolean;
  /** How deep to look inside exports objects (default 4: protobuf namespaces nest). */
  depth?: number;
  /** Return every match instead of the first. */
  all?: boolean;
}

const objectKeys = Object.keys;
const hasOwn = Object.prototype.hasOwnProperty;
const isArray = Array.isArray;
const ownNames = Object.getOwnPropertyNames;
const random = Math.random;
const globalScope = globalThis as unknown as Record<string, unknown>;

let cached: WebpackRequire | null = null;

function chunkArrays(): { name: string; value: { push: (...a: unknown[]) => unknown } }[] {
  const out: { name: string; value: { push: (...a: unknown[]) => unknown } }[] = [];
  for (const name of ownNames(globalScope)) {
    if (!name.startsWith('webpackChunk') && name !== 'webpackJsonp' && !name.startsWith('webpackJsonp')) continue;
    const value = globalScope[name];
    if (isArray(value)) out.push({ name, value: value as unknown as { push: (...a: unknown[]) => unknown } });
  }
  return out;
}

/** The page's `__webpack_require__`, or null when no webpack bundle has loaded (yet). */
export function webpackRequire(): WebpackRequire | null {
  if (cached) return cached;
  for (const { name, value } of chunkArrays()) {
    let captured: WebpackRequire | null = null;
    const chunkId = `pagecall_${random().toString(36).slice(2)}`;
    try {
      if (name.startsWith('webpackJsonp')) {
        // webpack 4: [chunkIds, modules, entries]; the entry module runs with require.
        value.push([[chunkId], { [chunkId]: (_m: unknown, _e: unknown, req: WebpackRequire) => (captured = req) }, [[chunkId]]]);
      } else {
        // webpack 5: [chunkIds, modules, runtime]; the runtime callback gets require.
        value.push([[chunkId], {}, (req: WebpackRequire) => (captured = req)]);
      }
    } catch {
      continue;
    }
    if (captured) {
      cached = captured;
      return cached;
    }
  }
  return null;
}

function search(value: unknown, test: (v: unknown, key: string) => boolean, depth: number, path: string, seen: Set<unknown>, out: Array<{ value: unknown; path: string }>, all: boolean): void {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
  seen.add(value);
  let keys: string[];
  try {
    keys = objectKeys(value as object);
  } catch {
    return;
  }
  for (const key of keys) {
    let child: unknown;
    try {
      child = (value as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (test(child, key)) {
      out.push({ value: child, path: childPath });
      if (!all) return;
    }
    if (depth > 1) {
      search(child, test, depth - 1, childPath, seen, out, all);
      if (!all && out.length > 0) return;
    }
  }
}

function moduleIds(req: WebpackRequire, load: boolean): string[] {
  const ids = new Set<string>(objectKeys(req.c ?? {}));
  if (load) for (const id of objectKeys(req.m ?? {})) ids.add(id);
  return [...ids];
}

function exportsOf(req: WebpackRequire, id: string, load: boolean): { ok: boolean; exports: unknown } {
  const entry = req.c?.[id];
  if (entry && hasOwn.call(entry, 'exports')) return { ok: true, exports: entry.exports };
  if (!load) return { ok: false, exports: undefined };
  try {
    return { ok: true, exports: req(id) };
  } catch {
    return { ok: false, exports: undefined };
  }
}

/**
 * Searches the bundle's modules for values that pass `test` (checked on each module's exports and
 * on values nested in them). Throws when the page has no webpack bundle.
 */
export function find(test: (value: unknown, key: string) => boolean, options: FindOptions = {}): WebpackMatch[] {
  const req = webpackRequire();
  if (!req) throw new Error('pagecall.webpack: no webpack bundle found on this page (looked for webpackChunk* and webpackJsonp)');
  const load = options.load !== false;
  const depth = options.depth ?? 4;
  const all = options.all === true;
  const matches: WebpackMatch[] = [];
  // Modules that already ran first: finding the function there has no side effects.
  for (const pass of load ? [false, true] : [false]) {
    for (const id of moduleIds(req, pass)) {
      if (pass && req.c?.[id]) continue;
      const { ok, exports } = exportsOf(req, id, pass);
      if (!ok) continue;
      if (test(exports, '')) {
        matches.push({ id, exports, value: exports, path: '' });
        if (!all) return matches;
      }
      const found: Array<{ value: unknown; path: string }> = [];
      search(exports, test, depth, '', new Set(), found, all);
      for (const f of found) {
        matches.push({ id, exports, value: f.value, path: f.path });
        if (!all) return matches;
      }
    }
  }
  return matches;
}

/** Finds the first object or function that has all the named properties (e.g. `'decode', 'toObject'`). */
export function findByProps(...names: string[]): unknown {
  const match = find((v) => (typeof v === 'object' || typeof v === 'function') && v !== null && names.every((n) => n in (v as object)))[0];
  return match?.value;
}

/** Finds the first function whose source contains every given snippet (for minified names). */
export function findByCode(...snippets: string[]): unknown {
  const toString = Function.prototype.toString;
  const match = find((v) => {
    if (typeof v !== 'function') return false;
    let source: string;
    try {
      source = toString.call(v);
    } catch {
      return false;
    }
    return snippets.every((s) => source.includes(s));
  })[0];
  return match?.value;
}

/** Finds an export by its key (`findExport('toObject')`). */
export function findExport(name: string): unknown {
  const match = find((_v, key) => key === name)[0];
  return match?.value;
}
