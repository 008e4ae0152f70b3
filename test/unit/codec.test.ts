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

  // What cannot be carried faithfully is refused, naming where it sits; the same rules hold on both sides.
  const refused: Array<[string, () => unknown, RegExp]> = [
    ['a function as the value', () => function sign() {}, /^result: a function \(sign\) cannot be sent$/],
    ['a function in an array', () => ({ items: [1, () => 2] }), /^result\.items\[1\]: a function cannot be sent$/],
    ['a symbol in an array', () => [Symbol('tag')], /^result\[0\]: a symbol \(Symbol\(tag\)\) cannot be sent$/],
    ['a Promise inside the value', () => ({ data: Promise.resolve(1) }), /^result\.data: a Promise cannot be sent \(await it first\)$/],
    ['a RegExp', () => ({ re: /x/ }), /^result\.re: an object of class RegExp cannot be sent$/],
    ['a WeakMap as the value', () => new WeakMap(), /^result: an object of class WeakMap cannot be sent$/],
    ['a boxed string', () => ({ s: new String('ab') }), /^result\.s: an object of class String cannot be sent$/],
    ['a host node (duck-typed)', () => ({ list: [{ el: new (class HTMLDivElement { nodeType = 1; nodeName = 'DIV'; get [Symbol.toStringTag]() { return 'HTMLDivElement'; } })() }] }), /^result\.list\[0\]\.el: a DOM node \(HTMLDivElement\) cannot be sent/],
    ['a function as a map value', () => new Map<unknown, unknown>([['ok', 1], ['cb', () => 1]]), /^result\.get\("cb"\): a function cannot be sent$/],
    ['a function as a map key', () => new Map([[() => 1, 2]]), /^result\.keys\(\)\[0\]: a function cannot be sent$/],
    ['a symbol in a set', () => new Set([1, Symbol.iterator]), /^result\.values\(\)\[1\]: a symbol/],
    ['an odd key on the path', () => ({ 'a b': [[() => 1]] }), /^result\["a b"\]\[0\]\[0\]: a function/],
    ['a getter that throws', () => ({ get boom(): never { throw new TypeError('nope'); } }), /^result\.boom: reading it threw TypeError: nope$/],
    ['a toJSON that throws', () => ({ x: { toJSON(): never { throw new Error('bad'); } } }), /^result\.x\.toJSON\(\): reading it threw Error: bad$/],
    ['a function from toJSON', () => ({ x: { toJSON: () => [() => 1] } }), /^result\.x\.toJSON\(\)\[0\]: a function/],
    ['a cycle', () => { const o: any = { a: { b: [] } }; o.a.b.push(o); return o; }, /^result\.a\.b\[0\]: the value contains itself \(a cycle\)$/],
  ];
  for (const [name, make, message] of refused) {
    test(`refuses ${name}, naming its path`, () => {
      assert.throws(() => portable.encode(make(), 'result'), (e: any) => e.name === 'CodecError' && message.test(e.message));
      assert.throws(() => nodeCodec.encode(make(), 'result'), (e: any) => e.name === 'CodecError' && message.test(e.message));
    });
  }

  test('drops functions and symbols held by object properties, as JSON.stringify does', () => {
    const value = { a: 1, f() {}, s: Symbol('x'), u: undefined, nested: { g: () => 1, keep: 'yes' } };
    assert.deepEqual(portable.encode(value), JSON.parse(JSON.stringify(value)));
  });

  test('sends class instances as their own properties and host-like objects through toJSON', () => {
    class Point { x = 1; y = 2; norm(): number { return 0; } }
    assert.deepEqual(portable.encode([new Point()]), [{ x: 1, y: 2 }]);
    assert.deepEqual(portable.encode({ at: new URL('https://example.com/a') }), { at: 'https://example.com/a' });
    assert.deepEqual(portable.encode(Object.assign(Object.create(null), { a: 1 })), { a: 1 });
  });

  test('an error without a root names the path from the value, and a long path is cut in the middle', () => {
    assert.throws(() => portable.encode({ a: { b: [() => 1] } }), { message: 'a.b[0]: a function cannot be sent' });
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH + 5; i++) deep = { d: deep };
    assert.throws(() => portable.encode(deep, 'result'), (e: any) => /^result(\.d){8}…\(\d+ more\)…(\.d){8}: nested deeper than 200 levels$/.test(e.message));
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

  const malformed: Array<[string, unknown, string]> = [
    ['bytes that are not base64', [1, { x: { $bytes: 'not base64!!' } }], 'args[1].x: $bytes: invalid base64'],
    ['a bigint that is not digits', [{ $bigint: 'abc' }], 'args[0]: $bigint: expected a string of digits, got "abc"'],
    ['a map that is not an array', [0, { $map: 5 }], 'args[1]: $map: expected an array of [key, value] pairs'],
    ['a map entry that is not a pair', [{ $map: [[1, 2], [3]] }], 'args[0].$map[1]: expected a [key, value] pair'],
    ['a date that does not parse', [{ $date: 'not a date' }], 'args[0]: $date: expected an ISO 8601 date, got "not a date"'],
    ['a bad number inside a set inside a map', [{ $map: [[1, { $set: [{ $number: 'x' }] }]] }], 'args[0].$map[0].$set[0]: $number: expected "NaN", "Infinity", "-Infinity" or "-0", got "x"'],
    ['a bad tag inside an escaped object', [{ $escape: { a: { $bigint: 'z' } } }], 'args[0].$escape.a: $bigint: expected a string of digits, got "z"'],
  ];
  for (const c of [portable, nodeCodec]) {
    for (const [name, wire, message] of malformed) {
      test(`refuses ${name} when decoding, naming its path`, () => {
        assert.throws(() => c.decode(wire, 'args'), (e: any) => e.name === 'CodecError' && e.message.startsWith(message));
      });
    }
  }

  test('an Invalid Date round-trips as itself', () => {
    const wire = portable.encode(new Date(Number.NaN));
    assert.deepEqual(wire, { $date: 'Invalid Date' });
    assert.ok(Number.isNaN((portable.decode(wire) as Date).getTime()));
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

describe('decoded keys are data', () => {
  for (const [name, text] of [
    ['a plain object', '{"__proto__":{"polluted":true},"a":1}'],
    ['inside an array', '[{"__proto__":{"polluted":true}}]'],
    ['an escaped tag object', '{"$escape":{"__proto__":{"polluted":true}}}'],
    ['a map value', '{"$map":[["k",{"__proto__":{"polluted":true}}]]}'],
  ] as const) {
    test(`"__proto__" stays an own data property (${name}), and no prototype changes`, () => {
      const decoded = nodeCodec.decode(JSON.parse(text)) as unknown;
      const objects: object[] = [];
      const walk = (v: unknown): void => {
        if (v instanceof Map) for (const x of v.values()) walk(x);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === 'object') objects.push(v);
      };
      walk(decoded);
      const holder = objects.find((o) => Object.prototype.hasOwnProperty.call(o, '__proto__'))!;
      assert.ok(holder, 'an object holds "__proto__" as its own key');
      assert.equal(Object.getPrototypeOf(holder), Object.prototype);
      assert.equal((holder as { polluted?: unknown }).polluted, undefined);
      assert.deepEqual(Object.getOwnPropertyDescriptor(holder, '__proto__'), { value: { polluted: true }, writable: true, enumerable: true, configurable: true });
      assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype untouched');
    });
  }
});

test('an own "__proto__" key survives encoding as data (a value parsed from JSON, sent on)', () => {
  const value = JSON.parse('{"__proto__":{"kept":true},"a":1}') as object;
  const encoded = nodeCodec.encode(value) as Record<string, unknown>;
  assert.equal(JSON.stringify(encoded), '{"__proto__":{"kept":true},"a":1}');
  assert.equal(Object.getPrototypeOf(encoded), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(encoded, '__proto__')?.value, { kept: true });
});
