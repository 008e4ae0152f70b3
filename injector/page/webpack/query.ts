/** Turning the finders' arguments into a test, the source strings that pick modules, and options. */
import { isArray, stringifyJson } from '../builtins.js';
import { isFactory, sourceOf } from './bundle.js';
import type { WaitForOptions, WebpackMatch, WebpackQueryObject, WebpackResult, WebpackTest } from './types.js';
import { isObjectLike } from './walk.js';

/** Default `depth`: protobuf.js classes sit five levels below the protobuf module (`roots.<name>.webcast.im.Response`), and their methods one more. */
export const DEFAULT_DEPTH = 6;
/** Largest `depth` accepted. */
const MAX_DEPTH = 32;
/** Default `timeoutMs` of waitFor(). */
export const DEFAULT_WAIT_MS = 30000;

/** A query ready to run. */
export interface Plan {
  test: WebpackTest;
  /** Strings a factory's source must all contain for `load` to run it. */
  source: string[];
  /** The query as words, for messages. */
  describe: string;
}

/** Options with defaults applied. */
export interface ResolvedOptions {
  load: boolean;
  depth: number;
  all: boolean;
  result: WebpackResult;
  source: string[];
}

const QUERY_KEYS = new Set(['export', 'props', 'code', 'test']);
const OPTION_KEYS = new Set(['load', 'source', 'depth', 'all', 'result', 'timeoutMs', 'signal']);
const RESULTS = new Set<string>(['value', 'owner', 'export', 'match']);

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (isArray(value)) return 'array';
  return typeof value;
}

function stringList(value: unknown, field: string, caller: string): string[] {
  if (!isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string' && s !== '')) {
    throw new TypeError(`pagecall.webpack.${caller}: ${field} must be a non-empty array of non-empty strings, got ${kind(value)}`);
  }
  return value as string[];
}

function hasAll(text: string, parts: string[]): boolean {
  for (let i = 0; i < parts.length; i++) if (!text.includes(parts[i]!)) return false;
  return true;
}

/** Whether a function's source contains every snippet (module factories never do: they are not results). */
export function codeMatches(value: unknown, snippets: string[]): boolean {
  return typeof value === 'function' && !isFactory(value) && hasAll(sourceOf(value), snippets);
}

/** A test that passes objects and functions having every named member, own or inherited. */
export function propsMatch(value: unknown, names: string[]): boolean {
  if (!isObjectLike(value)) return false;
  for (let i = 0; i < names.length; i++) if (!(names[i]! in value)) return false;
  return true;
}

/** Builds the plan for a predicate or a query object. */
export function planFor(query: unknown, caller: string): Plan {
  if (typeof query === 'function') {
    const name = (query as { name?: unknown }).name;
    return { test: query as WebpackTest, source: [], describe: `the predicate${typeof name === 'string' && name ? ` ${name}` : ''}` };
  }
  if (!isObjectLike(query) || isArray(query)) {
    throw new TypeError(`pagecall.webpack.${caller}: expected a predicate (value, key) => boolean or a query like {export: 'Frame'}, got ${kind(query)}`);
  }
  const q = query as WebpackQueryObject & Record<string, unknown>;
  for (const key of Object.keys(q)) {
    if (!QUERY_KEYS.has(key)) throw new TypeError(`pagecall.webpack.${caller}: unknown query field ${stringifyJson(key)} (use export, props, code or test)`);
  }
  const checks: WebpackTest[] = [];
  const source: string[] = [];
  const words: string[] = [];
  if (q.export !== undefined) {
    if (typeof q.export !== 'string' || q.export === '') throw new TypeError(`pagecall.webpack.${caller}: export must be a non-empty string, got ${kind(q.export)}`);
    const name = q.export;
    checks.push((_value, key) => key === name);
    source.push(name);
    words.push(`export: ${stringifyJson(name)}`);
  }
  if (q.props !== undefined) {
    const names = stringList(q.props, 'props', caller);
    checks.push((value) => propsMatch(value, names));
    source.push(...names);
    words.push(`props: ${stringifyJson(names)}`);
  }
  if (q.code !== undefined) {
    const snippets = stringList(q.code, 'code', caller);
    checks.push((value) => codeMatches(value, snippets));
    source.push(...snippets);
    words.push(`code: ${stringifyJson(snippets)}`);
  }
  if (q.test !== undefined) {
    if (typeof q.test !== 'function') throw new TypeError(`pagecall.webpack.${caller}: test must be a function, got ${kind(q.test)}`);
    checks.push(q.test);
    words.push('test');
  }
  if (checks.length === 0) throw new TypeError(`pagecall.webpack.${caller}: the query is empty (give export, props, code or test)`);
  const test: WebpackTest = (value, key) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i]!(value, key)) return false;
    return true;
  };
  return { test, source, describe: `{${words.join(', ')}}` };
}

/** Validates options (unknown fields and wrong types are errors naming the field) and applies defaults. */
export function resolveOptions(options: unknown, caller: string): ResolvedOptions & { timeoutMs: number; signal: AbortSignal | undefined } {
  if (options === undefined) return { load: false, depth: DEFAULT_DEPTH, all: false, result: 'value', source: [], timeoutMs: DEFAULT_WAIT_MS, signal: undefined };
  if (!isObjectLike(options) || isArray(options) || typeof options === 'function') {
    throw new TypeError(`pagecall.webpack.${caller}: options must be an object, got ${kind(options)}`);
  }
  const o = options as WaitForOptions & Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) throw new TypeError(`pagecall.webpack.${caller}: unknown option ${stringifyJson(key)}`);
  }
  if (o.load !== undefined && typeof o.load !== 'boolean') throw new TypeError(`pagecall.webpack.${caller}: options.load must be true or false, got ${kind(o.load)}`);
  if (o.all !== undefined && typeof o.all !== 'boolean') throw new TypeError(`pagecall.webpack.${caller}: options.all must be true or false, got ${kind(o.all)}`);
  const depth = o.depth ?? DEFAULT_DEPTH;
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
    throw new TypeError(`pagecall.webpack.${caller}: options.depth must be a whole number from 1 to ${MAX_DEPTH}, got ${stringifyJson(depth) ?? kind(depth)}`);
  }
  const result = o.result ?? 'value';
  if (typeof result !== 'string' || !RESULTS.has(result)) {
    throw new TypeError(`pagecall.webpack.${caller}: options.result must be 'value', 'owner', 'export' or 'match', got ${stringifyJson(result) ?? kind(result)}`);
  }
  const source = o.source === undefined ? [] : stringList(o.source, 'options.source', caller);
  const timeoutMs = o.timeoutMs ?? DEFAULT_WAIT_MS;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new TypeError(`pagecall.webpack.${caller}: options.timeoutMs must be a number of milliseconds (0 or more, or Infinity), got ${kind(timeoutMs)}`);
  }
  const signal = o.signal;
  if (signal !== undefined && (!isObjectLike(signal) || typeof (signal as AbortSignal).addEventListener !== 'function' || typeof (signal as AbortSignal).aborted !== 'boolean')) {
    throw new TypeError(`pagecall.webpack.${caller}: options.signal must be an AbortSignal, got ${kind(signal)}`);
  }
  return { load: o.load === true, depth, all: o.all === true, result: result as WebpackResult, source, timeoutMs, signal };
}

/** Splits `('a', 'b', {options})` into the strings and the options. */
export function splitArgs(args: unknown[], caller: string, what: string): { strings: string[]; options: unknown } {
  let options: unknown;
  let end = args.length;
  const last = args[end - 1];
  if (end > 0 && typeof last !== 'string') {
    options = last;
    end--;
  }
  const strings = args.slice(0, end);
  if (strings.length === 0) throw new TypeError(`pagecall.webpack.${caller}: give at least one ${what}`);
  for (const s of strings) {
    if (typeof s !== 'string' || s === '') throw new TypeError(`pagecall.webpack.${caller}: each ${what} must be a non-empty string, got ${kind(s)}`);
  }
  return { strings: strings as string[], options };
}

/** What a finder returns for its matches under `result` / `all`. */
export function pick(matches: WebpackMatch[], options: ResolvedOptions): unknown {
  if (options.all) return matches;
  const first = matches[0];
  if (!first) return undefined;
  switch (options.result) {
    case 'owner':
      return first.owner;
    case 'export':
      return first.export;
    case 'match':
      return first;
    case 'value':
      return first.value;
  }
}
