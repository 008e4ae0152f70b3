import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveConfig } from '../../bridge/config.js';
import { checkCallRequest, parseBatchBody, parseCallBody, parseCallQuery, parseEvalBody } from '../../bridge/http/call-schema.js';
import type { CallRequest } from '../../bridge/pending-calls.js';

const config = resolveConfig({ maxTimeoutMs: 60_000, maxBatch: 3 });

/** What a parser returned, or the BAD_REQUEST (or other) message it threw. */
function outcome(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (error) {
    const e = error as { code?: string; message: string };
    return `${e.code}: ${e.message}`;
  }
}

let deep: unknown = 0;
for (let i = 0; i < 1_100; i++) deep = [deep];

describe('POST /v1/call bodies', () => {
  const cases: Array<[string, unknown, unknown]> = [
    ['the smallest call', { group: 'g', action: 'a' }, { group: 'g', action: 'a', args: [] }],
    ['every field', { group: 'g', action: 'a', args: [1, 'x'], clientId: 'c1', timeoutMs: 500, retry: false, balance: 'round-robin' },
      { group: 'g', action: 'a', args: [1, 'x'], clientId: 'c1', timeoutMs: 500, retry: false, balance: 'round-robin' }],
    ['not an object', [1], 'BAD_REQUEST: body: expected object, got array'],
    ['null', null, 'BAD_REQUEST: body: expected object, got null'],
    ['no group', { action: 'a' }, 'BAD_REQUEST: group: required'],
    ['a group of the wrong type', { group: 5, action: 'a' }, 'BAD_REQUEST: group: expected string, got number'],
    ['an invalid group name', { group: 'a b', action: 'a' }, /^BAD_REQUEST: group: "a b" is not a valid group name/],
    ['a reserved action', { group: 'g', action: '$eval' }, /^BAD_REQUEST: action: "\$eval" is not a valid action name/],
    ['args not an array', { group: 'g', action: 'a', args: { x: 1 } }, 'BAD_REQUEST: args: expected array, got object'],
    ['an unknown field', { group: 'g', action: 'a', param: [1] }, 'BAD_REQUEST: unknown field "param" (pass arguments as "args": [...])'],
    ['two unknown fields', { group: 'g', action: 'a', x: 1, y: 2 }, 'BAD_REQUEST: unknown fields "x", "y"'],
    ['a fractional timeout', { group: 'g', action: 'a', timeoutMs: 1.5 }, 'BAD_REQUEST: timeoutMs: expected integer, got 1.5'],
    ['a zero timeout', { group: 'g', action: 'a', timeoutMs: 0 }, /^BAD_REQUEST: timeoutMs: /],
    ['a timeout as a string', { group: 'g', action: 'a', timeoutMs: '5' }, 'BAD_REQUEST: timeoutMs: expected number, got string'],
    ['a timeout over the maximum', { group: 'g', action: 'a', timeoutMs: 60_001 }, 'BAD_REQUEST: timeoutMs: at most 60000, got 60001'],
    ['an unknown balance policy', { group: 'g', action: 'a', balance: 'random' }, /^BAD_REQUEST: balance: /],
    ['retry not a boolean', { group: 'g', action: 'a', retry: 'no' }, 'BAD_REQUEST: retry: expected boolean, got string'],
    ['arguments nested too deep', { group: 'g', action: 'a', args: [1, deep] }, 'BAD_REQUEST: args[1]: nested deeper than 1000 levels'],
    ['a well-formed tagged value', { group: 'g', action: 'a', args: [{ $bytes: 'AQID' }, { x: { $bigint: '-12' } }] },
      { group: 'g', action: 'a', args: [{ $bytes: 'AQID' }, { x: { $bigint: '-12' } }] }],
    ['a malformed $bytes, named by its path', { group: 'g', action: 'a', args: [1, { x: { $bytes: 'not base64!!' } }] },
      'BAD_REQUEST: args[1].x: $bytes: invalid base64 (unexpected " " at 3)'],
    ['a malformed $bigint', { group: 'g', action: 'a', args: [{ $bigint: 'abc' }] }, 'BAD_REQUEST: args[0]: $bigint: expected a string of digits, got "abc"'],
    ['a malformed $map', { group: 'g', action: 'a', args: [{ $map: 5 }] }, 'BAD_REQUEST: args[0]: $map: expected an array of [key, value] pairs, got number'],
    ['a malformed $date', { group: 'g', action: 'a', args: [{ $date: 'not a date' }] }, 'BAD_REQUEST: args[0]: $date: "not a date" is not a date'],
  ];
  for (const [name, body, expected] of cases) {
    test(name, () => {
      const got = outcome(() => parseCallBody(body, config));
      if (expected instanceof RegExp) assert.match(String(got), expected);
      else assert.deepEqual(got, expected);
    });
  }
});

describe('POST /v1/batch bodies', () => {
  test('batch defaults fill in what an item leaves out; an item overrides them', () => {
    const items = parseBatchBody({ group: 'g', timeoutMs: 100, retry: false, calls: [{ action: 'a' }, { action: 'b', group: 'h', timeoutMs: 200 }] }, config);
    assert.deepEqual(items, [
      { ok: true, request: { group: 'g', action: 'a', args: [], timeoutMs: 100, retry: false } },
      { ok: true, request: { group: 'h', action: 'b', args: [], timeoutMs: 200, retry: false } },
    ]);
  });

  const items: Array<[string, unknown, string]> = [
    ['an item that is not an object', 5, 'calls[0]: expected object, got number'],
    ['an item without a group when the batch has none', { action: 'a' }, 'calls[0].group: required (or set "group" on the batch)'],
    ['an item with an unknown field', { group: 'g', action: 'a', nope: 1 }, 'calls[0]: unknown field "nope"'],
    ['an item with a bad action', { group: 'g', action: 42 }, 'calls[0].action: expected string, got number'],
    ['an item with a timeout over the maximum', { group: 'g', action: 'a', timeoutMs: 70_000 }, 'calls[0].timeoutMs: at most 60000, got 70000'],
    ['an item with a malformed tagged value', { group: 'g', action: 'a', args: [[{ $set: 'x' }]] }, 'calls[0].args[0][0]: $set: expected an array, got string'],
  ];
  for (const [name, item, message] of items) {
    test(`${name} fails alone`, () => {
      const parsed = parseBatchBody({ calls: [item, { group: 'g', action: 'fine' }] }, config);
      assert.equal(parsed.length, 2);
      const [bad, good] = parsed;
      assert.equal(bad!.ok, false);
      if (!bad!.ok) {
        assert.equal(bad!.error.code, 'BAD_REQUEST');
        assert.equal(bad!.error.message, message);
      }
      assert.equal(good!.ok, true);
    });
  }

  const envelopes: Array<[string, unknown, string]> = [
    ['no calls', { group: 'g' }, 'BAD_REQUEST: calls: required'],
    ['calls not an array', { calls: {} }, 'BAD_REQUEST: calls: expected array, got object'],
    ['too many calls', { calls: [1, 2, 3, 4] }, 'PAYLOAD_TOO_LARGE: calls: at most 3 calls per batch, got 4 (--max-batch)'],
    ['an unknown envelope field', { calls: [], extra: true }, 'BAD_REQUEST: unknown field "extra"'],
  ];
  for (const [name, body, expected] of envelopes) {
    test(`an envelope with ${name} fails the request`, () => assert.equal(outcome(() => parseBatchBody(body, config)), expected));
  }
});

describe('GET /v1/call queries', () => {
  const cases: Array<[string, string, unknown]> = [
    ['args as a JSON array', 'group=g&action=a&args=[1,"two"]', { group: 'g', action: 'a', args: [1, 'two'] }],
    ['arg per argument, JSON when it parses', 'group=g&action=a&arg=2&arg=x&arg={"k":1}', { group: 'g', action: 'a', args: [2, 'x', { k: 1 }] }],
    ['options as parameters', 'group=g&action=a&timeoutMs=50&retry=false&clientId=c', { group: 'g', action: 'a', args: [], clientId: 'c', timeoutMs: 50, retry: false }],
    ['args that are not JSON', 'group=g&action=a&args=[1,', 'BAD_REQUEST: args: expected a JSON array, e.g. args=[1,"two"]'],
    ['both args and arg', 'group=g&action=a&args=[1]&arg=2', 'BAD_REQUEST: args: use either args=[...] or arg=..., not both'],
    ['a timeout that is not a number', 'group=g&action=a&timeoutMs=soon', 'BAD_REQUEST: timeoutMs: expected number, got string'],
    ['a malformed tagged value', 'group=g&action=a&args=[{"$number":"five"}]', 'BAD_REQUEST: args[0]: $number: expected "NaN", "Infinity", "-Infinity" or "-0"'],
  ];
  for (const [name, query, expected] of cases) {
    test(name, () => assert.deepEqual(outcome(() => parseCallQuery(new URLSearchParams(query), config)), expected));
  }
});

describe('POST /v1/eval bodies', () => {
  test('become a never-retried call of $eval', () => {
    assert.deepEqual(parseEvalBody({ group: 'g', code: '1 + 1' }, config), { group: 'g', action: '$eval', args: ['1 + 1'], retry: false });
  });
  test('need a code string', () => {
    assert.equal(outcome(() => parseEvalBody({ group: 'g', code: '' }, config)), 'BAD_REQUEST: code: Too small: expected string to have >=1 characters');
    assert.equal(outcome(() => parseEvalBody({ group: 'g', action: 'x', code: '1' }, config)), 'BAD_REQUEST: unknown field "action"');
  });
});

describe('Node API calls follow the HTTP rules', () => {
  const base: CallRequest = { group: 'g', action: 'a', args: [] };
  const cases: Array<[string, Partial<CallRequest> & Record<string, unknown>, string]> = [
    ['a NaN timeout', { timeoutMs: Number.NaN }, 'BAD_REQUEST: timeoutMs: expected number, got NaN'],
    ['an infinite timeout', { timeoutMs: Infinity }, 'BAD_REQUEST: timeoutMs: expected number, got Infinity'],
    ['a negative timeout', { timeoutMs: -1 }, 'BAD_REQUEST: timeoutMs: Too small: expected number to be >0'],
    ['a timeout over the maximum', { timeoutMs: 3_600_000 }, 'BAD_REQUEST: timeoutMs: at most 60000, got 3600000'],
    ['a bad group', { group: 'no spaces' }, 'BAD_REQUEST: group: "no spaces" is not a valid group name (letters, digits, _ . : -, at most 64)'],
    ['a bad client id', { clientId: 'a/b' }, 'BAD_REQUEST: clientId: "a/b" is not a valid client id (letters, digits, _ -, at most 64)'],
    ['a malformed tagged value', { args: [{ $bytes: 5 }] }, 'BAD_REQUEST: args[0]: $bytes: expected a base64 string, got number'],
    ['a signal that is not an AbortSignal', { signal: {} as AbortSignal }, 'BAD_REQUEST: signal: expected AbortSignal, got object'],
  ];
  for (const [name, change, expected] of cases) {
    test(`${name} is refused with the HTTP message`, () => assert.equal(outcome(() => checkCallRequest({ ...base, ...change } as CallRequest, config)), expected));
  }

  test('a valid request keeps its signal and request id', () => {
    const signal = new AbortController().signal;
    const checked = checkCallRequest({ ...base, args: [1], timeoutMs: 10, signal, requestId: 'r-1' }, config);
    assert.deepEqual({ ...checked, signal: undefined }, { group: 'g', action: 'a', args: [1], timeoutMs: 10, signal: undefined, requestId: 'r-1' });
    assert.equal(checked.signal, signal);
  });
});
