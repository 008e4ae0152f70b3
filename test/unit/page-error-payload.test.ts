/** How anything a page function throws becomes {name, message, stack?} (injector/page/error-payload.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messageOf, namedError, toErrorPayload } from '../../injector/page/error-payload.js';

class SignError extends Error {
  override name = 'SignError';
}

const withStack = (error: Error, stack: unknown): Error => Object.defineProperty(error, 'stack', { value: stack });

describe('error payloads', () => {
  const cases: Array<[string, () => unknown, object]> = [
    ['an Error', () => withStack(new Error('boom'), 'Error: boom\n    at f (page.js:1:1)'), { name: 'Error', message: 'boom', stack: 'Error: boom\n    at f (page.js:1:1)' }],
    ['a built-in subclass keeps its name', () => withStack(new RangeError('out of range: 7'), 'RangeError: out of range: 7'), { name: 'RangeError', message: 'out of range: 7', stack: 'RangeError: out of range: 7' }],
    ['a page-defined subclass keeps its name', () => withStack(new SignError('no key'), 's'), { name: 'SignError', message: 'no key', stack: 's' }],
    ['an empty name becomes Error', () => withStack(Object.assign(new Error('x'), { name: '' }), 's'), { name: 'Error', message: 'x', stack: 's' }],
    ['a stack that is not a string is left out', () => withStack(new Error('x'), 42), { name: 'Error', message: 'x' }],
    ['an error-like object', () => ({ name: 'ApiError', message: 'denied', code: 7 }), { name: 'ApiError', message: 'denied' }],
    ['an error-like object without a name', () => ({ message: 'denied' }), { name: 'Error', message: 'denied' }],
    ['a thrown string', () => 'plain words', { name: 'Error', message: 'plain words' }],
    ['a thrown number', () => 42, { name: 'Error', message: '42' }],
    ['a thrown null', () => null, { name: 'Error', message: 'null' }],
    ['a thrown undefined', () => undefined, { name: 'Error', message: 'undefined' }],
    ['an object without a message', () => ({ code: 1 }), { name: 'Error', message: '[object Object]' }],
    ['a message that is not a string', () => ({ message: 5 }), { name: 'Error', message: '[object Object]' }],
    ['a symbol', () => Symbol('why'), { name: 'Error', message: 'Symbol(why)' }],
    [
      'an object whose getters throw',
      () => ({ get message(): never { throw new Error('trap'); } }),
      { name: 'Error', message: 'the function threw a value that cannot be turned into a string' },
    ],
    [
      'an object that cannot become a string',
      () => Object.create(null),
      { name: 'Error', message: 'the function threw a value that cannot be turned into a string' },
    ],
  ];
  for (const [name, make, payload] of cases) {
    test(name, () => {
      assert.deepEqual(toErrorPayload(make()), payload);
      assert.equal(messageOf(make()), (payload as { message: string }).message);
    });
  }

  test('namedError makes an Error with the given name, as abort reasons need', () => {
    const error = namedError('TimeoutError', 'passed its 100 ms deadline');
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'TimeoutError');
    assert.equal(error.message, 'passed its 100 ms deadline');
  });
});
