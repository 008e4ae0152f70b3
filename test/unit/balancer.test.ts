import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pickCandidate, type BalancePolicy } from '../../bridge/balancer.js';

const loads = (...n: number[]) => n.map((inFlight) => ({ inFlight }));

describe('balancer', () => {
  const cases: Array<[string, BalancePolicy, number[], number, number, number]> = [
    // name, policy, loads, cursor, max, expected index
    ['no candidates', 'least-in-flight', [], 0, 10, -1],
    ['least loaded wins', 'least-in-flight', [3, 1, 2], 0, 10, 1],
    ['ties go to the cursor position', 'least-in-flight', [0, 0, 0], 2, 10, 2],
    ['cursor wraps', 'least-in-flight', [0, 0, 0], 5, 10, 2],
    ['full pages are skipped', 'least-in-flight', [10, 10, 9], 0, 10, 2],
    ['all full', 'least-in-flight', [10, 10], 0, 10, -1],
    ['round-robin follows the cursor', 'round-robin', [5, 0, 0], 0, 10, 0],
    ['round-robin skips full pages', 'round-robin', [10, 3, 0], 0, 10, 1],
    ['round-robin all full', 'round-robin', [1, 1], 1, 1, -1],
    ['negative cursor is safe', 'round-robin', [0, 0], -3, 10, 1],
  ];
  for (const [name, policy, l, cursor, max, expected] of cases) {
    test(name, () => assert.equal(pickCandidate(loads(...l), policy, cursor, max), expected));
  }

  test('round-robin with a moving cursor visits every page evenly', () => {
    const counts = [0, 0, 0];
    for (let cursor = 0; cursor < 300; cursor++) counts[pickCandidate(loads(0, 0, 0), 'round-robin', cursor, 10)]!++;
    assert.deepEqual(counts, [100, 100, 100]);
  });
});
