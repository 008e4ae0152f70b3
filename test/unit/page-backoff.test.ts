/** When the page tries to connect again (injector/page/backoff.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKOFF_MAX_MS, SLOW_RETRY_MS, reconnectDelay, retryCannotFix, retryDelay } from '../../injector/page/backoff.js';
import type { FailureReason } from '../../injector/page/types.js';

describe('reconnect backoff', () => {
  const cases: Array<[string, number, number, number]> = [
    // name, attempt, random, delay
    ['first attempt, lowest jitter', 0, 0, 125],
    ['first attempt, highest jitter', 0, 1, 250],
    ['first attempt, middle jitter', 0, 0.5, 187.5],
    ['doubles per attempt', 1, 1, 500],
    ['doubles again', 3, 1, 2000],
    ['just under the cap', 4, 1, 4000],
    ['capped', 5, 1, BACKOFF_MAX_MS],
    ['capped with jitter', 5, 0, BACKOFF_MAX_MS / 2],
    ['capped far out', 1000, 1, BACKOFF_MAX_MS],
    ['a negative attempt counts as the first', -3, 1, 250],
    ['random below 0 is clamped', 0, -1, 125],
    ['random above 1 is clamped', 0, 2, 250],
    ['NaN random is the lowest jitter', 0, Number.NaN, 125],
  ];
  for (const [name, attempt, random, delay] of cases) {
    test(name, () => assert.equal(reconnectDelay(attempt, random), delay));
  }
});

describe('slow retry for failures only the user can fix', () => {
  const reasons: Array<[FailureReason | undefined, boolean]> = [
    ['csp', true],
    ['local-network-access', true],
    ['bridge-not-running', false],
    ['closed', false],
    ['replaced', false],
    ['unauthorized', false],
    ['kicked', false],
    ['protocol-mismatch', false],
    [undefined, false],
  ];
  for (const [reason, slow] of reasons) {
    test(`${reason ?? 'an unknown reason'}: ${slow ? 'slow' : 'fast'}`, () => {
      assert.equal(retryCannotFix(reason), slow);
      assert.equal(retryDelay(2, 1, reason), slow ? SLOW_RETRY_MS : reconnectDelay(2, 1));
      assert.equal(retryDelay(2, 0, reason), slow ? SLOW_RETRY_MS / 2 : reconnectDelay(2, 0));
    });
  }

  test('the slow pace does not grow with the attempt number', () => {
    assert.equal(retryDelay(0, 1, 'csp'), retryDelay(50, 1, 'csp'));
  });
});
