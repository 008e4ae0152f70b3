import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCodec, portableBase64, MAX_DEPTH } from '../../protocol/index.js';
import { codec as nodeCodec } from '../../bridge/index.js';

const portable = createCodec();

describe('value codec', () => {
  const roundTrips: Array<[string, unknown]> = [
    ['string', 'hello'],
    ['number', 3.5],
    ['boolean', true],
    ['null', null],
    ['nested', { a: [1, { b: 'c' }], d: null }],
    ['bytes', new Uint8Array([0, 1, 2, 254, 255])],
    ['empty bytes', new Uint8Array([])],
    ['undefined', undefined],
    ['undefined in array', [1, undefined, 3]],
    ['bigint', 12345678901234567890n],
    ['negative bigint', -5n],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['-0', -0],
    ['date', new Date('2026-01-02T03:04:05.678Z')],
    ['map', new Map<unknown, unknown>([['a', 1], [2, new Uint8Array([9])]])],
    ['set', new Set([1, 'two'])],
    ['object that looks like a tag', { $bytes: 'not really bytes' }],
    ['nested look-alike', { x: { $undefined: true } }],
  ];
  for (const c of [portable, nodeCodec]) {
    for (const [name, value] of roundTrips) {
      test(`round-trips ${name}`, () => {
        const wire = JSON.parse(JSON.stringify(c.encode(value)));
        assert.deepEqual(c.decode(wire), value);
      });
    }
  }

  test('encodes to documented wire forms', () => {
    assert.deepEqual(portable.encode(new Uint8Array([1, 2, 3])), { $bytes: 'AQID' });
    assert.deepEqual(portable.encode(undefined), { $undefined: true });
    assert.deepEqual(portable.encode(10n), { $bigint: '10' });
    assert.deepEqual(portable.encode({ a: undefined, b: () => 1, c: 1 }), { c: 1 });
    assert.deepEqual(portable.encode({ $set: 1 }), { $escape: { $set: 1 } });
    assert.deepEqual(portable.encode(new Uint16Array([1]).buffer), { $bytes: 'AQA=' });
    assert.equal((portable.encode(new TypeError('x')) as { name: string }).name, 'TypeError');
    assert.deepEqual(portable.encode({ toJSON: () => 'custom' }), 'custom');
  });

  test('refuses cycles and excessive depth', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => portable.encode(cyclic), /cycle/);
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH + 5; i++) deep = [deep];
    assert.throws(() => portable.encode(deep), /deeper/);
  });

  test('the same object twice is not a cycle', () => {
    const shared = { x: 1 };
    assert.deepEqual(portable.encode([shared, shared]), [{ x: 1 }, { x: 1 }]);
  });

  test('rejects malformed tags with a message naming the tag', () => {
    assert.throws(() => portable.decode({ $bytes: 5 }), /\$bytes/);
    assert.throws(() => portable.decode({ $bigint: '1.5' }), /\$bigint/);
    assert.throws(() => portable.decode({ $number: 'two' }), /\$number/);
    assert.throws(() => portable.decode({ $bytes: '***' }), /base64/);
  });

  test('portable base64 matches Buffer on every length', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      const expected = Buffer.from(bytes).toString('base64');
      assert.equal(portableBase64.encode(bytes), expected);
      assert.deepEqual(portableBase64.decode(expected), bytes);
      assert.deepEqual(portableBase64.decode(expected.replace(/=+$/, '')), bytes);
    }
  });
});
