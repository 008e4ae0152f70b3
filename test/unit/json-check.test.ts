import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkJsonValue } from '../../bridge/json-check.js';

const check = (text: string, maxDepth = 1000): number => {
  const bytes = Buffer.from(text);
  return checkJsonValue(bytes, 0, bytes.length, maxDepth);
};

describe('checkJsonValue', () => {
  const valid: Array<[string, number]> = [
    ['0', 0], ['-0', 0], ['12.5e-3', 0], ['1E+9', 0], ['true', 0], ['false', 0], ['null', 0],
    ['""', 0], ['"é 🎉 \\u00e9 \\n \\" \\\\ \\/"', 0], ['[]', 1], ['{}', 1], [' [ 1 , [ 2 ] ] ', 2],
    ['{"a":{"b":[{}]}}', 4], ['{"a":1,"a":2}', 1], ['\t\r\n[1]\n', 1],
  ];
  for (const [text, depth] of valid) test(`accepts ${JSON.stringify(text)} (depth ${depth})`, () => assert.equal(check(text), depth));

  const invalid = [
    '', ' ', '01', '1.', '.5', '-', '1e', '+1', 'tru', 'nul', 'True', 'NaN', 'Infinity', '"', '"\\x"', '"\\u12"', '"a\nb"',
    '"\u0001"', '[', ']', '[1,]', '[,1]', '[1 2]', '{', '{"a"}', '{"a":}', '{a:1}', '{"a":1,}', "{'a':1}", '{"a":1}}',
    '[1]]', '1 2', '[] []', '{"a":1 "b":2}', '[1}', '{"a":1]', '/* */1', '\u00a01',
  ];
  for (const text of invalid) test(`refuses ${JSON.stringify(text)}`, () => assert.equal(check(text), -1));

  test('checks only its range: the bytes around it do not count', () => {
    const bytes = Buffer.from('xx{"a":[1]}yy');
    assert.equal(checkJsonValue(bytes, 2, bytes.length - 2, 10), 2);
    assert.equal(checkJsonValue(bytes, 2, bytes.length - 3, 10), -1);
  });

  test('refuses nesting past maxDepth, without recursion', () => {
    assert.equal(check('[[[1]]]', 3), 3);
    assert.equal(check('[[[1]]]', 2), -1);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    assert.equal(check(deep, 1000), -1);
    assert.equal(check(deep, 100_000), 100_000);
  });

  test('agrees with JSON.parse on random token soup', () => {
    const pieces = ['{', '}', '[', ']', ',', ':', '"a"', '"\\u00e9"', '"\\x"', '"\\"', '1', '-0', '01', '1.', '1.5e+3', '-', 'true', 'tru', 'null', ' ', '\n', '"', '\\', 'é', '"é"', '"\t"', '1e', '0.1', '"\\/"'];
    let seed = 11;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    let parsed = 0;
    for (let round = 0; round < 50_000; round++) {
      let text = '';
      for (let k = 1 + rand(8); k > 0; k--) text += pieces[rand(pieces.length)];
      let ok = true;
      try {
        JSON.parse(text);
      } catch {
        ok = false;
      }
      if (ok) parsed++;
      assert.equal(check(text) >= 0, ok, `disagrees with JSON.parse on ${JSON.stringify(text)}`);
    }
    assert.ok(parsed > 1000, 'the soup holds valid JSON too');
  });

  test('accepts whatever JSON.stringify writes', () => {
    let seed = 5;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const gen = (depth: number): unknown => {
      const r = rand(10);
      if (depth > 5 || r < 3) return [1, -2.5e-7, 'x\u2028"\\\u0000', null, true, 'é🎉', 1e300][rand(7)];
      if (r < 6) return Array.from({ length: rand(4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: rand(4) }, (_, k) => [`k${k}"\n`, gen(depth + 1)]));
    };
    for (let round = 0; round < 2_000; round++) {
      const text = JSON.stringify(gen(0), null, rand(2) ? 0 : 2);
      assert.ok(check(text) >= 0, text);
    }
  });
});
