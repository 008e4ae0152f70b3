/**
 * Nesting limits for JSON that reaches the bridge. Every frame and HTTP body is scanned as bytes
 * before JSON.parse sees it (scanDepth): parsing 32 MiB of `[[[[…` costs seconds and gigabytes, the
 * scan a few milliseconds. Values that cross the bridge without being decoded (HTTP arguments going
 * to a page, page results going to HTTP callers) are held to MAX_WIRE_DEPTH: JSON.parse accepts any
 * depth, but JSON.stringify recurses and overflows the stack at about 4,000 levels, so unchecked
 * input could crash the bridge (in a page's send loop) or turn a page's answer into an INTERNAL error.
 */

/**
 * Deepest wire nesting accepted. Well above the codec's 200 levels, because tagged values add wire
 * levels (a Map entry sits two arrays below its `$map`), and well below where stringify overflows.
 */
export const MAX_WIRE_DEPTH = 1_000;

/**
 * Deepest nesting of a whole frame or body, refused before parsing. A value sits at most a few
 * levels inside its envelope (a batch call's argument: body, calls, call, args, the value), so a
 * value the wire limit accepts always fits; anything deeper is not read at all.
 */
export const MAX_ENVELOPE_DEPTH = MAX_WIRE_DEPTH + 24;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Byte classes for the scan: most bytes are none of these and cost one table load. */
const PLAIN = 0;
const STRING = 1;
const OPEN = 2;
const CLOSE = 3;
const CLASS = new Uint8Array(256);
CLASS[QUOTE] = STRING;
CLASS[0x5b] = OPEN; // [
CLASS[0x7b] = OPEN; // {
CLASS[0x5d] = CLOSE; // ]
CLASS[0x7d] = CLOSE; // }
/** Inside a string, bytes looked at one by one before handing the search to Buffer#indexOf. */
const SHORT_STRING = 24;

/**
 * How deep JSON text nests, counted on its UTF-8 bytes without parsing: `[` and `{` outside strings
 * open a level, `]` and `}` close one (the root container is level 1). Returns the first level past
 * `limit` as soon as one is seen; else the deepest level, or 0 for text too short to pass `limit`
 * (each level takes a byte). Text that is not JSON gets some number; JSON.parse refuses it
 * afterwards. Strings are skipped with Buffer#indexOf, so base64 payloads cost little.
 */
export function scanDepth(bytes: Buffer, limit: number = MAX_ENVELOPE_DEPTH): number {
  const n = bytes.length;
  if (n <= limit) return 0;
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < n; i++) {
    const kind = CLASS[bytes[i]!]!;
    if (kind === PLAIN) continue;
    if (kind === STRING) {
      i = stringEnd(bytes, i, n);
      if (i < 0) return deepest;
    } else if (kind === OPEN) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else {
      depth--;
    }
  }
  return deepest;
}

/** Index of the quote closing the string that opens at `open`, or -1 when it never closes. */
function stringEnd(bytes: Buffer, open: number, n: number): number {
  // Most strings are short (keys, ids): a plain loop beats a native call for them.
  const stop = Math.min(n, open + SHORT_STRING);
  for (let i = open + 1; i < stop; i++) {
    const c = bytes[i]!;
    if (c === QUOTE) return i;
    if (c === BACKSLASH) i++;
  }
  let from = open + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let b = quote - 1; b > open && bytes[b] === BACKSLASH; b--) backslashes++;
    if ((backslashes & 1) === 0) return quote;
    from = quote + 1;
  }
}

/**
 * True when a parsed JSON value has an array or object more than `max` levels below the root (the
 * root container is level 0). Walks with its own stack, so hostile input cannot overflow it.
 */
export function nestedDeeperThan(value: unknown, max: number = MAX_WIRE_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const values: object[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const current = values.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        values.push(child as object);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
