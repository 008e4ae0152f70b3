/**
 * Checks the tagged values (`{"$bytes": ...}`, `{"$map": ...}`...) in wire JSON without decoding
 * it, so a malformed one is refused where it enters (the bridge answers BAD_REQUEST naming its
 * path) instead of failing later inside a page. Cheap on the common case: the walk only looks
 * closer at objects with a single key starting with `$`; everything else is one key test.
 */
import { TAGS } from './codec.js';

const TAG_SET: ReadonlySet<string> = new Set(TAGS);
const isArray = Array.isArray;
const objectKeys = Object.keys;
const stringify = JSON.stringify;

/** Deeper than this the walk stops looking: wire depth is limited elsewhere, and recursion must stay bounded. */
const MAX_CHECK_DEPTH = 1_100;

/** Standard or URL-safe alphabet, then at most two `=`; the length rule is checked separately. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const BIGINT = /^-?\d+$/;
const NUMBER_WORDS: ReadonlySet<string> = new Set(['NaN', 'Infinity', '-Infinity', '-0']);
/** What the encoder writes for a Date whose time is NaN. */
const INVALID_DATE = 'Invalid Date';

/** A problem found below the root: the path is built only on the way out of a failing walk. */
interface Problem {
  path: string;
  message: string;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  return isArray(value) ? 'array' : typeof value;
}

function checkBase64(text: string): string | undefined {
  if (!BASE64.test(text)) {
    for (let i = 0; i < text.length; i++) {
      if (!/[A-Za-z0-9+/_=-]/.test(text[i]!)) return `$bytes: invalid base64 (unexpected ${stringify(text[i])} at ${i})`;
    }
    return '$bytes: invalid base64 (= only at the end, at most two)';
  }
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--;
  return end % 4 === 1 ? '$bytes: invalid base64 (length)' : undefined;
}

/** Checks one tagged value's body; undefined when it is well formed (its children are walked by the caller). */
function checkTagBody(tag: string, body: unknown): string | undefined {
  switch (tag) {
    case '$bytes':
      return typeof body === 'string' ? checkBase64(body) : `$bytes: expected a base64 string, got ${typeOf(body)}`;
    case '$undefined':
      return undefined;
    case '$bigint':
      return typeof body === 'string' && BIGINT.test(body) ? undefined : `$bigint: expected a string of digits, got ${typeof body === 'string' ? stringify(body.slice(0, 40)) : typeOf(body)}`;
    case '$number':
      return typeof body === 'string' && NUMBER_WORDS.has(body) ? undefined : '$number: expected "NaN", "Infinity", "-Infinity" or "-0"';
    case '$date':
      if (typeof body !== 'string') return `$date: expected an ISO 8601 string, got ${typeOf(body)}`;
      return body === INVALID_DATE || !Number.isNaN(Date.parse(body)) ? undefined : `$date: ${stringify(body.slice(0, 40))} is not a date`;
    case '$map':
      if (!isArray(body)) return `$map: expected an array of [key, value] pairs, got ${typeOf(body)}`;
      for (let i = 0; i < body.length; i++) {
        const pair: unknown = body[i];
        if (!isArray(pair) || pair.length !== 2) return `$map[${i}]: expected a [key, value] pair`;
      }
      return undefined;
    case '$set':
      return isArray(body) ? undefined : `$set: expected an array, got ${typeOf(body)}`;
    case '$escape':
      return body !== null && typeof body === 'object' && !isArray(body) ? undefined : `$escape: expected an object, got ${typeOf(body)}`;
    default:
      return undefined;
  }
}

function walk(value: unknown, depth: number): Problem | undefined {
  if (value === null || typeof value !== 'object' || depth > MAX_CHECK_DEPTH) return undefined;
  if (isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || typeof item !== 'object') continue;
      const problem = walk(item, depth + 1);
      if (problem) return { path: `[${i}]${problem.path}`, message: problem.message };
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  let only: string | undefined;
  let count = 0;
  for (const key in record) {
    if (++count > 1) break;
    only = key;
  }
  if (count === 1 && only!.charCodeAt(0) === 36 /* $ */ && TAG_SET.has(only!)) {
    const body = record[only!];
    const message = checkTagBody(only!, body);
    if (message) return { path: '', message };
    if (only === '$escape') return walkValues(body as Record<string, unknown>, depth + 1, `.${only}`);
    if (only === '$map' || only === '$set') {
      const problem = walk(body, depth + 1);
      return problem && { path: `.${only}${problem.path}`, message: problem.message };
    }
    return undefined;
  }
  return walkValues(record, depth, '');
}

function walkValues(record: Record<string, unknown>, depth: number, prefix: string): Problem | undefined {
  for (const key of objectKeys(record)) {
    const item = record[key];
    if (item === null || typeof item !== 'object') continue;
    const problem = walk(item, depth + 1);
    if (problem) return { path: `${prefix}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${stringify(key)}]`}${problem.path}`, message: problem.message };
  }
  return undefined;
}

/**
 * Finds the first malformed tagged value in parsed wire JSON and describes it as
 * `<field><path>: <what is wrong>` (`args[0].x: $bytes: invalid base64 (...)`); undefined when
 * every tag is well formed. An object with more than one key is a plain object, never a tag.
 */
export function findMalformedTag(value: unknown, field: string): string | undefined {
  const problem = walk(value, 0);
  return problem && `${field}${problem.path}: ${problem.message}`;
}
