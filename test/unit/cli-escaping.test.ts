/** What the CLI prints of page-supplied text: controls, bidi and invisible format characters escaped. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClientInfo } from '../../bridge/page-client.js';
import { formatClients, formatResult, jsonForTerminal, printable } from '../../cli/remote.js';

describe('printable', () => {
  const cases: Array<[string, string, string]> = [
    ['ANSI escapes', 'a\u001b[31mred', 'a\\x1b[31mred'],
    ['right-to-left override (txt.exe shown as exe.txt)', 'invoice\u202Etxt.exe', 'invoice\\u{202e}txt.exe'],
    ['every bidi control', '\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069\u200E\u200F\u061C', '\\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{2066}\\u{2067}\\u{2068}\\u{2069}\\u{200e}\\u{200f}\\u{61c}'],
    ['zero-width and other format characters', 'pay\u200Bpal\uFEFF\u00AD', 'pay\\u{200b}pal\\u{feff}\\u{ad}'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u{2028}b\\u{2029}c'],
    ['a format character outside the BMP (a tag character)', 'x\u{E0041}y', 'x\\u{e0041}y'],
    ['plain text and emoji untouched', 'Café 🎉 中文', 'Café 🎉 中文'],
  ];
  for (const [name, input, expected] of cases) test(name, () => assert.equal(printable(input), expected));
});

describe('--json output', () => {
  test('escapes DEL, C1 controls and format characters as \\u escapes: the same JSON, nothing invisible', () => {
    const value = { title: 'a\u202Eb\u0085c\u007fd\u200D', big: 'x\u{E0041}' };
    const text = jsonForTerminal(value);
    assert.equal(text, '{\n  "title": "a\\u202eb\\u0085c\\u007fd\\u200d",\n  "big": "x\\udb40\\udc41"\n}');
    assert.deepEqual(JSON.parse(text), value);
    assert.equal(formatResult(value, false), `${text}\n`);
  });
});

test('the clients listing shows a hostile title escaped, on its own line', () => {
  const page: ClientInfo = {
    id: 'aaaaaaaaaaaa',
    group: 'g',
    actions: ['f\u202Eoo'],
    url: 'https://x.example/\u202Egpj.exe',
    title: 'Bank\u202E\u2066 login',
    origin: 'https://x.example',
    context: 'top',
    remoteAddress: '127.0.0.1',
    admission: 'page-key',
    connectedAt: '2026-01-01T00:00:00.000Z',
    inFlight: 0,
    served: 0,
    failed: 0,
  };
  const text = formatClients([page], Date.parse('2026-01-01T00:00:01.000Z'));
  assert.doesNotMatch(text, /[\u202E\u2066]/);
  assert.match(text, /Bank\\u\{202e\}\\u\{2066\} login/);
  assert.match(text, /https:\/\/x\.example\/\\u\{202e\}gpj\.exe/);
  assert.match(text, /functions: f\\u\{202e\}oo/);
});
