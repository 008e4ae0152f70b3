import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as client from '../../clients/node/index.js';

test('pagecall/client exports exactly this list', () => {
  assert.deepEqual(Object.keys(client).sort(), ['ClientFailure', 'DEFAULT_RETRY', 'DEFAULT_URL', 'ERRORS', 'NO_RETRY', 'PagecallClient', 'PagecallError', 'connect']);
});

test('pagecall/client resolves from the package exports to the built client', async () => {
  const built = await import('pagecall/client');
  assert.equal(typeof built.connect, 'function');
  assert.deepEqual(Object.keys(built).sort(), Object.keys(client).sort());
});
