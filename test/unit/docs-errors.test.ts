import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS } from '../../protocol/index.js';

test('docs/errors.md lists every code with its status and retry flag, and nothing else', () => {
  const text = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { status: number; retryable: boolean }>();
  for (const match of text.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (yes|no) \|/gm)) {
    rows.set(match[1]!, { status: Number(match[2]), retryable: match[3] === 'yes' });
  }
  const expected = new Map(Object.entries(ERRORS).map(([code, spec]) => [code, { status: spec.status, retryable: spec.retryable }]));
  assert.deepEqual(rows, expected);
});
