import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as api from '../../bridge/index.js';

test('the Node API exports exactly this list', () => {
  assert.deepEqual(Object.keys(api).sort(), [
    'Bridge',
    'ConfigError',
    'DEFAULTS',
    'ERRORS',
    'PROTOCOL_VERSION',
    'PagecallError',
    'codec',
    'injectorScript',
    'loaderSnippet',
    'resolveConfig',
    'startBridge',
  ]);
});
