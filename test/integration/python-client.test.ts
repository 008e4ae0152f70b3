/**
 * Runs the Python client's pytest suite (clients/python/tests): real bridges and real headless
 * Chromium pages from test/helpers/page-bridge-fixture.ts, driven through the client.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { findPython, pythonEnv } from '../helpers/python.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the Python client passes its pytest suite against real bridges and Chromium pages', { timeout: 600_000 }, async () => {
  const python = findPython(['pytest', 'httpx']);
  const args = ['-m', 'pytest', 'clients/python/tests', '-q', '-p', 'no:cacheprovider', '-W', 'error::pytest.PytestUnraisableExceptionWarning'];
  const child = spawn(python, args, { cwd: root, env: pythonEnv(`${root}clients/python/src`), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  const summary = output.trim().split('\n').pop() ?? '';
  assert.equal(code, 0, `pytest failed (${python} ${args.join(' ')}):\n${output}`);
  assert.match(summary, /\d+ passed/, output);
  assert.doesNotMatch(summary, /skipped|failed|error/, `nothing may be skipped:\n${output}`);
});
