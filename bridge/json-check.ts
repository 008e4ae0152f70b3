/**
 * Checks JSON text without building it: that a byte range holds exactly one JSON value (RFC 8259
 * grammar) nested at most a given depth. Used on the fast path for page results (docs/protocol.md,
 * "Results that pass through"): the bridge forwards a result's bytes to the caller as they came,
 * so it must know they are one well-formed value — a page's garbage must never reach a caller's
 * response — without paying JSON.parse's cost of building every object and string of a 40 KB
 * value only to serialise it again.
 *
 * The input is UTF-8 already validated (the WebSocket layer refuses text frames that are not), so
 * only the grammar is checked: bytes ≥ 0x80 inside strings are taken as they are.
 */

/** Byte classes inside a string: most bytes are ORDINARY and cost one table load. */
const ORDINARY = 0;
const END = 1;
const ESCAPE = 2;
const CONTROL = 3;
const IN_STRING = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) IN_STRING[c] = CONTROL;
IN_STRING[0x22] = END;
IN_STRING[0x5c] = ESCAPE;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
/** Characters allowed after a backslash (besides `u`). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

/** Index past the string whose opening quote is at `i`, or -1 when it is not a well-formed string. */
function skipString(bytes: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const kind = IN_STRING[bytes[i]!]!;
    if (kind === ORDINARY) {
      i++;
      continue;
    }
    if (kind === END) return i + 1;
    if (kind === CONTROL) return -1;
    // A backslash: one simple escape, or \u and four hex digits.
    const next = i + 1 < end ? bytes[i + 1]! : -1;
    if (next === 0x75 /* u */) {
      if (i + 5 >= end || !HEX[bytes[i + 2]!] || !HEX[bytes[i + 3]!] || !HEX[bytes[i + 4]!] || !HEX[bytes[i + 5]!]) return -1;
      i += 6;
    } else if (next >= 0 && SIMPLE_ESCAPE[next]) {
      i += 2;
    } else {
      return -1;
    }
  }
  return -1;
}

/** Index past the number that starts at `i`, or -1 when it is not a well-formed number. */
function skipNumber(bytes: Uint8Array, i: number, end: number): number {
  if (bytes[i] === MINUS) i++;
  if (i >= end) return -1;
  if (bytes[i] === ZERO) {
    i++;
  } else if (isDigit(bytes[i]!)) {
    while (i < end && isDigit(bytes[i]!)) i++;
  } else {
    return -1;
  }
  if (i < end && bytes[i] === 0x2e /* . */) {
    i++;
    if (i >= end || !isDigit(bytes[i]!)) return -1;
    while (i < end && isDigit(bytes[i]!)) i++;
  }
  if (i < end && (bytes[i] === 0x65 || bytes[i] === 0x45) /* e E */) {
    i++;
    if (i < end && (bytes[i] === 0x2b || bytes[i] === MINUS)) i++;
    if (i >= end || !isDigit(bytes[i]!)) return -1;
    while (i < end && isDigit(bytes[i]!)) i++;
  }
  return i;
}

function skipWord(bytes: Uint8Array, i: number, end: number, word: string): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (bytes[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

function skipSpace(bytes: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = bytes[i]!;
    if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
    i++;
  }
  return i;
}

/** Index past the scalar (string, number, true, false, null) at `i`, or -1. */
function skipScalar(bytes: Uint8Array, i: number, end: number): number {
  const c = bytes[i]!;
  if (c === QUOTE) return skipString(bytes, i, end);
  if (c === MINUS || isDigit(c)) return skipNumber(bytes, i, end);
  if (c === 0x74) return skipWord(bytes, i, end, 'true');
  if (c === 0x66) return skipWord(bytes, i, end, 'false');
  if (c === 0x6e) return skipWord(bytes, i, end, 'null');
  return -1;
}

/**
 * The nesting depth of the one JSON value in `bytes[start, end)` (0 for a scalar, 1 for a flat
 * array or object), or -1 when the range is not exactly one well-formed JSON value (surrounding
 * whitespace allowed) or nests deeper than `maxDepth`. Iterative: hostile nesting cannot overflow
 * the stack.
 */
export function checkJsonValue(bytes: Uint8Array, start: number, end: number, maxDepth: number): number {
  // For each open container: 1 for an object, 0 for an array.
  const stack = new Uint8Array(maxDepth + 1);
  let depth = 0;
  let deepest = 0;
  let i = skipSpace(bytes, start, end);
  // Expecting a value here (true), or a comma or closing bracket after one (false).
  let wantValue = true;
  while (i < end) {
    if (wantValue) {
      const c = bytes[i]!;
      if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (depth === maxDepth) return -1;
        const isObject = c === OPEN_OBJECT;
        stack[depth++] = isObject ? 1 : 0;
        if (depth > deepest) deepest = depth;
        i = skipSpace(bytes, i + 1, end);
        if (i >= end) return -1;
        const first = bytes[i]!;
        if (first === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
          depth--;
          i++;
          wantValue = false;
          if (depth === 0) break;
        } else if (isObject) {
          i = objectKey(bytes, i, end);
          if (i < 0) return -1;
        }
        continue;
      }
      i = skipScalar(bytes, i, end);
      if (i < 0) return -1;
      wantValue = false;
      if (depth === 0) break;
      continue;
    }
    i = skipSpace(bytes, i, end);
    if (i >= end) return -1;
    const c = bytes[i]!;
    const inObject = stack[depth - 1] === 1;
    if (c === COMMA) {
      i = skipSpace(bytes, i + 1, end);
      if (i >= end) return -1;
      if (inObject) {
        i = objectKey(bytes, i, end);
        if (i < 0) return -1;
      }
      wantValue = true;
    } else if (c === (inObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
      depth--;
      i++;
      if (depth === 0) break;
    } else {
      return -1;
    }
  }
  if (wantValue || depth !== 0) return -1;
  return skipSpace(bytes, i, end) === end ? deepest : -1;
}

/** Past an object key at `i` (a string, optional space, a colon, optional space), at the value; or -1. */
function objectKey(bytes: Uint8Array, i: number, end: number): number {
  if (bytes[i] !== QUOTE) return -1;
  i = skipString(bytes, i, end);
  if (i < 0) return -1;
  i = skipSpace(bytes, i, end);
  if (i >= end || bytes[i] !== COLON) return -1;
  i = skipSpace(bytes, i + 1, end);
  return i < end ? i : -1;
}
