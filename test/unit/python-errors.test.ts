import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ERRORS } from '../../protocol/index.js';
import { findPython, pythonEnv } from '../helpers/python.js';

const src = fileURLToPath(new URL('../../clients/python/src', import.meta.url));

test('the Python client has one exception class per catalogue code, with its status and retry flag', () => {
  const script = 'import json, pagecall; print(json.dumps({c: {"status": k.status, "retryable": k.retryable, "name": k.__name__} for c, k in pagecall.CATALOGUE.items()}))';
  const run = spawnSync(findPython(), ['-c', script], { encoding: 'utf8', env: pythonEnv(src) });
  assert.equal(run.status, 0, run.stderr);
  const classes = JSON.parse(run.stdout) as Record<string, { status: number; retryable: boolean; name: string }>;
  assert.deepEqual(
    Object.fromEntries(Object.entries(classes).map(([code, c]) => [code, { status: c.status, retryable: c.retryable }])),
    Object.fromEntries(Object.entries(ERRORS).map(([code, spec]) => [code, { status: spec.status, retryable: spec.retryable }])),
  );
  const docs = readFileSync(new URL('../../docs/clients.md', import.meta.url), 'utf8');
  for (const [code, c] of Object.entries(classes)) {
    assert.ok(/^[A-Z][A-Za-z]+$/.test(c.name), `${code} has a class name (${c.name})`);
    assert.ok(docs.includes(`\`${c.name}\``) && docs.includes(`\`${code}\``), `docs/clients.md lists ${c.name} (${code})`);
  }
});
