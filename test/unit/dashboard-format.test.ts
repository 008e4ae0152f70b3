/** Count wording in the dashboard (bridge/dashboard/ui/format.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countOf, plural } from '../../bridge/dashboard/ui/format.js';

describe('dashboard count wording', () => {
  const cases: Array<[number, string, string | undefined, string]> = [
    [0, 'page', undefined, '0 pages'],
    [1, 'page', undefined, '1 page'],
    [2, 'page', undefined, '2 pages'],
    [1204, 'call', undefined, '1,204 calls'],
    [1, 'call/s', 'calls/s', '1 call/s'],
    [3, 'call/s', 'calls/s', '3 calls/s'],
    [0.5, 'call', undefined, '0.5 calls'],
  ];
  for (const [n, one, many, text] of cases) {
    test(text, () => {
      assert.equal(countOf(n, one, many), text);
      assert.equal(plural(n, one, many), text.slice(text.indexOf(' ') + 1));
    });
  }
});
