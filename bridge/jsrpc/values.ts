/**
 * How values cross between pagecall and JsRpc's wire form: pure functions, tested with tables of
 * cases (test/unit/jsrpc-values.test.ts). docs/migrating-from-jsrpc.md states the same rules.
 *
 * JsRpc carries one string each way: a call's `param` (the page's script JSON-parses it when it
 * can) and a reply's `response_data` (the page's script JSON-encodes objects). pagecall carries
 * typed values in the codec's wire form (protocol/codec.ts).
 */
import { TAGS, type Json } from '../../protocol/index.js';
import { codec } from '../node-codec.js';

const TAG_SET: ReadonlySet<string> = new Set(TAGS);
const own = Object.prototype.hasOwnProperty;

/** JSON.parse that reports failure instead of throwing. */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** What a JsRpc page's script hands its handler for a `param` text: the text parsed as JSON, or the text itself. */
export function pageSideParam(text: string): unknown {
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : text;
}

/**
 * The wire form of a value that crossed as plain JSON: objects that look like codec tags are
 * escaped, -0 is tagged. Throws CodecError (naming `root`) for nesting the codec does not carry.
 */
function fromPlain(value: unknown, root: string): Json {
  return codec.encode(value, root);
}

/**
 * A wire value as plain JSON for a JsRpc page, which has no codec: escaped objects are unwrapped;
 * typed values (bytes, bigint, dates...) stay in their tagged form, which is JSON.
 */
export function toPlain(value: Json): Json {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toPlain);
  const keys = Object.keys(value);
  if (keys.length === 1 && TAG_SET.has(keys[0]!)) {
    if (keys[0] !== '$escape') return value;
    const inner = value.$escape;
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return value;
    return plainObject(inner);
  }
  return plainObject(value);
}

function plainObject(value: { [key: string]: Json }): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const key in value) if (own.call(value, key)) out[key] = toPlain(value[key]!);
  return out;
}

/**
 * The one argument a `/go` request's `param` becomes. Text is what a JsRpc page's handler would
 * get (parsed JSON, else the text); a JSON body may send any JSON value, taken as it is. Throws
 * CodecError for JSON nested deeper than the codec carries.
 */
export function argFromParam(param: unknown): Json {
  return fromPlain(typeof param === 'string' ? pageSideParam(param) : param, 'param');
}

/**
 * The `param` text a JsRpc page gets for a call's arguments, chosen so that what its script hands
 * the handler is the value the caller passed:
 * - no argument: `""`;
 * - one string: the string itself, unless the page's JSON.parse would change it (`"123"`,
 *   `"true"`, `"{...}"`): then the string JSON-encoded, which the page parses back into it;
 * - one other value: its JSON;
 * - several arguments: the JSON of the array of them (the handler gets an array).
 * Typed values go as their tagged wire form (a JsRpc page has no codec).
 */
export function paramFor(args: readonly Json[]): string {
  if (args.length === 0) return '';
  if (args.length > 1) return JSON.stringify(args.map(toPlain));
  const arg = toPlain(args[0]!);
  if (typeof arg === 'string') return parseJson(arg).ok ? JSON.stringify(arg) : arg;
  return JSON.stringify(arg);
}

/** True when text, past leading white space, opens a JSON object or array. */
function opensContainer(text: string): boolean {
  const match = /^\s*([[{])/.exec(text);
  return match !== null;
}

/**
 * A JsRpc page's `response_data` as a wire value for pagecall callers (/v1/call):
 * - a string that holds a JSON object or array (what the page's script makes of an object) comes
 *   back parsed; any other string (`"123"`, `"true"`, text) stays a string, as the page returned it;
 * - a number, boolean, null, object or array (pages that send them raw) is taken as it is;
 * - no `response_data` at all is `undefined`.
 * Throws CodecError for a raw value nested deeper than the codec carries (a string that parses to
 * one stays a string).
 */
export function replyValue(data: unknown): Json {
  if (typeof data === 'string') {
    if (!opensContainer(data)) return data;
    const parsed = parseJson(data);
    if (!parsed.ok) return data;
    try {
      return fromPlain(parsed.value, 'response_data');
    } catch {
      return data;
    }
  }
  return fromPlain(data, 'response_data');
}

/**
 * `data` of a compat answer for a JsRpc page's reply, kept byte for byte: a string as the page sent
 * it; no value or null as `""` (JsRpc reads them into an empty string); anything else as its JSON.
 */
export function replyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data === undefined || data === null) return '';
  return JSON.stringify(data);
}

/**
 * `data` of a compat answer for a pagecall page's result (a wire value): a string as it is,
 * `undefined` as `""`, anything else as its JSON (typed values in their tagged wire form), as a
 * JsRpc page's script would have encoded it.
 */
export function dataText(value: Json): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && value.$undefined === true && Object.keys(value).length === 1) return '';
  return JSON.stringify(toPlain(value));
}
