import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CLOSE_CODES, CLOSE_CODE_TABLE, FINAL_CLOSE_CODES, closeCodeLabel } from '../../protocol/index.js';

test('docs/protocol.md lists every close code with its name, reconnect rule and metrics label, and nothing else', () => {
  const text = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  const rows = new Map<number, { name: string; final: boolean; label: string }>();
  for (const m of text.matchAll(/^\| (\d{4}) \| `([A-Z_]+)` \| [^|]+ \| ([^|]+) \| `([a-z_]+)` \|$/gm)) {
    rows.set(Number(m[1]), { name: m[2]!, final: m[3]!.trim().startsWith('no'), label: m[4]! });
  }
  const expected = new Map(Object.entries(CLOSE_CODE_TABLE).map(([name, spec]) => [spec.code, { name, final: spec.final, label: spec.label }]));
  assert.deepEqual(rows, expected);
});

test('names map to their numbers, and the codes after which a page stays away are the final ones', () => {
  for (const [name, spec] of Object.entries(CLOSE_CODE_TABLE)) assert.equal(CLOSE_CODES[name as keyof typeof CLOSE_CODES], spec.code);
  assert.equal(CLOSE_CODES.BRIDGE_SILENT, 4000);
  assert.deepEqual([...FINAL_CLOSE_CODES].sort(), [4400, 4401, 4403, 4410, 4426]);
  assert.equal(new Set(Object.values(CLOSE_CODES)).size, Object.keys(CLOSE_CODES).length, 'no two names share a code');
});

test('metrics labels: the table\'s, then page_closed for another 4xxx code, then other', () => {
  const cases: Array<[number, string]> = [
    [1001, 'going_away'],
    [1005, 'closed'],
    [1006, 'lost'],
    [4000, 'bridge_silent'],
    [4410, 'kicked'],
    [4999, 'page_closed'],
    [3000, 'other'],
    [1011, 'other'],
  ];
  for (const [code, label] of cases) assert.equal(closeCodeLabel(code), label, String(code));
});
