/** Frame packing on the page (injector/page/frames.ts): byte sizes and how queued messages become frames. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { packFrames, sizeIfOver, utf8Length } from '../../injector/page/frames.js';
import { ALONE_CHARS } from '../../protocol/limits.js';

describe('utf8Length', () => {
  const cases: Array<[string, string, number]> = [
    ['empty', '', 0],
    ['ASCII', 'hello', 5],
    ['two-byte letters', 'é ß', 5],
    ['three-byte characters', '€ 中文', 10],
    ['a surrogate pair', '😀', 4],
    ['a lone high surrogate at the end', 'a\ud800', 4],
    ['a lone high surrogate before a letter', '\ud800a', 4],
    ['a lone low surrogate', '\udc00', 3],
    ['two high surrogates then a low one', '\ud800\ud800\udc00', 7],
  ];
  for (const [name, text, bytes] of cases) {
    test(`${name}: ${bytes} bytes, as Buffer counts them`, () => {
      assert.equal(utf8Length(text), bytes);
      assert.equal(utf8Length(text), Buffer.byteLength(text, 'utf8'));
    });
  }
});

describe('sizeIfOver', () => {
  const cases: Array<[string, string, number, number | undefined]> = [
    ['short text is not measured', 'abc', 9, undefined],
    ['ASCII at the limit', 'abcd', 4, undefined],
    ['ASCII over the limit', 'abcde', 4, 5],
    ['multibyte under the limit', '€€', 6, undefined],
    ['multibyte over the limit', '€€€', 8, 9],
    ['empty against zero', '', 0, undefined],
  ];
  for (const [name, text, limit, expected] of cases) {
    test(name, () => assert.equal(sizeIfOver(text, limit), expected));
  }
});

describe('packFrames', () => {
  const m = (n: number, fill = 'x'): string => JSON.stringify({ d: fill.repeat(n) }); // 8 + n bytes for one-byte fill
  const cases: Array<[string, string[], number, string[]]> = [
    ['nothing queued', [], 100, []],
    ['one message goes as itself', ['{"a":1}'], 100, ['{"a":1}']],
    ['one message bigger than the limit still goes alone', [m(50)], 10, [m(50)]],
    ['several that fit go as one array', ['{"a":1}', '{"b":2}', '{"c":3}'], 100, ['[{"a":1},{"b":2},{"c":3}]']],
    ['an array frame exactly at the limit', [m(2), m(2)], 2 + 10 + 10 + 1, [`[${m(2)},${m(2)}]`]],
    ['one byte over the limit splits', [m(2), m(2)], 2 + 10 + 10, [m(2), m(2)]],
    ['splits into the fewest frames in order', [m(10), m(10), m(10), m(10), m(10)], 2 + 18 * 2 + 1, [`[${m(10)},${m(10)}]`, `[${m(10)},${m(10)}]`, m(10)]],
    ['a big message between small ones goes alone', [m(1), m(100), m(1)], 40, [m(1), m(100), m(1)]],
    ['multibyte content counts its bytes, not its characters', [m(4, '€'), m(4, '€')], 2 + 20 * 2 + 1, [`[${m(4, '€')},${m(4, '€')}]`]],
    ['multibyte content over the limit splits', [m(4, '€'), m(4, '€')], 2 + 20 * 2, [m(4, '€'), m(4, '€')]],
    // Large messages go alone so the bridge can pass a large result through unparsed.
    [`a message of ALONE_CHARS goes alone, in its place`, [m(1), m(ALONE_CHARS - 8), m(1), m(2)], 1 << 20, [m(1), m(ALONE_CHARS - 8), `[${m(1)},${m(2)}]`]],
    ['one character less is packed', [m(1), m(ALONE_CHARS - 9), m(1)], 1 << 20, [`[${m(1)},${m(ALONE_CHARS - 9)},${m(1)}]`]],
    ['two large messages, two frames', [m(ALONE_CHARS), m(ALONE_CHARS)], 1 << 20, [m(ALONE_CHARS), m(ALONE_CHARS)]],
  ];
  for (const [name, messages, limit, frames] of cases) {
    test(name, () => assert.deepEqual(packFrames(messages, limit), frames));
  }

  test('every frame fits the limit unless it is one message, and frames hold the messages in order', () => {
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 200; round++) {
      const messages = Array.from({ length: 1 + rand(30) }, () => m(rand(60), rand(3) === 0 ? 'é' : 'x'));
      const limit = 20 + rand(400);
      const frames = packFrames(messages, limit);
      const unpacked: string[] = [];
      for (const frame of frames) {
        const parsed: unknown = JSON.parse(frame);
        const items = Array.isArray(parsed) ? parsed.map((x) => JSON.stringify(x)) : [frame];
        if (items.length > 1) assert.ok(Buffer.byteLength(frame) <= limit, `frame of ${Buffer.byteLength(frame)} bytes over ${limit}`);
        assert.ok(Array.isArray(parsed) ? items.length > 1 : true, 'a lone message is not wrapped in an array');
        unpacked.push(...items);
      }
      assert.deepEqual(unpacked, messages);
    }
  });
});
