/** Pure pieces behind the dashboard and the remote CLI commands. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatClients, formatEmptyGroup, formatResult, parseCliArg, printable } from '../../cli/remote.js';
import { LATENCY_SAMPLES, LatencyWindow, Ring } from '../../bridge/dashboard/live-state.js';
import type { ClientInfo } from '../../bridge/page-client.js';

describe('LatencyWindow', () => {
  const cases: Array<{ name: string; values: number[]; p50: number | null; p99: number | null }> = [
    { name: 'empty', values: [], p50: null, p99: null },
    { name: 'one value', values: [3], p50: 3, p99: 3 },
    { name: 'two values', values: [1, 9], p50: 1, p99: 9 },
    { name: 'unsorted 1..100', values: Array.from({ length: 100 }, (_, i) => 100 - i), p50: 50, p99: 99 },
    { name: 'an outlier shows at p99 only', values: [...Array.from({ length: 99 }, () => 1), 500], p50: 1, p99: 1 },
    { name: 'two outliers in 100 reach p99', values: [...Array.from({ length: 98 }, () => 1), 500, 600], p50: 1, p99: 500 },
  ];
  for (const c of cases) {
    test(`quantiles: ${c.name}`, () => {
      const w = new LatencyWindow();
      for (const v of c.values) w.add(v);
      assert.deepEqual(w.quantiles(0.5, 0.99), [c.p50, c.p99]);
    });
  }

  test(`keeps only the last ${LATENCY_SAMPLES} durations`, () => {
    const w = new LatencyWindow();
    for (let i = 0; i < LATENCY_SAMPLES; i++) w.add(1_000);
    for (let i = 0; i < LATENCY_SAMPLES; i++) w.add(1);
    assert.deepEqual(w.quantiles(0, 1), [1, 1]);
  });
});

describe('Ring', () => {
  test('keeps the newest items, oldest first', () => {
    const r = new Ring<number>(3);
    assert.deepEqual(r.toArray(), []);
    r.push(1);
    r.push(2);
    assert.deepEqual(r.toArray(), [1, 2]);
    for (const n of [3, 4, 5]) r.push(n);
    assert.deepEqual(r.toArray(), [3, 4, 5]);
  });

  test('newestWhile stops at the first item that does not match', () => {
    const r = new Ring<number>(4);
    for (const n of [1, 2, 3, 4, 5, 6]) r.push(n);
    assert.deepEqual(r.newestWhile((n) => n > 4), [5, 6]);
    assert.deepEqual(r.newestWhile((n) => n > 0), [3, 4, 5, 6]);
    assert.deepEqual(r.newestWhile(() => false), []);
  });
});

describe('pagecall call arguments', () => {
  const cases: Array<[string, unknown]> = [
    ['5', 5],
    ['-1.5', -1.5],
    ['true', true],
    ['null', null],
    ['"5"', '5'],
    ['{"a":[1,2]}', { a: [1, 2] }],
    ['[1,"x"]', [1, 'x']],
    ['hello', 'hello'],
    ['/api/items?page=1', '/api/items?page=1'],
    ['{not json', '{not json'],
    ['', ''],
    ['0x10', '0x10'],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => assert.deepEqual(parseCliArg(text), expected));
  }
});

describe('terminal output', () => {
  test('control characters are escaped, other text is kept', () => {
    assert.equal(printable('plain — ünïcode ✓'), 'plain — ünïcode ✓');
    assert.equal(printable('\u001b[2J\u0007bell\u009b'), '\\x1b[2J\\x07bell\\x9b');
    assert.equal(printable('tab\there\nline\r'), 'tab\there\nline\\x0d');
  });

  test('results: strings as they are (escaped on a terminal), other values as JSON', () => {
    assert.equal(formatResult('sig:abc', false), 'sig:abc\n');
    assert.equal(formatResult('\u001b[31m', false), '\u001b[31m\n');
    assert.equal(formatResult('\u001b[31m', true), '\\x1b[31m\n');
    assert.equal(formatResult(5, true), '5\n');
    assert.equal(formatResult({ a: 1 }, true), '{\n  "a": 1\n}\n');
    assert.equal(formatResult(null, true), 'null\n');
  });

  test('clients are listed by group with what a person needs to pick one, their origin included', () => {
    const page = (id: string, group: string, title: string, origin: string | null, admission: ClientInfo['admission']): ClientInfo => ({
      id,
      group,
      actions: ['decode', 'sign'],
      url: `https://${group}.example/`,
      title,
      origin,
      context: 'top',
      remoteAddress: '127.0.0.1',
      admission,
      connectedAt: '2026-01-01T00:00:00.000Z',
      inFlight: 1,
      served: 10,
      failed: 2,
    });
    const now = Date.parse('2026-01-01T00:05:03.000Z');
    const text = formatClients([page('bbbbbbbbbbbb', 'zeta', 'Z\nfake line', 'https://zeta.example', 'open'), page('aaaaaaaaaaaa', 'alpha', '', null, 'group-key')], now);
    assert.equal(
      text,
      [
        'alpha (1 page)',
        '  aaaaaaaaaaaa  (untitled)',
        '                https://alpha.example/',
        '                from (no origin: a program, not a browser)',
        '                functions: decode, sign',
        '                connected 5m 03s · in flight 1 · served 10 · failed 2',
        'zeta (1 page)',
        '  bbbbbbbbbbbb  Z\\nfake line',
        '                https://zeta.example/',
        '                from https://zeta.example · joined WITHOUT a key (--open-pages)',
        '                functions: decode, sign',
        '                connected 5m 03s · in flight 1 · served 10 · failed 2',
        '',
      ].join('\n'),
    );
    assert.equal(formatClients([]), 'no pages connected\n');
  });

  test('frames and workers are marked as such, with the origin when their URL does not show it', () => {
    const base = { group: 'live', actions: ['decode'], admission: 'page-key' as const, remoteAddress: '127.0.0.1', connectedAt: '2026-01-01T00:00:00.000Z', inFlight: 0, served: 0, failed: 0 };
    const clients: ClientInfo[] = [
      { ...base, id: 't1', title: 'Room', url: 'https://live.example/room', origin: 'https://live.example', context: 'top' },
      { ...base, id: 't1-fa', title: 'Player', url: 'https://player.example/embed', origin: 'https://player.example', context: 'frame' },
      { ...base, id: 't1-wb', title: '', url: 'blob:https://live.example/2f1c', origin: 'https://live.example', context: 'worker' },
    ];
    const lines = formatClients(clients, Date.parse('2026-01-01T00:00:01.000Z')).split('\n');
    assert.deepEqual(lines.filter((l) => /^ {2}t1/.test(l)), ['  t1  Room', '  t1-fa  [frame] Player', '  t1-wb  [worker] (worker)']);
    assert.ok(lines.includes('         blob:https://live.example/2f1c'), lines.join('\n'));
    assert.ok(lines.includes('         from https://live.example'), lines.join('\n'));
    assert.ok(lines.includes('         https://player.example/embed'), lines.join('\n'));
    assert.ok(lines.includes('         from https://player.example'), lines.join('\n'));
  });
});

describe('formatEmptyGroup', () => {
  const page = (group: string): ClientInfo => ({ group }) as ClientInfo;
  const cases: Array<{ name: string; group: string; others: ClientInfo[]; text: string }> = [
    { name: 'nothing connected', group: 'g', others: [], text: 'no pages in group g; no pages connected at all\n' },
    { name: 'other groups, sorted, with counts', group: 'shp', others: [page('shop'), page('live'), page('shop')], text: 'no pages in group shp; connected groups: live (1 page), shop (2 pages)\n' },
    { name: 'control characters escaped', group: 'a\u001b[2J', others: [page('b\nc')], text: 'no pages in group a\\x1b[2J; connected groups: b\\nc (1 page)\n' },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(formatEmptyGroup(c.group, c.others), c.text));
  }
});
