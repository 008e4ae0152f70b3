/**
 * Page frames for the fuzzer: valid protocol messages, and mutations of them (wrong types, missing
 * and unknown fields, huge strings, deep nesting, truncation, random bytes, arrays of messages,
 * results for ids the page never got).
 */
import { PROTOCOL_VERSION } from '../../protocol/index.js';
import { TEST_PAGE_KEY } from '../helpers/bridge.js';
import type { Rng } from './prng.js';

/** One WebSocket frame to send. */
export interface Frame {
  data: string | Buffer;
  binary: boolean;
  /** Which family produced it, for the counts. */
  kind: string;
}

/** What a page knows when it builds a frame. */
export interface FrameContext {
  group: string;
  /** The id this connection was welcomed with (undefined before the welcome). */
  clientId: string | undefined;
  /** The id the page had before, offered again in its hellos. */
  previousId: string | undefined;
  /** Ids of invokes this page received. */
  ownIds: readonly string[];
  /** Ids of invokes other pages received (results for them must be dropped by the bridge). */
  foreignIds: readonly string[];
  /** Largest frame the bridge accepts; a few frames go over it on purpose. */
  maxFrameBytes: number;
}

/** Keys that fuzzed values never use, so callers can check the `by`/`nonce` of genuine results. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['by', 'nonce', 'forged']);

const FIELDS = ['type', 'v', 'group', 'clientId', 'resume', 'key', 'token', 'context', 'url', 'title', 'actions', 'id', 'ok', 'value', 'error', 't', 'name', 'message', 'stack', 'code', '__proto__'];
const TYPES = ['hello', 'update', 'result', 'pong', 'events', 'welcome', 'invoke', 'cancel', 'ping', 'error', '', 'HELLO', 'result ', 'constructor', '__proto__'];
const UNICODE = 'aé€𝄞\u0000\u0001\u007f\u2028\u2029\ud800\udfff"\\/<>&\'{}[]:,$ ';
// A string value swapped for deep nesting after JSON.stringify (which would overflow building it).
const DEEP = '\u0000DEEP\u0000';
const DEEP_TEXT = JSON.stringify(DEEP);

/** A random JSON value, never using the reserved keys. */
export function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1, 2 ** 31, -(2 ** 53), 2 ** 53 + 2, 1e308, -1e308, 5e-324, 0.5, -0.000001, rng.int(1000)]);
    case 3:
      return rng.string(rng.int(20));
    case 4:
      return rng.string(rng.int(10), UNICODE);
    case 5:
      return rng.pick(['NaN', 'Infinity', '-0', '1e999', 'null', 'undefined', '{}', '[]', 'true', '$bytes', '%00', '../../etc/passwd']);
    case 6:
      return Array.from({ length: rng.int(6) }, () => randomJson(rng, depth + 1));
    case 7: {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) {
        const key = rng.chance(0.3) ? rng.pick(FIELDS) : rng.pick(['$bytes', '$map', '$undefined', '$escape', '$bigint', 'x', rng.string(rng.range(1, 8))]);
        if (!RESERVED_KEYS.has(key)) out[key] = randomJson(rng, depth + 1);
      }
      return out;
    }
    default:
      return rng.pick([{ $bytes: rng.string(rng.int(12), 'ABC+/=-_!') }, { $bigint: rng.pick(['1', '-', 'x', '99999999999999999999999']) }, { $map: [[1]] }, { $set: 'no' }, { $undefined: true }, { $date: 'never' }]);
  }
}

/** A JSON text nested `levels` deep (arrays or objects), built as text so the generator itself cannot overflow. */
export function deepJson(rng: Rng, levels: number): string {
  const asArray = rng.chance(0.5);
  return (asArray ? '['.repeat(levels) : '{"a":'.repeat(levels)) + '0' + (asArray ? ']' : '}').repeat(levels);
}

function actionName(rng: Rng): string {
  return rng.chance(0.9) ? rng.pick(['echo', 'fail', 'slow', 'missing']) : rng.string(rng.range(1, 12));
}

/** A valid hello for this page's group, with the test bridges' page key and its known client id. */
export function validHello(ctx: FrameContext, rng: Rng): Record<string, unknown> {
  const hello: Record<string, unknown> = { type: 'hello', v: PROTOCOL_VERSION, group: ctx.group, url: 'https://fuzz.test/', title: 'fuzz page', actions: ['echo', 'fail', 'slow'], key: TEST_PAGE_KEY };
  if (ctx.previousId && rng.chance(0.5)) hello.clientId = ctx.previousId;
  return hello;
}

function validMessage(ctx: FrameContext, rng: Rng): Record<string, unknown> {
  switch (rng.int(7)) {
    case 0:
      return { type: 'pong', t: rng.int(2 ** 40) };
    case 6: {
      const items = Array.from({ length: rng.int(5) }, () => randomJson(rng));
      return {
        type: 'events',
        topic: rng.pick(['chat', 'room/8848:frames', rng.string(rng.range(1, 12))]),
        items,
        ...(rng.chance(0.3) ? { errors: [{ at: rng.int(items.length + 1), error: { name: 'Error', message: rng.string(rng.int(40), UNICODE) } }] } : {}),
        ...(rng.chance(0.2) ? { dropped: rng.int(10) } : {}),
      };
    }
    case 1:
      return { type: 'update', ...(rng.chance(0.7) ? { actions: Array.from({ length: rng.int(6) }, () => actionName(rng)).concat('echo') } : {}), ...(rng.chance(0.5) ? { url: `https://fuzz.test/${rng.string(8)}` } : {}), ...(rng.chance(0.5) ? { title: rng.string(rng.int(30), UNICODE) } : {}) };
    case 2:
      return validHello(ctx, rng);
    case 3:
      return { type: 'result', id: anyId(ctx, rng), ok: true, value: { by: ctx.clientId ?? 'unknown', junk: randomJson(rng) } };
    case 4:
      return { type: 'result', id: anyId(ctx, rng), ok: false, error: { name: 'Error', message: rng.string(rng.int(40), UNICODE), ...(rng.chance(0.5) ? { code: rng.pick(['ACTION_NOT_FOUND', 'RESULT_TOO_LARGE', 'RESULT_NOT_SERIALIZABLE', 'INTERNAL', 'nope']) } : {}), ...(rng.chance(0.5) ? { stack: rng.string(rng.int(200)) } : {}) } };
    default:
      return { type: 'result', id: rng.chance(0.5) ? rng.string(rng.range(1, 30)) : '', ok: true, value: randomJson(rng) };
  }
}

function anyId(ctx: FrameContext, rng: Rng): string {
  if (ctx.ownIds.length > 0 && rng.chance(0.5)) return rng.pick(ctx.ownIds);
  if (ctx.foreignIds.length > 0 && rng.chance(0.6)) return rng.pick(ctx.foreignIds);
  return rng.string(21, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');
}

/** Wrong-typed, missing, extra or retyped fields on a valid message. */
function mutate(message: Record<string, unknown>, rng: Rng): unknown {
  const m: Record<string, unknown> = { ...message };
  for (let n = rng.range(1, 3); n > 0; n--) {
    const keys = Object.keys(m);
    switch (rng.int(7)) {
      case 0:
        if (keys.length > 0) m[rng.pick(keys)] = randomJson(rng);
        break;
      case 1:
        if (keys.length > 0) delete m[rng.pick(keys)];
        break;
      case 2:
        m[rng.chance(0.5) ? rng.pick(FIELDS) : rng.string(rng.range(1, 10))] = randomJson(rng);
        break;
      case 3:
        m.type = rng.chance(0.8) ? rng.pick(TYPES) : randomJson(rng);
        break;
      case 4:
        if (keys.length > 0) m[rng.pick(keys)] = rng.pick([-1, 0, 1e308, -1e308, 2 ** 64, 1.5, '1', '', [], {}, null, true]);
        break;
      case 5:
        m.actions = rng.chance(0.5) ? Array.from({ length: rng.range(900, 2_000) }, (_, i) => `a${i}`) : Array.from({ length: rng.int(20) }, () => randomJson(rng));
        break;
      default:
        if (keys.length > 0) m[rng.pick(keys)] = DEEP;
    }
  }
  return rng.chance(0.05) ? rng.pick([[m], [m, m], m.type, Object.values(m)]) : m;
}

/** Serialises a message, expanding the deep-nesting placeholder. */
function text(message: unknown, rng: Rng): string {
  const out = JSON.stringify(message) ?? 'null';
  return out.includes(DEEP_TEXT) ? out.split(DEEP_TEXT).join(deepJson(rng, rng.pick([50, 300, 1_001, 2_000, 20_000]))) : out;
}

/** Breaks a JSON text: truncation, a flipped or inserted character, a duplicated slice. */
function garble(json: string, rng: Rng): string {
  const at = rng.int(json.length + 1);
  switch (rng.int(4)) {
    case 0:
      return json.slice(0, at);
    case 1:
      return json.slice(0, at) + rng.string(1, '{}[]",:\\\u0000x9-') + json.slice(at);
    case 2:
      return json.slice(0, at) + json.slice(at + 1);
    default:
      return json.slice(0, at) + json.slice(rng.int(json.length), rng.int(json.length)) + json.slice(at);
  }
}

/** One random frame. */
export function randomFrame(ctx: FrameContext, rng: Rng): Frame {
  const roll = rng.int(100);
  if (roll < 30) return { data: text(mutate(validMessage(ctx, rng), rng), rng), binary: false, kind: 'mutated' };
  if (roll < 45) return { data: text(validMessage(ctx, rng), rng), binary: false, kind: 'valid' };
  if (roll < 55) {
    const items = Array.from({ length: rng.range(0, 20) }, () => (rng.chance(0.5) ? validMessage(ctx, rng) : mutate(validMessage(ctx, rng), rng)));
    return { data: text(rng.chance(0.1) ? [items] : items, rng), binary: false, kind: 'array' };
  }
  if (roll < 63) return { data: garble(text(validMessage(ctx, rng), rng), rng), binary: false, kind: 'garbled' };
  if (roll < 74) return { data: rng.bytes(rng.int(64)), binary: true, kind: 'binary' };
  // Invalid UTF-8 in a text frame ends the connection (1007), so these are kept rare.
  if (roll < 75) return { data: rng.bytes(rng.range(1, 64)), binary: false, kind: 'bytes-as-text' };
  if (roll < 80) return { data: rng.pick(['42', '"hello"', 'null', 'true', '[]', '{}', '', ' ', '[[[]]]', '1e999', rng.string(rng.int(40), UNICODE)]), binary: false, kind: 'scalar' };
  if (roll < 88) {
    const id = ctx.foreignIds.length > 0 && rng.chance(0.8) ? rng.pick(ctx.foreignIds) : rng.string(21);
    return { data: JSON.stringify({ type: 'result', id, ok: true, value: { by: ctx.clientId ?? 'unknown', forged: true } }), binary: false, kind: 'forged-result' };
  }
  if (roll < 93) {
    const levels = rng.pick([100, 999, 1_001, 5_000, 50_000]);
    const id = ctx.ownIds.length > 0 ? rng.pick(ctx.ownIds) : rng.string(21);
    return { data: `{"type":"result","id":${JSON.stringify(id)},"ok":true,"value":${deepJson(rng, levels)}}`, binary: false, kind: 'deep' };
  }
  if (roll < 96) {
    // Mostly under the frame limit, some just over it (the page is then cut off with 1009).
    const size = rng.chance(0.85) ? rng.range(1_000, ctx.maxFrameBytes / 2) : rng.range(ctx.maxFrameBytes - 100, ctx.maxFrameBytes + 1_000);
    const field = rng.pick(['url', 'title', 'value', 'id']);
    const big = 'x'.repeat(Math.max(0, size - 60));
    const message = field === 'value' ? { type: 'result', id: anyId(ctx, rng), ok: true, value: big } : field === 'id' ? { type: 'result', id: big, ok: true } : { type: 'update', [field]: big };
    return { data: JSON.stringify(message), binary: false, kind: 'huge' };
  }
  return { data: text(rng.chance(0.5) ? validHello(ctx, rng) : mutate(validHello(ctx, rng), rng), rng), binary: false, kind: 'hello-again' };
}

/** The first frame of a connection: usually a valid hello, sometimes a broken one. */
export function helloFrame(ctx: FrameContext, rng: Rng): Frame {
  if (rng.chance(0.85)) return { data: JSON.stringify(validHello(ctx, rng)), binary: false, kind: 'hello' };
  return { data: text(mutate(validHello(ctx, rng), rng), rng), binary: false, kind: 'bad-hello' };
}
