/** The byte scan that refuses deep nesting before JSON.parse sees it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_ENVELOPE_DEPTH, scanDepth } from '../../bridge/json-depth.js';
import { createRng } from '../fuzz/prng.js';

/** Nesting of a parsed value, the root container being level 1. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

/** The exact depth: a limit the text cannot reach, but below its length (shorter text is not scanned). */
const scan = (text: string): number => scanDepth(Buffer.from(text), Math.max(0, Buffer.byteLength(text) - 1));

describe('scanDepth', () => {
  const cases: Array<[string, string, number]> = [
    ['a scalar', '42', 0],
    ['an empty array', '[]', 1],
    ['nested arrays and objects', '{"a":[1,{"b":[[]]}]}', 5],
    ['brackets inside strings do not count', '["[[[{{{", "]]]}}}"]', 1],
    ['an escaped quote does not end the string', '["a\\"[[[[", 1]', 1],
    ['an escaped backslash before the closing quote does', '["a\\\\", [[1]]]', 3],
    ['a long string with escapes (the indexOf path)', `["${'x'.repeat(100)}\\"[[${'y'.repeat(100)}\\\\", [1]]`, 2],
    ['unicode in strings', '["€[𝄞", {"é":[1]}]', 3],
    ['an unterminated string ends the scan', '[["abc', 2],
  ];
  for (const [name, text, expected] of cases) test(name, () => assert.equal(scan(text), expected));

  test('stops at the first level past the limit, and text too short to pass it is 0', () => {
    assert.equal(scanDepth(Buffer.from('['.repeat(5_000)), 1_024), 1_025);
    assert.equal(scanDepth(Buffer.from(`${'['.repeat(1_100)}${']'.repeat(1_100)}`)), MAX_ENVELOPE_DEPTH + 1);
    assert.equal(scanDepth(Buffer.from('[[[]]]'), 10), 0);
    assert.equal(scanDepth(Buffer.alloc(32 * 1024 * 1024, '['.charCodeAt(0))), MAX_ENVELOPE_DEPTH + 1);
  });

  test('agrees with the parsed depth on random JSON', () => {
    const rng = createRng(7);
    const tricky = ['[', ']', '{', '}', '"', '\\', '\\"', '\\\\', 'x', '€', ' '];
    const value = (depth: number): unknown => {
      const roll = rng.int(10);
      if (depth > 8 || roll < 3) return rng.chance(0.5) ? Array.from({ length: rng.int(40) }, () => rng.pick(tricky)).join('') : rng.int(100);
      if (roll < 6) return Array.from({ length: rng.int(4) }, () => value(depth + 1));
      const out: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--) out[`${rng.pick(tricky)}${i}`] = value(depth + 1);
      return out;
    };
    for (let i = 0; i < 3_000; i++) {
      const v = value(0);
      const text = JSON.stringify(v);
      assert.equal(scan(text), depthOf(v), text);
    }
  });
});
