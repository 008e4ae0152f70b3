/**
 * Results that pass through (docs/protocol.md): a page sends a large successful result as a frame
 * of its own, exactly `{"type":"result","id":"…","ok":true,"value":…}` (what JSON.stringify makes
 * of the message). The bridge recognises that shape on the bytes, checks that the value is one
 * well-formed JSON value within the wire depth, and hands the value's bytes on untouched: they are
 * what the caller receives. Parsing 40 KB into objects only to serialise them again was most of
 * the bridge's cost per call for real-size results.
 *
 * Anything else (packed frames, failures, other messages, a value that does not check) returns
 * undefined and takes the ordinary path, which parses and reports problems with their codes.
 */
import { ALONE_CHARS } from '../protocol/limits.js';
import { checkJsonValue } from './json-check.js';
import { MAX_WIRE_DEPTH } from './json-depth.js';

const HEAD = Buffer.from('{"type":"result","id":"');
const OK_VALUE = Buffer.from('","ok":true,"value":');
/** Call ids are short (bridge/pending-calls.ts); anything longer is not one of ours. */
const MAX_ID_BYTES = 128;
const QUOTE = 0x22;
const CLOSE_OBJECT = 0x7d;

/** A result frame whose value passes through. */
export interface PassingResult {
  /** The call id the page answered. */
  id: string;
  /** The value's JSON, as the page sent it (a view into the frame). */
  value: Buffer;
}

/**
 * The call id and value bytes of a pass-through result frame, or undefined when `frame` is not one
 * (or its value is not well-formed JSON nested within the wire limit).
 */
export function passThroughResult(frame: Buffer): PassingResult | undefined {
  const n = frame.length;
  // Pages send smaller messages packed with others; a frame this small is not worth the check.
  if (n < ALONE_CHARS || frame[n - 1] !== CLOSE_OBJECT) return undefined;
  if (frame.compare(HEAD, 0, HEAD.length, 0, HEAD.length) !== 0) return undefined;
  const idStart = HEAD.length;
  const idStop = Math.min(n, idStart + MAX_ID_BYTES);
  let i = idStart;
  // Printable ASCII without escapes: what call ids are made of.
  for (; i < idStop; i++) {
    const c = frame[i]!;
    if (c === QUOTE) break;
    if (c < 0x21 || c > 0x7e || c === 0x5c) return undefined;
  }
  if (i === idStart || i === idStop) return undefined;
  const idEnd = i;
  if (idEnd + OK_VALUE.length >= n - 1) return undefined;
  if (frame.compare(OK_VALUE, 0, OK_VALUE.length, idEnd, idEnd + OK_VALUE.length) !== 0) return undefined;
  const start = idEnd + OK_VALUE.length;
  // The wire limit counts levels below the root container (json-depth.ts); the check counts containers.
  if (checkJsonValue(frame, start, n - 1, MAX_WIRE_DEPTH + 1) < 0) return undefined;
  return { id: frame.toString('latin1', idStart, idEnd), value: frame.subarray(start, n - 1) };
}
