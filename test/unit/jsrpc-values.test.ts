/** How values cross between pagecall's wire form and JsRpc's strings (bridge/jsrpc/values.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Json } from '../../protocol/index.js';
import { argFromParam, dataText, pageSideParam, paramFor, replyText, replyValue, toPlain } from '../../bridge/jsrpc/values.js';

describe('paramFor: call arguments → the param a JsRpc page gets', () => {
  const cases: Array<[name: string, args: Json[], param: string]> = [
    ['no argument', [], ''],
    ['one plain string, as it is', ['hello'], 'hello'],
    ['one empty string', [''], ''],
    ['a string that would parse as a number is quoted, so the page gets the string back', ['123'], '"123"'],
    ['a string that would parse as true', ['true'], '"true"'],
    ['a string holding JSON text stays that text for the page', ['{"a":1}'], '"{\\"a\\":1}"'],
    ['a number', [42], '42'],
    ['a boolean', [false], 'false'],
    ['null', [null], 'null'],
    ['an object', [{ a: 1, b: [2] }], '{"a":1,"b":[2]}'],
    ['several arguments become an array', ['x', 2, { k: true }], '["x",2,{"k":true}]'],
    ['an escaped tag look-alike is unwrapped', [{ $escape: { $bytes: 'not bytes' } }], '{"$bytes":"not bytes"}'],
    ['typed values keep their tagged form', [{ $bigint: '12345678901234567890' }], '{"$bigint":"12345678901234567890"}'],
  ];
  for (const [name, args, param] of cases) {
    test(name, () => {
      assert.equal(paramFor(args), param);
      // What the page's script hands the handler is the argument (for one argument).
      if (args.length === 1 && !(args[0] !== null && typeof args[0] === 'object' && ('$bigint' in args[0] || '$escape' in args[0]))) {
        assert.deepEqual(param === '' ? '' : pageSideParam(param), args[0]);
      }
    });
  }
});

describe('argFromParam: a /go param → one argument', () => {
  const cases: Array<[name: string, param: unknown, arg: Json]> = [
    ['text that is not JSON stays text', 'abc', 'abc'],
    ['empty text', '', ''],
    ['a JSON object is parsed, as the JsRpc page script would', '{"x": 1}', { x: 1 }],
    ['a JSON number is parsed', '123', 123],
    ['a quoted JSON string is parsed', '"123"', '123'],
    ['a JSON body value is taken as it is', { q: [1, null] }, { q: [1, null] }],
    ['an object that looks like a codec tag is escaped, not read as bytes', '{"$bytes":"AAEC"}', { $escape: { $bytes: 'AAEC' } }],
    ['-0 is tagged', '-0', { $number: '-0' }],
  ];
  for (const [name, param, arg] of cases) test(name, () => assert.deepEqual(argFromParam(param), arg));

  test('JSON nested deeper than the codec carries is refused, naming param', () => {
    assert.throws(() => argFromParam('['.repeat(300) + ']'.repeat(300)), /^CodecError: param(\[0\])+.*nested deeper/);
  });
});

describe('replyValue: a JsRpc reply → the value /v1/call returns', () => {
  const cases: Array<[name: string, data: unknown, value: Json]> = [
    ['plain text', 'signed:abc', 'signed:abc'],
    ['a JSON object in a string comes back parsed', '{"a":1,"b":"x"}', { a: 1, b: 'x' }],
    ['a JSON array in a string, with white space before it', '  [1,2]', [1, 2]],
    ['text that only looks like JSON stays text', '{not json', '{not json'],
    ['a numeric string stays a string (a signature is not a number)', '1700000000000123456', '1700000000000123456'],
    ['"true" stays a string', 'true', 'true'],
    ['a number sent raw', 42, 42],
    ['a boolean sent raw', true, true],
    ['null', null, null],
    ['an object sent raw', { k: [1] }, { k: [1] }],
    ['no response_data at all is undefined', undefined, { $undefined: true }],
    ['a parsed object that looks like a tag is escaped', '{"$date":"x"}', { $escape: { $date: 'x' } }],
  ];
  for (const [name, data, value] of cases) test(name, () => assert.deepEqual(replyValue(data), value));

  test('a string holding JSON deeper than the codec carries stays a string', () => {
    const deep = '['.repeat(300) + ']'.repeat(300);
    assert.equal(replyValue(deep), deep);
  });

  test('a raw value deeper than the codec carries is refused', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    assert.throws(() => replyValue(deep), /response_data.*nested deeper/);
  });
});

describe('replyText and dataText: what /go answers in data', () => {
  const replies: Array<[name: string, data: unknown, text: string]> = [
    ['a string byte for byte, white space and big numbers included', '{"id": 12345678901234567891}', '{"id": 12345678901234567891}'],
    ['a raw number', 42, '42'],
    ['a raw boolean', false, 'false'],
    ['no response_data', undefined, ''],
    ['null', null, ''],
    ['a raw object', { a: 1 }, '{"a":1}'],
  ];
  for (const [name, data, text] of replies) test(`JsRpc page: ${name}`, () => assert.equal(replyText(data), text));

  const results: Array<[name: string, value: Json, text: string]> = [
    ['a string as it is', 'abc', 'abc'],
    ['undefined', { $undefined: true }, ''],
    ['null', null, 'null'],
    ['a number', 1.5, '1.5'],
    ['an object as JSON', { a: [1, 'x'] }, '{"a":[1,"x"]}'],
    ['escaped objects unwrapped', { $escape: { $set: 1 } }, '{"$set":1}'],
    ['bytes in their tagged form', { $bytes: 'AAEC' }, '{"$bytes":"AAEC"}'],
  ];
  for (const [name, value, text] of results) test(`pagecall page: ${name}`, () => assert.equal(dataText(value), text));
});

test('toPlain unwraps escapes at any depth and leaves tags alone', () => {
  assert.deepEqual(toPlain([{ a: { $escape: { $map: [{ $escape: { $set: 2 } }] } } }, { $map: [[1, 2]] }]), [{ a: { $map: [{ $set: 2 }] } }, { $map: [[1, 2]] }]);
});
