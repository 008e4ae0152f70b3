/**
 * Value codec: how values that JSON cannot carry travel in `args` and results, over the page
 * WebSocket and over HTTP alike. A tagged value is an object with exactly one key from TAGS:
 *
 *   {"$bytes": "<base64>"}        Uint8Array / ArrayBuffer / any ArrayBufferView / Node Buffer
 *   {"$undefined": true}          undefined (where JSON would turn it into null or drop it)
 *   {"$bigint": "123"}            bigint, and Long objects (protobuf.js, the `long` package)
 *   {"$number": "NaN"}            NaN, Infinity, -Infinity, -0
 *   {"$date": "<ISO 8601>"}       Date
 *   {"$map": [[k, v], ...]}       Map
 *   {"$set": [v, ...]}            Set
 *   {"$escape": {...}}            a plain object that happens to look like a tag
 *
 * Everything else is plain JSON. Object properties holding undefined, functions or symbols are
 * dropped, as JSON.stringify does. How 64-bit integers leave (`longs`) and how `$bigint` arrives
 * (`bigint`) can be chosen per call, see EncodeOptions and DecodeOptions. What cannot be carried faithfully is refused with a CodecError
 * naming where it sits (`result.items[3].el: a DOM node (HTMLDivElement) cannot be sent`): a
 * function or symbol anywhere but in an object property, an object of a built-in or host class the
 * codec does not know (DOM nodes, Window, Promise, RegExp, WeakMap...) unless it has toJSON, cycles
 * and nesting deeper than MAX_DEPTH.
 */

/** A JSON value as it travels on the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The reserved tag keys. */
export const TAGS = ['$bytes', '$undefined', '$bigint', '$number', '$date', '$map', '$set', '$escape'] as const;

const TAG_SET: ReadonlySet<string> = new Set(TAGS);

/**
 * The built-ins the codec calls. Captured when this module loads; a page passes the copies it
 * trusts instead (injector/page/builtins.ts: sites replace these before a pasted injector loads).
 */
export interface CodecNatives {
  /** `Array.isArray`. */
  isArray(value: unknown): value is unknown[];
  /** `Object.keys`. */
  keys(value: object): string[];
  /** `Object.getPrototypeOf`. */
  getPrototypeOf(value: object): unknown;
  /** `Object.prototype.hasOwnProperty`, called with the object as `this`. */
  hasOwnProperty: (this: object, key: PropertyKey) => boolean;
  /** `Object.prototype.toString`, called with the object as `this`. */
  objectToString: (this: unknown) => string;
  /** `JSON.stringify` (for error messages). */
  stringify(value: unknown): string | undefined;
}

const LOAD_TIME_NATIVES: CodecNatives = {
  isArray: Array.isArray,
  keys: Object.keys,
  getPrototypeOf: Object.getPrototypeOf,
  hasOwnProperty: Object.prototype.hasOwnProperty,
  objectToString: Object.prototype.toString,
  stringify: JSON.stringify,
};
// `__proto__` in decoded data must stay data: keys are defined, not assigned (captured at load).
const defineProperty = Object.defineProperty;
const objectPrototype = Object.prototype;
const arrayPrototype = Array.prototype;
const isView = ArrayBuffer.isView;
const getTime = Date.prototype.getTime;
const toISOString = Date.prototype.toISOString;

/** How 64-bit integers (Long objects and bigints) leave: `{"$bigint": "…"}`, a decimal string, or a number when exact. */
export type LongsMode = 'bigint' | 'string' | 'number';

/** Per-call choices for encode. */
export interface EncodeOptions {
  /**
   * How Long objects and bigints are written: `'bigint'` (default) as `{"$bigint": "…"}`, `'string'`
   * as a decimal string, `'number'` as a JSON number when it is a safe integer (within ±(2^53 − 1)),
   * else as `{"$bigint": "…"}` — never rounded.
   */
  longs?: LongsMode;
}

/** Per-call choices for decode. */
export interface DecodeOptions {
  /** What a `$bigint` becomes (default: the bigint). A CodecError it throws is reported at the value's path. */
  bigint?: (value: bigint) => unknown;
}

/** The largest integer a double holds exactly, as a bigint. */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_32 = 0x100000000n;

/**
 * The value of a Long (protobuf.js's util.Long, the `long` package, any version since 2), or
 * undefined for anything else. A Long is an instance of a class (never a plain object: data that
 * happens to have `low`, `high` and `unsigned` stays data) marked by `__isLong__` or by Long's
 * `getHighBits`/`getLowBits` methods, with own `low` and `high` 32-bit integers and an own
 * boolean `unsigned`.
 */
export function longValue(value: unknown, natives: CodecNatives = LOAD_TIME_NATIVES): bigint | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const proto = natives.getPrototypeOf(value);
  if (proto === objectPrototype || proto === null) return undefined;
  const long = longOf(value, natives);
  return typeof long === 'number' ? BigInt(long) : long;
}

/**
 * longValue for an object already known to be a class instance: a number when the value is a safe
 * integer (no bigint arithmetic for the common case: ids, timestamps, counters), else a bigint.
 */
function longOf(obj: object, natives: CodecNatives): number | bigint | undefined {
  let low: unknown;
  let high: unknown;
  let unsigned: unknown;
  try {
    const o = obj as { __isLong__?: unknown; getHighBits?: unknown; getLowBits?: unknown; low?: unknown; high?: unknown; unsigned?: unknown };
    if (o.__isLong__ !== true && (typeof o.getHighBits !== 'function' || typeof o.getLowBits !== 'function')) return undefined;
    ({ low, high, unsigned } = o);
    if (typeof low !== 'number' || typeof high !== 'number' || typeof unsigned !== 'boolean') return undefined;
    if ((low | 0) !== low || (high | 0) !== high) return undefined;
    const own = natives.hasOwnProperty;
    if (!own.call(obj, 'low') || !own.call(obj, 'high') || !own.call(obj, 'unsigned')) return undefined;
  } catch {
    // a host object or proxy that throws on reads is not a Long
    return undefined;
  }
  const top = unsigned ? high >>> 0 : high;
  // |top| < 2^21: top * 2^32 + bottom is a safe integer (|value| ≤ 2^53 − 1), exact as a double.
  if (top < 0x200000 && top > -0x200000) return top * 4294967296 + (low >>> 0);
  return BigInt(top) * TWO_32 + BigInt(low >>> 0);
}

/** Nesting deeper than this is refused: it is almost always a cycle the walk missed or an attack. */
export const MAX_DEPTH = 200;

/** Base64 functions; each side passes the fastest it has (Buffer in Node, atob/btoa in pages). */
export interface Base64 {
  encode(bytes: Uint8Array): string;
  decode(text: string): Uint8Array;
}

/** Path segments shown in full at each end of a long path (a value nested 200 levels deep). */
const PATH_ENDS = 8;

/**
 * Raised for values that cannot be encoded or decoded. The message is `path: reason` once the error
 * has left the codec (`result.items[3].el: a DOM node (HTMLDivElement) cannot be sent`).
 */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  /** What is wrong, without where. */
  readonly reason: string;
  /** Path segments (`.key`, `[3]`), innermost first, added while the error unwinds. */
  readonly trail: string[] = [];

  /** An error for `reason`; the codec adds where it happened. */
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }

  /** Where the bad value sits, written from `root` (`result.items[3].el`); long paths are cut in the middle. */
  path(root: string): string {
    const trail = this.trail;
    const n = trail.length;
    let out = root;
    for (let i = n - 1; i >= 0; i--) {
      if (n > 2 * PATH_ENDS + 1 && i === n - 1 - PATH_ENDS) {
        out += `…(${n - 2 * PATH_ENDS} more)…`;
        i = PATH_ENDS - 1;
      }
      out += trail[i];
    }
    return out;
  }
}

/** Describes a thrown value in one line (`TypeError: x is undefined`). */
function describeThrown(thrown: unknown): string {
  try {
    const { name, message } = thrown as { name?: unknown; message?: unknown };
    if (typeof message === 'string') return `${typeof name === 'string' ? name : 'Error'}: ${message}`;
    return String(thrown);
  } catch {
    return 'a value that cannot be turned into a string';
  }
}

/** The CodecError for `thrown` (one from page code, e.g. a getter or toJSON, is wrapped), one segment further out. */
function within(thrown: unknown, segment: string): CodecError {
  const error = thrown instanceof CodecError ? thrown : new CodecError(`reading it threw ${describeThrown(thrown)}`);
  error.trail.push(segment);
  return error;
}

/** `thrown` as it leaves the codec: a CodecError's message gets its path from `root`. */
function located(thrown: unknown, root: string): unknown {
  if (!(thrown instanceof CodecError)) return thrown;
  let path = thrown.path(root);
  if (root === '' && path.startsWith('.')) path = path.slice(1);
  thrown.message = path === '' ? thrown.reason : `${path}: ${thrown.reason}`;
  return thrown;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function functionName(fn: unknown): string {
  try {
    const name = (fn as { name?: unknown }).name;
    return typeof name === 'string' && name !== '' ? ` (${name})` : '';
  } catch {
    return '';
  }
}

/**
 * Why an object whose prototype is not Object.prototype cannot be sent, or undefined when it can
 * (an instance of a class: its own properties, as JSON.stringify sends them). Built-in and host
 * objects tell their class through Symbol.toStringTag; their data sits in internal slots or on
 * prototypes, so JSON would send `{}` or junk for them.
 */
function refusal(obj: object, objectToString: CodecNatives['objectToString']): string | undefined {
  let tag: string;
  try {
    tag = objectToString.call(obj).slice(8, -1);
  } catch {
    return 'an object that cannot be read (from another origin?) cannot be sent';
  }
  if (tag === 'Object') return undefined;
  if (tag === 'Promise') return 'a Promise cannot be sent (await it first)';
  try {
    const node = obj as { nodeType?: unknown; nodeName?: unknown };
    if (typeof node.nodeType === 'number' && typeof node.nodeName === 'string') {
      return `a DOM node (${tag}) cannot be sent; send data taken from it (textContent, getAttribute(...), outerHTML)`;
    }
  } catch {
    // a host object that throws on reads: described by its class below
  }
  return `an object of class ${tag} cannot be sent`;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
LOOKUP['-'.charCodeAt(0)] = 62;
LOOKUP['_'.charCodeAt(0)] = 63;

/** Plain-JS base64 (standard alphabet out; standard or URL-safe in, padding optional). */
export const portableBase64: Base64 = {
  encode(bytes) {
    let out = '';
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
    }
    const rest = bytes.length - i;
    if (rest === 1) {
      const n = bytes[i]! << 16;
      out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
    } else if (rest === 2) {
      const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
      out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
    }
    return out;
  },
  decode(text) {
    let end = text.length;
    while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
    if (end % 4 === 1) throw new CodecError('invalid base64 length');
    const out = new Uint8Array(Math.floor((end * 3) / 4));
    let bits = 0;
    let acc = 0;
    let o = 0;
    for (let i = 0; i < end; i++) {
      const c = text.charCodeAt(i);
      const v = c < 128 ? LOOKUP[c]! : -1;
      if (v < 0) throw new CodecError(`invalid base64 character at ${i}`);
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = (acc >> bits) & 255;
      }
    }
    return out;
  },
};

/** Encodes and decodes values; create one per side with its base64 implementation. */
export interface Codec {
  /**
   * Turns a value into wire JSON. Throws CodecError for what cannot be carried (see the top of this
   * file), its message naming the path from `root` (`result.items[3]: a function cannot be sent`).
   */
  encode(value: unknown, root?: string, options?: EncodeOptions): Json;
  /**
   * Turns wire JSON back into values (Uint8Array, bigint, Date, Map, Set, undefined...). Throws
   * CodecError for malformed tags, naming the path from `root` (`args[1]: $map: expected...`).
   * Arrays of plain values come back as the same array: pass freshly parsed JSON, not a value you keep.
   */
  decode(value: unknown, root?: string, options?: DecodeOptions): unknown;
}

/** What a page adds when it creates its codec. */
export interface CodecSetup {
  /** Built-ins to call instead of the ones captured when this module loaded. */
  natives?: Partial<CodecNatives>;
  /** Called with each Long that encode writes (a page keeps its class, to make Longs of `$bigint` arguments). */
  onLong?: (long: object) => void;
}

/**
 * The objects being encoded, from the root down to the current one: meeting one of them again is
 * a cycle. A plain stack searched from the bottom: paths are short (a Set's hashing cost a quarter
 * of encoding a large result), at worst MAX_DEPTH long. Only indexed writes, no methods a page
 * could have replaced.
 */
class Ancestors {
  private readonly items: object[] = [];
  private n = 0;

  has(obj: object): boolean {
    const items = this.items;
    for (let i = 0; i < this.n; i++) if (items[i] === obj) return true;
    return false;
  }

  /** Enters `obj` (every add is undone by a delete, innermost first). */
  add(obj: object): void {
    this.items[this.n++] = obj;
  }

  /** Leaves the innermost object. */
  delete(_obj: object): void {
    this.n--;
  }
}

/** Creates a codec over the given base64 implementation (and, in pages, the built-ins it may trust). */
export function createCodec(base64: Base64 = portableBase64, setup: CodecSetup = {}): Codec {
  const natives: CodecNatives = { ...LOAD_TIME_NATIVES, ...setup.natives };
  const onLong = setup.onLong;
  const { isArray, keys: objectKeys, getPrototypeOf, objectToString, stringify } = natives;

  /** `.name` for identifier keys, `["odd key"]` for others. */
  const keySegment = (key: string): string => (IDENTIFIER.test(key) ? `.${key}` : `[${stringify(key)}]`);

  /** `.get("key")` for a map entry with a string or number key, `.values()[i]` otherwise. */
  const mapValueSegment = (key: unknown, index: number): string =>
    typeof key === 'string' || typeof key === 'number' ? `.get(${stringify(key)})` : `.values()[${index}]`;

  // The options of the encode or decode running now (set on entry, put back on exit).
  let longs: LongsMode = 'bigint';
  let makeBigint: ((value: bigint) => unknown) | undefined;

  /** A 64-bit integer (a Long's value or a bigint) as `longs` says. */
  // A Long's value arrives as a number when it is a safe integer (longOf), else as a bigint.
  const int64 = (value: bigint | number): Json => {
    if (longs === 'string') return `${value}`;
    if (longs === 'number') {
      if (typeof value === 'number') return value;
      if (value <= MAX_SAFE && value >= -MAX_SAFE) return Number(value);
    }
    return { $bigint: `${value}` };
  };

  // `element` is true where JSON would write null for a function (array items, map entries, set
  // members, the value itself): there undefined becomes $undefined and a function is refused.
  // `seen` is made at the first object: most values are primitives, and a stack per value adds up.
  // Paths are built only when something fails: each level adds its segment while the error unwinds.
  // Plain objects and arrays (almost everything in a large result) take the short road: one
  // prototype read decides, and strings, booleans and ordinary numbers inside them are copied
  // without a call; everything else goes through `encode` and its checks in the documented order.
  const encode = (value: unknown, depth: number, seenSoFar: Ancestors | undefined, element: boolean): Json | undefined => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (Number.isFinite(value) && !Object.is(value, -0)) return value;
        return { $number: Object.is(value, -0) ? '-0' : String(value) };
      case 'bigint':
        return int64(value);
      case 'undefined':
        return element ? { $undefined: true } : undefined;
      case 'function':
        if (!element) return undefined;
        throw new CodecError(`a function${functionName(value)} cannot be sent`);
      case 'symbol':
        if (!element) return undefined;
        throw new CodecError(`a symbol (${value.toString()}) cannot be sent`);
      case 'object':
        break;
    }
    if (value === null) return null;
    const obj = value as object;
    const seen = seenSoFar ?? new Ancestors();
    if (depth > MAX_DEPTH) throw new CodecError(`nested deeper than ${MAX_DEPTH} levels`);
    if (seen.has(obj)) throw new CodecError('the value contains itself (a cycle)');
    const proto = getPrototypeOf(obj);
    if (proto === arrayPrototype && isArray(obj)) return encodeArray(obj, depth, seen);
    if (proto === objectPrototype || proto === null) {
      if (proto === null && isArray(obj)) return encodeArray(obj, depth, seen);
      // A plain object is none of the classes below; only its toJSON (own or inherited) counts.
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return encodeToJSON(obj, toJSON, depth, seen, element);
      return encodeRecord(obj as Record<string, unknown>, depth, seen);
    }
    if (obj instanceof Uint8Array) return { $bytes: base64.encode(obj) };
    if (obj instanceof ArrayBuffer) return { $bytes: base64.encode(new Uint8Array(obj)) };
    if (isView(obj)) return { $bytes: base64.encode(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength)) };
    if (obj instanceof Date) {
      const time = getTime.call(obj);
      return { $date: Number.isNaN(time) ? 'Invalid Date' : toISOString.call(obj) };
    }
    if (isArray(obj)) return encodeArray(obj, depth, seen);
    if (obj instanceof Map) {
      seen.add(obj);
      const out: Json[] = [];
      let i = 0;
      let key: unknown;
      let atKey = true;
      try {
        for (const [k, v] of obj) {
          key = k;
          atKey = true;
          const encodedKey = encode(k, depth + 1, seen, true) as Json;
          atKey = false;
          out.push([encodedKey, encode(v, depth + 1, seen, true) as Json]);
          i++;
        }
      } catch (error) {
        throw within(error, atKey ? `.keys()[${i}]` : mapValueSegment(key, i));
      } finally {
        seen.delete(obj);
      }
      return { $map: out };
    }
    if (obj instanceof Set) {
      seen.add(obj);
      const out: Json[] = [];
      try {
        for (const v of obj) out.push(encode(v, depth + 1, seen, true) as Json);
      } catch (error) {
        throw within(error, `.values()[${out.length}]`);
      } finally {
        seen.delete(obj);
      }
      return { $set: out };
    }
    if (obj instanceof Error) {
      return { name: obj.name, message: obj.message, stack: obj.stack ?? '' };
    }
    // Before toJSON: a Long is a number, whatever a Long class's toJSON would make of it.
    const long = longOf(obj, natives);
    if (long !== undefined) {
      onLong?.(obj);
      return int64(long);
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return encodeToJSON(obj, toJSON, depth, seen, element);
    const refused = refusal(obj, objectToString);
    if (refused !== undefined) throw new CodecError(refused);
    return encodeRecord(obj as Record<string, unknown>, depth, seen);
  };

  /** What `obj.toJSON()` returns, encoded in its place. */
  const encodeToJSON = (obj: object, toJSON: Function, depth: number, seen: Ancestors, element: boolean): Json => {
    seen.add(obj);
    try {
      return encode(toJSON.call(obj), depth + 1, seen, element) ?? null;
    } catch (error) {
      throw within(error, '.toJSON()');
    } finally {
      seen.delete(obj);
    }
  };

  const encodeArray = (arr: unknown[], depth: number, seen: Ancestors): Json[] => {
    seen.add(arr);
    const length = arr.length;
    const out: Json[] = new Array(length);
    let i = 0;
    try {
      for (; i < length; i++) {
        const item = arr[i];
        const type = typeof item;
        // Strings, booleans and ordinary numbers are themselves on the wire.
        if (type === 'string' || type === 'boolean' || (type === 'number' && (item as number) - (item as number) === 0 && (item !== 0 || 1 / (item as number) > 0))) out[i] = item as Json;
        else out[i] = encode(item, depth + 1, seen, true) as Json;
      }
    } catch (error) {
      throw within(error, `[${i}]`);
    } finally {
      seen.delete(arr);
    }
    return out;
  };

  /** An object's own enumerable properties, as JSON.stringify takes them. */
  const encodeRecord = (obj: Record<string, unknown>, depth: number, seen: Ancestors): Json => {
    seen.add(obj);
    const out: { [key: string]: Json } = {};
    const keys = objectKeys(obj);
    let count = 0;
    let onlyKey = '';
    let k = 0;
    try {
      for (; k < keys.length; k++) {
        const key = keys[k]!;
        const item = obj[key];
        const type = typeof item;
        let encoded: Json | undefined;
        if (type === 'string' || type === 'boolean' || (type === 'number' && (item as number) - (item as number) === 0 && (item !== 0 || 1 / (item as number) > 0))) encoded = item as Json;
        else {
          encoded = encode(item, depth + 1, seen, false);
          if (encoded === undefined) continue;
        }
        // An own `__proto__` key (from JSON.parse) is data: assigning it would set the prototype.
        if (key === '__proto__') defineProperty(out, key, { value: encoded, writable: true, enumerable: true, configurable: true });
        else out[key] = encoded;
        count++;
        onlyKey = key;
      }
    } catch (error) {
      throw within(error, keySegment(keys[k]!));
    } finally {
      seen.delete(obj);
    }
    return count === 1 && TAG_SET.has(onlyKey) ? { $escape: out } : out;
  };

  const decode = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH) throw new CodecError(`nested deeper than ${MAX_DEPTH} levels`);
    if (isArray(value)) {
      // An array of plain values (the usual argument list) decodes to itself: nothing to copy.
      let i = 0;
      while (i < value.length && (value[i] === null || typeof value[i] !== 'object')) i++;
      if (i === value.length) return value;
      const out = value.slice(0, i);
      try {
        for (; i < value.length; i++) out[i] = decode(value[i], depth + 1);
      } catch (error) {
        throw within(error, `[${i}]`);
      }
      return out;
    }
    const record = value as Record<string, unknown>;
    const keys = objectKeys(record);
    if (keys.length === 1 && TAG_SET.has(keys[0]!)) return decodeTag(keys[0]!, record[keys[0]!], depth);
    return decodeRecord(record, keys, depth);
  };

  const decodeRecord = (record: Record<string, unknown>, keys: string[], depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    let k = 0;
    try {
      for (; k < keys.length; k++) {
        const key = keys[k]!;
        const value = decode(record[key], depth + 1);
        // `out.__proto__ = value` would set the prototype; the key stays data, as JSON.parse keeps it.
        if (key === '__proto__') defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
        else out[key] = value;
      }
    } catch (error) {
      throw within(error, keySegment(keys[k]!));
    }
    return out;
  };

  const decodeTag = (tag: string, body: unknown, depth: number): unknown => {
    switch (tag) {
      case '$bytes':
        if (typeof body !== 'string') throw new CodecError('$bytes: expected a base64 string');
        try {
          return base64.decode(body);
        } catch (error) {
          throw new CodecError(`$bytes: ${error instanceof CodecError ? error.reason : 'invalid base64'}`);
        }
      case '$undefined':
        return undefined;
      case '$bigint': {
        if (typeof body !== 'string' || !/^-?\d+$/.test(body)) throw new CodecError(`$bigint: expected a string of digits, got ${stringify(body)}`);
        const value = BigInt(body);
        if (makeBigint === undefined) return value;
        try {
          return makeBigint(value);
        } catch (error) {
          throw error instanceof CodecError ? error : new CodecError(`$bigint ${body}: ${describeThrown(error)}`);
        }
      }
      case '$number':
        switch (body) {
          case 'NaN': return Number.NaN;
          case 'Infinity': return Number.POSITIVE_INFINITY;
          case '-Infinity': return Number.NEGATIVE_INFINITY;
          case '-0': return -0;
          default: throw new CodecError(`$number: expected "NaN", "Infinity", "-Infinity" or "-0", got ${stringify(body)}`);
        }
      case '$date': {
        if (typeof body !== 'string') throw new CodecError('$date: expected an ISO 8601 string');
        const date = new Date(body);
        // "Invalid Date" is what encode writes for one; any other string must parse.
        if (Number.isNaN(getTime.call(date)) && body !== 'Invalid Date') throw new CodecError(`$date: expected an ISO 8601 date, got ${stringify(body.slice(0, 40))}`);
        return date;
      }
      case '$map': {
        if (!isArray(body)) throw new CodecError('$map: expected an array of [key, value] pairs');
        const map = new Map<unknown, unknown>();
        let i = 0;
        try {
          for (; i < body.length; i++) {
            const pair: unknown = body[i];
            if (!isArray(pair) || pair.length !== 2) throw new CodecError('expected a [key, value] pair');
            map.set(decode(pair[0], depth + 1), decode(pair[1], depth + 1));
          }
        } catch (error) {
          throw within(error, `.$map[${i}]`);
        }
        return map;
      }
      case '$set': {
        if (!isArray(body)) throw new CodecError('$set: expected an array');
        const set = new Set<unknown>();
        let i = 0;
        try {
          for (; i < body.length; i++) set.add(decode(body[i], depth + 1));
        } catch (error) {
          throw within(error, `.$set[${i}]`);
        }
        return set;
      }
      case '$escape': {
        if (body === null || typeof body !== 'object' || isArray(body)) throw new CodecError('$escape: expected an object');
        try {
          return decodeRecord(body as Record<string, unknown>, objectKeys(body), depth);
        } catch (error) {
          throw within(error, '.$escape');
        }
      }
      default:
        throw new CodecError(`unknown tag ${tag}`);
    }
  };

  const encodeRoot = (value: unknown, root: string): Json => {
    try {
      return encode(value, 0, undefined, true) as Json;
    } catch (error) {
      throw located(error, root);
    }
  };
  const decodeRoot = (value: unknown, root: string): unknown => {
    try {
      return decode(value, 0);
    } catch (error) {
      throw located(error, root);
    }
  };

  // Options are swapped in and out only when a call has some: the common call pays nothing for them.
  return {
    encode: (value, root = '', options) => {
      const chosen = options?.longs ?? 'bigint';
      if (chosen === longs) return encodeRoot(value, root);
      const outer = longs;
      longs = chosen;
      try {
        return encodeRoot(value, root);
      } finally {
        longs = outer;
      }
    },
    decode: (value, root = '', options) => {
      const chosen = options?.bigint;
      if (chosen === makeBigint) return decodeRoot(value, root);
      const outer = makeBigint;
      makeBigint = chosen;
      try {
        return decodeRoot(value, root);
      } finally {
        makeBigint = outer;
      }
    },
  };
}
