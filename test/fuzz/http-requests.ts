/**
 * Malformed HTTP requests for the fuzzer, each with what a correct bridge must answer. Every
 * request is bad by construction (a mutation that always breaks it), so none may succeed.
 */
import { MAX_ENVELOPE_DEPTH, scanDepth } from '../../bridge/json-depth.js';
import { deepJson } from './frames.js';
import type { Rng } from './prng.js';

/**
 * What the answer must be:
 * - `json4xx`: a 4xx with `{ok: false, error: {code}}`, the code's catalogue status matching;
 * - `head4xx`: a 4xx (HEAD responses have no body);
 * - `batch-items`: 200 with every item `{ok: false, error}` carrying a 4xx code;
 * - `raw4xx`: a 4xx of any form, or the connection closed without an answer (unparseable bytes);
 * - `lenient`: anything but a 5xx or a hang (odd requests that are not necessarily wrong).
 */
export type Expectation = 'json4xx' | 'head4xx' | 'batch-items' | 'raw4xx' | 'lenient';

/** One request to send on a fresh connection. */
export interface FuzzRequest {
  kind: string;
  bytes: Buffer;
  expect: Expectation;
  /** For batch-items: how many items the answer must hold. */
  items?: number;
}

/** Limits the generator needs to know so that its "too large" requests are too large. */
export interface HttpLimits {
  maxBodyBytes: number;
  maxBatch: number;
}

// A string value swapped for deep nesting after JSON.stringify (which would overflow building it).
const DEEP = '\u0000DEEP\u0000';
const DEEP_TEXT = JSON.stringify(DEEP);
const NON_STRINGS = [1, 0, -1, null, true, false, [], {}, ['g'], { a: 1 }, 1e308];
const NON_ARRAYS = ['[]', 1, null, true, {}, { 0: 1 }, 'a,b'];
const BAD_NAMES = ['', ' ', 'a b', 'x'.repeat(200), 'é', '../x', '$g', '-lead', 'a\u0000b', 'a\nb', '%20', '<script>'];
const BAD_CLIENT_IDS = BAD_NAMES.filter((n) => n !== '-lead'); // a leading dash is fine in a client id
const GOOD_CALL = { group: 'fz-http', action: 'echo', args: [1, 'two'] };

/** Builds raw request bytes; `length` overrides the content-length (use null to omit it). */
function http(port: number, method: string, path: string, headers: Record<string, string>, body: string | Buffer = '', length?: number | null): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, `host: 127.0.0.1:${port}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (length !== null) lines.push(`content-length: ${length ?? bytes.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), bytes]);
}

const JSON_TYPE = { 'content-type': 'application/json' };

function stringify(value: unknown, rng: Rng): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.includes(DEEP_TEXT) ? text.split(DEEP_TEXT).join(deepJson(rng, rng.pick([1_002, 3_000, 50_000]))) : text;
}

/** Applies one mutation that always makes a call invalid. `inBatch` avoids ones a batch default would repair. */
function breakCall(rng: Rng, inBatch = false): unknown {
  const b: Record<string, unknown> = { ...GOOD_CALL };
  const ops: Array<() => void> = [
    () => (b.group = rng.pick(NON_STRINGS)),
    () => (b.group = rng.pick(BAD_NAMES)),
    () => (b.action = rng.pick(NON_STRINGS)),
    () => (b.action = rng.pick([...BAD_NAMES, '$eval', 'x'.repeat(129)])),
    () => delete b.action,
    () => (b.args = rng.pick(NON_ARRAYS)),
    () => (b.args = [DEEP]),
    () => (b.timeoutMs = rng.pick([-1, 0, 1.5, '100', null, true, 1e20, 2 ** 53 + 2, 600_001, [], {}, -1e308])),
    () => (b.retry = rng.pick(['true', 1, 0, null, [], {}])),
    () => (b.balance = rng.pick(['random', '', 1, null, 'ROUND-ROBIN'])),
    () => (b.clientId = rng.pick([...BAD_CLIENT_IDS, 1, null])),
    () => (b[rng.pick(['param', 'params', 'arg', 'Group', 'timeout', '__proto__x', rng.string(6)])] = rng.pick([1, 'x', null])),
  ];
  if (!inBatch) ops.push(() => delete b.group);
  rng.pick(ops)();
  if (rng.chance(0.2)) rng.pick(ops)();
  return b;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function garbleText(text: string, rng: Rng): string {
  const at = rng.int(text.length);
  switch (rng.int(4)) {
    case 0:
      return text.slice(0, at); // truncated
    case 1:
      return text.slice(0, at) + rng.pick(['{', '}', ',', '"', '\\', '\u0000', ':', ']']) + text.slice(at);
    case 2:
      return text.slice(0, at) + '\\u12' + text.slice(at);
    default:
      return `${text}${rng.pick(['}', ',', ' x', '{}', '\u0000'])}`;
  }
}

/** One malformed request. */
export function randomRequest(port: number, limits: HttpLimits, rng: Rng): FuzzRequest {
  const route = rng.pick(['/v1/call', '/v1/batch']);
  const roll = rng.int(100);

  if (roll < 14) {
    // Bad JSON bodies.
    const valid = JSON.stringify(route === '/v1/call' ? GOOD_CALL : { group: 'fz-http', calls: [GOOD_CALL] });
    const broken = rng.pick([
      () => garbleText(valid, rng),
      () => rng.string(rng.int(200), '{}[]":,0123456789abcdefnulltrue \\'),
      () => rng.bytes(rng.range(1, 300)).toString('latin1'),
    ])();
    // A garbled text that still parses (a comma slipped into a string) could be a valid call: spoil it.
    const body = rng.chance(0.1) ? rng.pick(['', ' ', '\n', 'null', '[]', '"call"', '42', 'true', '1e999', '{}{}', '\ufeff{}', '[{}]']) : parses(broken) ? `${broken}}` : broken;
    return { kind: 'bad-json', bytes: http(port, 'POST', route, JSON_TYPE, body), expect: 'json4xx' };
  }
  if (roll < 32) return { kind: 'wrong-types', bytes: http(port, 'POST', '/v1/call', JSON_TYPE, stringify(breakCall(rng), rng)), expect: 'json4xx' };
  if (roll < 40) {
    const envelope: Record<string, unknown> = { group: 'fz-http', calls: [GOOD_CALL] };
    rng.pick<() => void>([
      () => delete envelope.calls,
      () => (envelope.calls = rng.pick(NON_ARRAYS)),
      () => (envelope.group = rng.pick([...NON_STRINGS, ...BAD_NAMES])),
      () => (envelope.timeoutMs = rng.pick([-1, 0, 0.5, 'x', null, 1e20])),
      () => (envelope.retry = rng.pick(['no', 0, null])),
      () => (envelope[rng.pick(['call', 'items', 'action', rng.string(5)])] = 1),
      () => (envelope.calls = Array.from({ length: limits.maxBatch + 1 }, () => ({}))),
    ])();
    return { kind: 'batch-envelope', bytes: http(port, 'POST', '/v1/batch', JSON_TYPE, stringify(envelope, rng)), expect: 'json4xx' };
  }
  if (roll < 47) {
    const calls = Array.from({ length: rng.range(1, 20) }, () => (rng.chance(0.1) ? rng.pick([1, 'call', null, [], true]) : breakCall(rng, true)));
    const body = stringify({ group: 'fz-http', calls }, rng);
    // Deeply nested items can push the body over the size limit, or past the nesting the byte scan
    // reads at all: then the whole batch is refused.
    const refused = Buffer.byteLength(body) > limits.maxBodyBytes || scanDepth(Buffer.from(body)) > MAX_ENVELOPE_DEPTH;
    return { kind: 'batch-items', bytes: http(port, 'POST', '/v1/batch', JSON_TYPE, body), expect: refused ? 'json4xx' : 'batch-items', items: calls.length };
  }
  if (roll < 53) {
    const type = rng.pick(['text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'json', 'application', '', '*/*', 'application/javascript', 'text/json']);
    const headers: Record<string, string> = type === '' && rng.chance(0.5) ? {} : { 'content-type': type };
    return { kind: 'content-type', bytes: http(port, 'POST', route, headers, JSON.stringify(GOOD_CALL)), expect: 'json4xx' };
  }
  if (roll < 57) {
    if (rng.chance(0.85)) {
      // Declared larger than the limit: refused before the body is read.
      const declared = rng.pick([limits.maxBodyBytes + 1, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]);
      return { kind: 'too-large', bytes: http(port, 'POST', route, JSON_TYPE, '{"group":', declared), expect: 'json4xx' };
    }
    // Actually larger, sent chunked so no length warns the bridge in advance.
    const payload = `{"group":"fz-http","action":"echo","args":["${'x'.repeat(limits.maxBodyBytes)}"]}`;
    const chunked = Buffer.from(`${Buffer.byteLength(payload).toString(16)}\r\n${payload}\r\n0\r\n\r\n`);
    return { kind: 'too-large', bytes: http(port, 'POST', route, { ...JSON_TYPE, 'transfer-encoding': 'chunked' }, chunked, null), expect: 'json4xx' };
  }
  if (roll < 66) {
    const q = rng.pick([
      () => `action=echo`,
      () => `group=fz-http`,
      () => `group=${encodeURIComponent(rng.pick(BAD_NAMES))}&action=echo`,
      () => `group=fz-http&action=${encodeURIComponent(rng.pick(BAD_NAMES))}`,
      () => `group=%ZZ&action=echo`,
      () => `group=fz-http&action=echo&args=${encodeURIComponent(rng.pick(['[1', 'nope', '{"a":1}', '1', 'null', '"x"', '[1]]', `${'['.repeat(1_010)}0${']'.repeat(1_010)}`]))}`,
      () => `group=fz-http&action=echo&args=[1]&arg=2`,
      () => `group=fz-http&action=echo&timeoutMs=${encodeURIComponent(rng.pick(['abc', '-5', '1.5', '99999999999', '', '0', '1e3', ' 5']))}`,
      () => `group=fz-http&action=echo&retry=${rng.pick(['maybe', '1', '', 'TRUE'])}`,
      () => `group=fz-http&action=echo&balance=${rng.pick(['x', '', 'least'])}`,
      () => `group=fz-http&action=echo&clientId=${encodeURIComponent(rng.pick(BAD_CLIENT_IDS))}`,
      () => `group=fz-http&group=other&action=echo&arg=1&timeoutMs=-1`,
      () => `${rng.string(rng.int(40), '=&%?+;a1')}&group=${encodeURIComponent(rng.pick(BAD_NAMES))}&action=echo`,
    ])();
    const path = rng.chance(0.85) ? `/v1/call?${q}` : `/injector.js?group=${encodeURIComponent(rng.pick(BAD_NAMES))}&${q}`;
    return { kind: 'query', bytes: http(port, 'GET', path, {}, '', null), expect: 'json4xx' };
  }
  if (roll < 70) {
    const path = rng.pick([
      () => `/${rng.string(rng.range(1, 30), 'abcxyz/._-~%0123456789')}`,
      () => `/v2/call`,
      () => `/v1/${rng.string(rng.range(1, 12))}`,
      () => `/v1/calls`,
      () => `/v1/call/extra/${rng.string(4)}`,
      () => `/v1/clients/${rng.string(rng.range(1, 60))}/more`,
      () => `/${'a/'.repeat(rng.range(100, 3_000))}`,
      () => `/%${rng.string(2, 'GHZ%')}`,
      () => `/health/${rng.string(3)}`,
      () => `/injector.js/${rng.string(3)}`,
    ])();
    return { kind: 'route', bytes: http(port, rng.pick(['GET', 'POST', 'DELETE', 'PUT']), path, JSON_TYPE, '{}'), expect: 'json4xx' };
  }
  if (roll < 72) {
    // The fuzz bridge runs without --allow-eval: every eval, well-formed or not, is EVAL_DISABLED.
    const body = rng.chance(0.5) ? JSON.stringify({ group: 'fz-http', code: rng.pick(['document.cookie', '1+1', '']) }) : stringify(breakCall(rng), rng);
    const method = rng.chance(0.8) ? 'POST' : rng.pick(['GET', 'PUT', 'DELETE']);
    return { kind: 'eval', bytes: http(port, method, '/v1/eval', JSON_TYPE, body), expect: 'json4xx' };
  }
  if (roll < 75) {
    const id = rng.pick([rng.string(rng.range(1, 64)), '%E0%A4%A', '%', '%FF%FE', encodeURIComponent(rng.string(10, 'é€/ ?#'))]);
    return { kind: 'delete-client', bytes: http(port, 'DELETE', `/v1/clients/${id}`, {}, '', null), expect: 'json4xx' };
  }
  if (roll < 81) {
    const [method, path] = rng.pick<[string, string]>([
      ['PUT', '/v1/call'], ['PATCH', '/v1/call'], ['DELETE', '/v1/call'], ['OPTIONS', '/v1/call'],
      ['GET', '/v1/batch'], ['PUT', '/v1/batch'], ['DELETE', '/v1/batch'],
      ['POST', '/v1/clients'], ['PUT', '/v1/clients'], ['PATCH', '/v1/clients/abc'], ['POST', '/v1/clients/abc'],
      ['PUT', '/health'], ['POST', '/health'], ['DELETE', '/injector.js'], ['POST', '/injector.js'],
      ['HEAD', '/v1/batch'], ['HEAD', '/nothing-here'],
    ]);
    return { kind: 'method', bytes: http(port, method, path, JSON_TYPE, method === 'HEAD' ? '' : JSON.stringify(GOOD_CALL)), expect: method === 'HEAD' ? 'head4xx' : 'json4xx' };
  }
  if (roll < 86) {
    const headers = rng.pick<Record<string, string>>([
      { origin: `https://${rng.string(8)}.example` },
      { origin: 'null' },
      { 'sec-fetch-site': rng.pick(['cross-site', 'same-site']) },
      { origin: 'http://127.0.0.1.evil.example' },
    ]);
    const path = rng.pick(['/v1/call', '/v1/batch', '/v1/clients', '/v1/call?group=fz-http&action=echo']);
    const method = path === '/v1/call' || path === '/v1/batch' ? 'POST' : 'GET';
    return { kind: 'cross-site', bytes: http(port, method, path, { ...JSON_TYPE, ...headers }, JSON.stringify(path === '/v1/batch' ? { group: 'fz-http', calls: [] } : GOOD_CALL)), expect: 'json4xx' };
  }
  if (roll < 89) {
    // A foreign Host (DNS rebinding): written by hand because http() always sends a loopback Host.
    const host = rng.pick(['evil.example', 'evil.example:80', `${rng.string(6)}.test:${port}`, '127.0.0.1.nip.io', '0x7f000001', 'localhost.evil']);
    const path = rng.pick(['/v1/clients', '/v1/call?group=fz-http&action=echo']);
    return { kind: 'rebinding', bytes: Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`), expect: 'json4xx' };
  }
  if (roll < 92) {
    // A body that stops before its declared length; the half-close ends the request.
    const body = JSON.stringify(GOOD_CALL);
    const cut = rng.int(body.length);
    return { kind: 'truncated-body', bytes: http(port, 'POST', route, JSON_TYPE, body.slice(0, cut), body.length), expect: 'raw4xx' };
  }
  if (roll < 96) {
    const upgrade = rng.pick([
      () => `GET /v1/other HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      () => `GET /v1/ws HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: ${rng.pick(['7', '99', 'x', ''])}\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      () => `GET /v1/ws HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${rng.pick(['', 'short', '!!!!', 'x'.repeat(100)])}\r\n\r\n`,
      () => `GET /v1/ws HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: upgrade\r\nupgrade: ${rng.pick(['h2c', 'websockets', 'foo'])}\r\n\r\n`,
      () => `POST /v1/ws HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    ])();
    return { kind: 'bad-upgrade', bytes: Buffer.from(upgrade, 'latin1'), expect: 'raw4xx' };
  }
  const garbage = rng.pick<() => Buffer>([
    () => rng.bytes(rng.range(1, 2_000)),
    () => Buffer.from(rng.string(rng.range(1, 200), 'GETPOSThtp/1.\r\n :'), 'latin1'),
    () => Buffer.from(`${rng.pick(['FOO', 'GET', 'G\u0000ET', 'BREW', ''])} ${rng.pick(['*', 'http://x', '', '/ /', '/%'])} ${rng.pick(['HTTP/1.1', 'HTTP/9.9', 'HTTP/1', 'SPDY'])}\r\nhost: 127.0.0.1\r\n\r\n`, 'latin1'),
    () => Buffer.from(`POST /v1/call HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\n{}{}{}{}`),
    () => Buffer.from(`POST /v1/call HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`),
    () => Buffer.from(`POST /v1/call HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${rng.pick(['zz', '-1', 'fffffffffffffff', '5\r\nabc'])}\r\n\r\n`),
    () => Buffer.from(`POST /v1/call HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${rng.pick(['-1', 'abc', '1e3', '', '99999999999999999999999'])}\r\n\r\n{}`),
    () => Buffer.from(`GET /v1/clients HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${'a'.repeat(rng.range(17_000, 70_000))}\r\n\r\n`),
    () => Buffer.from(`GET /${'p'.repeat(rng.range(17_000, 40_000))} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`),
    () => Buffer.from(`GET /v1/clients HTTP/1.1\r\nhost: 127.0.0.1\r\nbad header\r\n\r\n`),
    () => Buffer.from(`GET /v1/clients HTTP/1.1\r\nhost: 127.0.0.1\r\nx-a: b\u0000c\r\n\r\n`, 'latin1'),
    () => Buffer.from(`GET /v1/clients HTTP/1.1\r\n\r\n`),
    () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    () => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), rng.bytes(100)]),
    () => Buffer.from(`GET /v1/cl`),
  ])();
  return { kind: 'garbage', bytes: garbage, expect: 'raw4xx' };
}
