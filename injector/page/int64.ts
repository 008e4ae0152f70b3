/**
 * 64-bit integers as protobuf.js users expect them: a registered function's options (`longs`, how
 * Long objects and bigints in its results leave; `bigints`, what `$bigint` arguments arrive as),
 * and finding the page's own Long class to build Longs from `$bigint` arguments.
 */
import { CodecError, type DecodeOptions, type EncodeOptions, type LongsMode } from '../../protocol/codec.js';
import { getPrototypeOf, keysOf, stringifyJson } from './builtins.js';
import type { BigintsMode, FunctionOptions, LongClass } from './types.js';

const LONGS: readonly LongsMode[] = ['bigint', 'string', 'number'];
const BIGINTS: readonly BigintsMode[] = ['bigint', 'string', 'long'];
const OPTION_NAMES = ['longs', 'bigints', 'Long'];

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;

/** How a registered function's values are encoded and decoded (undefined: the codec's defaults). */
export interface ValueOptions {
  encode: EncodeOptions | undefined;
  decode: DecodeOptions | undefined;
}

/** Every function without options shares this. */
export const DEFAULT_VALUE_OPTIONS: ValueOptions = { encode: undefined, decode: undefined };

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'string' ? stringifyJson(value) : typeof value;
}

/** True for a class that makes Longs: long.js's (any version since 2), which protobuf.js uses. */
export function isLongClass(value: unknown): value is LongClass {
  try {
    return typeof value === 'function' && typeof (value as { fromBits?: unknown }).fromBits === 'function';
  } catch {
    return false;
  }
}

/** A Long of `Long`'s class for `value`: signed unless it only fits unsigned; a CodecError outside 64 bits. */
export function makeLong(Long: LongClass, value: bigint): unknown {
  if (value < MIN_INT64 || value > MAX_UINT64) {
    throw new CodecError(`$bigint ${value} does not fit in 64 bits, so it cannot be a Long (bigints: 'long'); use bigints: 'string' or 'bigint' for it`);
  }
  const unsigned = value > MAX_INT64;
  const low = Number(BigInt.asIntN(32, value));
  const high = Number(BigInt.asIntN(32, value >> 32n));
  return typeof Long.fromBits === 'function' ? Long.fromBits(low, high, unsigned) : new Long(low, high, unsigned);
}

/**
 * Finds the page's Long class, in this order: the class of the last Long a result of this page
 * carried (`saw`), `protobuf.util.Long`, a `Long` or `dcodeIO.Long` global, then a module of a
 * webpack bundle the app already ran (found once, without running anything).
 */
export class LongFinder {
  private seen: LongClass | undefined;
  private bundled: LongClass | undefined;
  private readonly searchBundles: () => unknown;

  /** `searchBundles` returns a Long class from the page's webpack bundles, or anything else when there is none. */
  constructor(searchBundles: () => unknown) {
    this.searchBundles = searchBundles;
  }

  /** Notes the class of a Long the codec wrote (the codec calls this for each one). */
  readonly saw = (long: object): void => {
    try {
      const Long = (getPrototypeOf(long) as { constructor?: unknown } | null)?.constructor;
      if (Long !== this.seen && isLongClass(Long)) this.seen = Long;
    } catch {
      // a prototype whose constructor cannot be read: nothing to note
    }
  };

  /** The page's Long class, or undefined when there is none to be found. */
  find(): LongClass | undefined {
    if (this.seen) return this.seen;
    const g = globalThis as { protobuf?: { util?: { Long?: unknown } }; Long?: unknown; dcodeIO?: { Long?: unknown } };
    for (const read of [() => g.protobuf?.util?.Long, () => g.Long, () => g.dcodeIO?.Long]) {
      try {
        const Long = read();
        if (isLongClass(Long)) return Long;
      } catch {
        // a global that throws when read
      }
    }
    if (!this.bundled) {
      try {
        const Long = this.searchBundles();
        if (isLongClass(Long)) this.bundled = Long;
      } catch {
        // no webpack bundle on this page
      }
    }
    return this.bundled;
  }
}

const NO_LONG_CLASS =
  "bigints: 'long' needs the page's Long class, and none was found (no Long in this page's results so far, " +
  'no protobuf.util.Long, Long or dcodeIO.Long global, no module exporting one in a webpack bundle the app ran); ' +
  "pass it with register(name, fn, { bigints: 'long', Long }), or use bigints: 'string' (protobuf.js takes decimal strings for 64-bit fields)";

/**
 * Checks a register/expose options argument and turns it into codec options; throws a TypeError
 * naming the method and the option.
 */
export function valueOptions(options: unknown, method: string, longs: LongFinder): ValueOptions {
  if (options === undefined) return DEFAULT_VALUE_OPTIONS;
  if (options === null || typeof options !== 'object') throw new TypeError(`pagecall.${method}: options must be an object like { longs: 'string' }, got ${describe(options)}`);
  const given = options as FunctionOptions & Record<string, unknown>;
  for (const key of keysOf(given)) {
    if (!OPTION_NAMES.includes(key)) throw new TypeError(`pagecall.${method}: unknown option ${stringifyJson(key)} (the options are ${OPTION_NAMES.join(', ')})`);
  }
  const { longs: longsMode, bigints, Long } = given;
  if (longsMode !== undefined && !LONGS.includes(longsMode)) {
    throw new TypeError(`pagecall.${method}: options.longs must be ${LONGS.map((m) => `'${m}'`).join(', ')}; got ${describe(longsMode)}`);
  }
  if (bigints !== undefined && !BIGINTS.includes(bigints)) {
    throw new TypeError(`pagecall.${method}: options.bigints must be ${BIGINTS.map((m) => `'${m}'`).join(', ')}; got ${describe(bigints)}`);
  }
  if (Long !== undefined) {
    if (bigints !== 'long') throw new TypeError(`pagecall.${method}: options.Long is used only with bigints: 'long'`);
    if (typeof Long !== 'function') throw new TypeError(`pagecall.${method}: options.Long must be the Long class (protobuf.util.Long, or long.js's default export), got ${describe(Long)}`);
  }
  const encode: EncodeOptions | undefined = longsMode === undefined || longsMode === 'bigint' ? undefined : { longs: longsMode };
  let decode: DecodeOptions | undefined;
  if (bigints === 'string') decode = { bigint: (value) => `${value}` };
  if (bigints === 'long') {
    decode = {
      bigint: (value) => {
        const found = Long ?? longs.find();
        if (!found) throw new CodecError(NO_LONG_CLASS);
        return makeLong(found, value);
      },
    };
  }
  return encode === undefined && decode === undefined ? DEFAULT_VALUE_OPTIONS : { encode, decode };
}
