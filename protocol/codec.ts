/**
 * Value codec: how values that JSON cannot carry travel in `args` and results, over the page
 * WebSocket and over HTTP alike. A tagged value is an object with exactly one key from TAGS:
 *
 *   {"$bytes": "<base64>"}        Uint8Array / ArrayBuffer / any ArrayBufferView / Node Buffer
 *   {"$undefined": true}          undefined (where JSON would turn it into null or drop it)
 *   {"$bigint": "123"}            bigint
 *   {"$number": "NaN"}            NaN, Infinity, -Infinity, -0
 *   {"$date": "<ISO 8601>"}       Date
 *   {"$map": [[k, v], ...]}       Map
 *   {"$set": [v, ...]}            Set
 *   {"$escape": {...}}            a plain object that happens to look like a tag
 *
 * Everything else is plain JSON. Object properties holding undefined or functions are dropped, as
 * JSON.stringify does.
 */

/** A JSON value as it travels on the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The reserved tag keys. */
export const TAGS = ['$bytes', '$undefined', '$bigint', '$number', '$date', '$map', '$set', '$escape'] as const;

const TAG_SET: ReadonlySet<string> = new Set(TAGS);

// Captured at load: in a page, the injector loads before site code that may patch these.
const isArray = Array.isArray;
const objectKeys = Object.keys;
const isView = ArrayBuffer.isView;
const getTime = Date.prototype.getTime;
const toISOString = Date.prototype.toISOString;

/** Nesting deeper than this is refused: it is almost always a cycle the walk missed or an attack. */
export const MAX_DEPTH = 200;

/** Base64 functions; each side passes the fastest it has (Buffer in Node, atob/btoa in pages). */
export interface Base64 {
  encode(bytes: Uint8Array): string;
  decode(text: string): Uint8Array;
}

/** Raised for values that cannot be encoded or decoded; `reason` says which part failed. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
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
  /** Turns any value into wire JSON. Throws CodecError for cycles and excessive depth. */
  encode(value: unknown): Json;
  /**
   * Turns wire JSON back into values (Uint8Array, bigint, Date, Map, Set, undefined...). Arrays of
   * plain values come back as the same array: pass freshly parsed JSON, not a value you keep.
   */
  decode(value: unknown): unknown;
}

/** Creates a codec over the given base64 implementation. */
export function createCodec(base64: Base64 = portableBase64): Codec {
  // `seen` is made at the first object: most values are primitives, and a Set per value adds up.
  const encode = (value: unknown, depth: number, seenSoFar: Set<object> | undefined, inArray: boolean): Json | undefined => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (Number.isFinite(value) && !Object.is(value, -0)) return value;
        return { $number: Object.is(value, -0) ? '-0' : String(value) };
      case 'bigint':
        return { $bigint: value.toString() };
      case 'undefined':
      case 'function':
      case 'symbol':
        return inArray ? { $undefined: true } : undefined;
      case 'object':
        break;
    }
    if (value === null) return null;
    const obj = value as object;
    const seen = seenSoFar ?? new Set<object>();
    if (depth > MAX_DEPTH) throw new CodecError(`value is nested deeper than ${MAX_DEPTH} levels`);
    if (seen.has(obj)) throw new CodecError('value contains a cycle');
    if (obj instanceof Uint8Array) return { $bytes: base64.encode(obj) };
    if (obj instanceof ArrayBuffer) return { $bytes: base64.encode(new Uint8Array(obj)) };
    if (isView(obj)) return { $bytes: base64.encode(new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength)) };
    if (obj instanceof Date) {
      const time = getTime.call(obj);
      return { $date: Number.isNaN(time) ? 'Invalid Date' : toISOString.call(obj) };
    }
    seen.add(obj);
    try {
      if (isArray(obj)) {
        const out: Json[] = new Array(obj.length);
        for (let i = 0; i < obj.length; i++) out[i] = encode(obj[i], depth + 1, seen, true) as Json;
        return out;
      }
      if (obj instanceof Map) {
        const out: Json[] = [];
        for (const [k, v] of obj) out.push([encode(k, depth + 1, seen, true) as Json, encode(v, depth + 1, seen, true) as Json]);
        return { $map: out };
      }
      if (obj instanceof Set) {
        const out: Json[] = [];
        for (const v of obj) out.push(encode(v, depth + 1, seen, true) as Json);
        return { $set: out };
      }
      if (obj instanceof Error) {
        return { name: obj.name, message: obj.message, stack: obj.stack ?? '' };
      }
      const toJSON = (obj as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        return encode(toJSON.call(obj), depth + 1, seen, inArray) ?? null;
      }
      const out: { [key: string]: Json } = {};
      let count = 0;
      let onlyKey = '';
      for (const key of objectKeys(obj)) {
        const encoded = encode((obj as Record<string, unknown>)[key], depth + 1, seen, false);
        if (encoded === undefined) continue;
        out[key] = encoded;
        count++;
        onlyKey = key;
      }
      return count === 1 && TAG_SET.has(onlyKey) ? { $escape: out } : out;
    } finally {
      seen.delete(obj);
    }
  };

  const decode = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_DEPTH) throw new CodecError(`value is nested deeper than ${MAX_DEPTH} levels`);
    if (isArray(value)) {
      // An array of plain values (the usual argument list) decodes to itself: nothing to copy.
      let i = 0;
      while (i < value.length && (value[i] === null || typeof value[i] !== 'object')) i++;
      if (i === value.length) return value;
      const out = value.slice(0, i);
      for (; i < value.length; i++) out[i] = decode(value[i], depth + 1);
      return out;
    }
    const record = value as Record<string, unknown>;
    const keys = objectKeys(record);
    if (keys.length === 1 && TAG_SET.has(keys[0]!)) return decodeTag(keys[0]!, record[keys[0]!], depth);
    const out: Record<string, unknown> = {};
    for (const key of keys) out[key] = decode(record[key], depth + 1);
    return out;
  };

  const decodeTag = (tag: string, body: unknown, depth: number): unknown => {
    switch (tag) {
      case '$bytes':
        if (typeof body !== 'string') throw new CodecError('$bytes: expected a base64 string');
        return base64.decode(body);
      case '$undefined':
        return undefined;
      case '$bigint':
        if (typeof body !== 'string' || !/^-?\d+$/.test(body)) throw new CodecError('$bigint: expected a string of digits');
        return BigInt(body);
      case '$number':
        switch (body) {
          case 'NaN': return Number.NaN;
          case 'Infinity': return Number.POSITIVE_INFINITY;
          case '-Infinity': return Number.NEGATIVE_INFINITY;
          case '-0': return -0;
          default: throw new CodecError('$number: expected "NaN", "Infinity", "-Infinity" or "-0"');
        }
      case '$date':
        if (typeof body !== 'string') throw new CodecError('$date: expected an ISO 8601 string');
        return new Date(body);
      case '$map': {
        if (!isArray(body)) throw new CodecError('$map: expected an array of [key, value] pairs');
        const map = new Map<unknown, unknown>();
        for (const pair of body) {
          if (!isArray(pair) || pair.length !== 2) throw new CodecError('$map: expected an array of [key, value] pairs');
          map.set(decode(pair[0], depth + 1), decode(pair[1], depth + 1));
        }
        return map;
      }
      case '$set': {
        if (!isArray(body)) throw new CodecError('$set: expected an array');
        const set = new Set<unknown>();
        for (const item of body) set.add(decode(item, depth + 1));
        return set;
      }
      case '$escape': {
        if (body === null || typeof body !== 'object' || isArray(body)) throw new CodecError('$escape: expected an object');
        const out: Record<string, unknown> = {};
        for (const key of objectKeys(body)) out[key] = decode((body as Record<string, unknown>)[key], depth + 1);
        return out;
      }
      default:
        throw new CodecError(`unknown tag ${tag}`);
    }
  };

  return {
    encode: (value) => encode(value, 0, undefined, true) as Json,
    decode: (value) => decode(value, 0),
  };
}
