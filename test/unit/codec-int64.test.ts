/**
 * 64-bit integers in the value codec: which objects are Longs (protobuf.js's util.Long, the `long`
 * package) and which are data that looks like one, how Longs and bigints are written under each
 * `longs` choice, and what a `$bigint` becomes when decoding.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import Long from 'long';
import { codec as nodeCodec } from '../../bridge/index.js';
import { CodecError, createCodec, longValue, type LongsMode } from '../../protocol/index.js';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs') as typeof import('protobufjs');

/** A Long class as long.js 2 had it: no `__isLong__`, the methods only. */
class OldLong {
  constructor(
    readonly low: number,
    readonly high: number,
    readonly unsigned: boolean,
  ) {}
  getHighBits(): number {
    return this.high;
  }
  getLowBits(): number {
    return this.low;
  }
}

/** A class with Long's fields but neither marker: data, not a Long. */
class Range {
  constructor(
    readonly low: number,
    readonly high: number,
    readonly unsigned: boolean,
  ) {}
}

const marked = (fields: object): object => Object.assign(Object.create({ __isLong__: true }), fields);

describe('Long detection', () => {
  const cases: Array<[string, () => unknown, bigint | undefined]> = [
    ['a long.js Long', () => Long.fromString('7312000000000000001'), 7312000000000000001n],
    ['a negative Long', () => Long.fromInt(-5), -5n],
    ['the smallest signed Long', () => Long.MIN_VALUE, -(2n ** 63n)],
    ['the largest unsigned Long', () => Long.MAX_UNSIGNED_VALUE, 2n ** 64n - 1n],
    ['an unsigned Long whose high bit is set', () => Long.fromBits(1, -2147483648, true), 2n ** 63n + 1n],
    ['the same bits, signed', () => Long.fromBits(1, -2147483648, false), -(2n ** 63n) + 1n],
    ['protobuf.js util.Long (decoded from the wire)', () => protobuf.Reader.create(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10)).int64(), 2n ** 60n],
    ['a Long of another realm', () => runInNewContext('({ __proto__: { __isLong__: true }, low: 7, high: 1, unsigned: false })'), 2n ** 32n + 7n],
    ['a Long class without __isLong__ (long.js 2)', () => new OldLong(3, 0, false), 3n],
    ['a plain object with the fields', () => ({ low: 1, high: 0, unsigned: false }), undefined],
    ['a plain object with the fields and the marker', () => ({ low: 1, high: 0, unsigned: false, __isLong__: true }), undefined],
    ['a null-prototype object with the fields', () => Object.assign(Object.create(null), { low: 1, high: 0, unsigned: false }), undefined],
    ['a class instance with the fields but no marker', () => new Range(1, 0, false), undefined],
    ['a marked object whose low is not a 32-bit integer', () => marked({ low: 1.5, high: 0, unsigned: false }), undefined],
    ['a marked object whose high is out of range', () => marked({ low: 1, high: 2 ** 31, unsigned: false }), undefined],
    ['a marked object without unsigned', () => marked({ low: 1, high: 0 }), undefined],
    ['a marked object whose fields are inherited', () => Object.create(Long.fromInt(5)), undefined],
    ['protobuf.js LongBits ({lo, hi})', () => new protobuf.util.LongBits(1, 2), undefined],
    ['a proxy that throws on reads', () => new Proxy(new Range(1, 0, false), { get: () => { throw new Error('no'); } }), undefined],
    ['a bigint', () => 5n, undefined],
  ];
  for (const [name, make, expected] of cases) {
    test(`${name}: ${expected === undefined ? 'not a Long' : expected}`, () => {
      assert.equal(longValue(make()), expected);
    });
  }
});

describe('writing Longs and bigints', () => {
  const codec = createCodec();
  const big = 2n ** 60n + 3n;
  // [value, longs, wire]
  const table: Array<[string, unknown, LongsMode | undefined, unknown]> = [
    ['a Long, by default', Long.fromString(String(big)), undefined, { $bigint: String(big) }],
    ['a Long, as bigint', Long.fromString(String(big)), 'bigint', { $bigint: String(big) }],
    ['a Long, as string', Long.fromString(String(big)), 'string', String(big)],
    ['an unsafe Long, as number', Long.fromString(String(big)), 'number', { $bigint: String(big) }],
    ['a safe Long, as number', Long.fromInt(-42), 'number', -42],
    ['the largest safe Long, as number', Long.fromNumber(Number.MAX_SAFE_INTEGER), 'number', Number.MAX_SAFE_INTEGER],
    ['one past it, as number', Long.fromNumber(Number.MAX_SAFE_INTEGER).add(1), 'number', { $bigint: String(2n ** 53n) }],
    ['the smallest safe Long, as number', Long.fromNumber(-Number.MAX_SAFE_INTEGER), 'number', -Number.MAX_SAFE_INTEGER],
    ['one below it, as number', Long.fromNumber(-Number.MAX_SAFE_INTEGER).subtract(1), 'number', { $bigint: String(-(2n ** 53n)) }],
    ['a bigint, as string', -7n, 'string', '-7'],
    ['a bigint, as number', 7n, 'number', 7],
    ['a large bigint, as number', 2n ** 70n, 'number', { $bigint: String(2n ** 70n) }],
    ['Longs inside arrays, maps and sets', { ids: [Long.fromInt(1)], byId: new Map([[Long.fromInt(2), 'x']]), set: new Set([Long.fromInt(3)]) }, 'string', { ids: ['1'], byId: { $map: [['2', 'x']] }, set: { $set: ['3'] } }],
    ['a plain object that looks like a Long', { low: 1, high: 0, unsigned: false }, 'string', { low: 1, high: 0, unsigned: false }],
    ['a message with toJSON (protobuf.js reflection)', { id: Long.fromInt(1), toJSON: () => ({ id: '1' }) }, 'bigint', { id: '1' }],
  ];
  for (const [name, value, longs, wire] of table) {
    test(`${name} → ${JSON.stringify(wire)}`, () => {
      assert.deepEqual(codec.encode(value, 'result', longs === undefined ? undefined : { longs }), wire);
    });
  }

  test('the Node codec writes Longs as $bigint too, and they read back as bigints', () => {
    const wire = JSON.parse(JSON.stringify(nodeCodec.encode([Long.fromString('-9223372036854775808')], 'args')));
    assert.deepEqual(wire, [{ $bigint: '-9223372036854775808' }]);
    assert.deepEqual(nodeCodec.decode(wire), [-(2n ** 63n)]);
  });

  test('the page codec hears of each Long it writes', () => {
    const seen: object[] = [];
    const page = createCodec(undefined, { onLong: (long) => seen.push(long) });
    const one = Long.fromInt(1);
    page.encode({ a: one, b: [one, 2n], c: { low: 1, high: 0, unsigned: false } });
    assert.deepEqual(seen, [one, one]);
  });

  test('options last for one call only', () => {
    assert.deepEqual(codec.encode([5n], 'result', { longs: 'string' }), ['5']);
    assert.deepEqual(codec.encode([5n], 'result'), [{ $bigint: '5' }]);
  });
});

describe('reading $bigint', () => {
  const codec = createCodec();
  const wire = { a: { $bigint: '-12' }, list: [{ $bigint: '18446744073709551615' }], map: { $map: [[{ $bigint: '1' }, 'one']] } };

  test('arrives as bigints by default', () => {
    assert.deepEqual(codec.decode(wire), { a: -12n, list: [2n ** 64n - 1n], map: new Map([[1n, 'one']]) });
  });

  test('arrives as whatever the bigint option makes of each, anywhere in the value', () => {
    assert.deepEqual(codec.decode(wire, 'args', { bigint: (v) => `${v}` }), { a: '-12', list: ['18446744073709551615'], map: new Map([['1', 'one']]) });
  });

  test("a CodecError from the option is reported at the value's path; other errors are wrapped", () => {
    assert.throws(
      () => codec.decode([1, { id: { $bigint: '5' } }], 'args', { bigint: () => { throw new CodecError('no Long class'); } }),
      (e: any) => e.name === 'CodecError' && e.message === 'args[1].id: no Long class',
    );
    assert.throws(
      () => codec.decode([{ $bigint: '5' }], 'args', { bigint: () => { throw new TypeError('bad'); } }),
      (e: any) => e.name === 'CodecError' && e.message === 'args[0]: $bigint 5: TypeError: bad',
    );
  });

  test('a decode without options after one with them gives bigints again', () => {
    codec.decode(wire, 'args', { bigint: String });
    assert.deepEqual(codec.decode([{ $bigint: '3' }]), [3n]);
  });
});
