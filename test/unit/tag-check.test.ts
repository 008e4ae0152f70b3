import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCodec, findMalformedTag } from '../../protocol/index.js';

describe('tagged-value check', () => {
  const cases: Array<[string, unknown, string | undefined]> = [
    ['plain JSON', { a: [1, 'x', null, true, { b: {} }] }, undefined],
    ['a key starting with $ among others (not a tag)', { $bytes: '!!', other: 1 }, undefined],
    ['a $-key that is not a tag', { $other: '!!' }, undefined],
    ['bytes, standard alphabet, padded', { $bytes: 'AQIDBA==' }, undefined],
    ['bytes, URL-safe alphabet, unpadded', { $bytes: '-_8' }, undefined],
    ['empty bytes', { $bytes: '' }, undefined],
    ['bytes with a space', { $bytes: 'not base64!!' }, 'v: $bytes: invalid base64 (unexpected " " at 3)'],
    ['bytes with = in the middle', { $bytes: 'AQ==AQ' }, 'v: $bytes: invalid base64 (= only at the end, at most two)'],
    ['bytes with three =', { $bytes: 'AQ===' }, 'v: $bytes: invalid base64 (= only at the end, at most two)'],
    ['bytes of an impossible length', { $bytes: 'AQIDB' }, 'v: $bytes: invalid base64 (length)'],
    ['bytes that are not a string', { $bytes: [1, 2] }, 'v: $bytes: expected a base64 string, got array'],
    ['undefined', { $undefined: true }, undefined],
    ['a bigint', { $bigint: '-123456789012345678901234567890' }, undefined],
    ['a bigint with letters', { $bigint: 'abc' }, 'v: $bigint: expected a string of digits, got "abc"'],
    ['a bigint as a number', { $bigint: 12 }, 'v: $bigint: expected a string of digits, got number'],
    ['each special number', [{ $number: 'NaN' }, { $number: 'Infinity' }, { $number: '-Infinity' }, { $number: '-0' }], undefined],
    ['a number word that is not one', { $number: 'nan' }, 'v: $number: expected "NaN", "Infinity", "-Infinity" or "-0"'],
    ['a date', { $date: '2026-01-02T03:04:05.678Z' }, undefined],
    ['an invalid Date as the encoder writes it', { $date: 'Invalid Date' }, undefined],
    ['a date that does not parse', { $date: 'not a date' }, 'v: $date: "not a date" is not a date'],
    ['a date that is a number', { $date: 0 }, 'v: $date: expected an ISO 8601 string, got number'],
    ['a map', { $map: [['k', 1], [{ $bigint: '1' }, { $bytes: 'AA' }]] }, undefined],
    ['a map that is not an array', { $map: 5 }, 'v: $map: expected an array of [key, value] pairs, got number'],
    ['a map entry that is not a pair', { $map: [['k', 1], ['lonely']] }, 'v: $map[1]: expected a [key, value] pair'],
    ['a malformed tag inside a map value', { $map: [['k', { $bigint: 'x' }]] }, 'v.$map[0][1]: $bigint: expected a string of digits, got "x"'],
    ['a set', { $set: [1, { $number: 'NaN' }] }, undefined],
    ['a set that is not an array', { $set: {} }, 'v: $set: expected an array, got object'],
    ['a malformed tag inside a set', { $set: [1, { $date: 'x' }] }, 'v.$set[1]: $date: "x" is not a date'],
    ['an escaped object', { $escape: { $bytes: 'this is not decoded as bytes' } }, undefined],
    ['an escape that is not an object', { $escape: [1] }, 'v: $escape: expected an object, got array'],
    ['a malformed tag inside an escaped object', { $escape: { $bytes: { $bigint: '1.5' } } }, 'v.$escape.$bytes: $bigint: expected a string of digits, got "1.5"'],
    ['the path through arrays and odd keys', { a: [0, { 'b c': [{ $map: null }] }] }, 'v.a[1]["b c"][0]: $map: expected an array of [key, value] pairs, got null'],
  ];
  for (const [name, value, expected] of cases) {
    test(`${expected ? 'refuses' : 'accepts'} ${name}`, () => assert.equal(findMalformedTag(value, 'v'), expected));
  }

  test('whatever the encoder writes passes the check', () => {
    const codec = createCodec();
    const value = {
      bytes: new Uint8Array([1, 2, 3, 250]),
      big: -(2n ** 80n),
      numbers: [Number.NaN, Infinity, -Infinity, -0],
      dates: [new Date(0), new Date(Number.NaN)],
      map: new Map<unknown, unknown>([[1n, new Set([new Uint8Array(2)])]]),
      lookalike: { $bytes: 'a plain object that looks like a tag' },
      missing: [undefined],
    };
    assert.equal(findMalformedTag(codec.encode(value), 'v'), undefined);
  });
});
