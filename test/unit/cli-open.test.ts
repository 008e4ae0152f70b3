/** `pagecall open` flags → launch() options. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchOptionsFrom, type OpenFlags } from '../../cli/open.js';

const flags = (extra: Partial<OpenFlags> = {}): OpenFlags => ({ group: 'default', script: [], port: 12180, tabs: 1, bypassCsp: true, ...extra });
const TOKEN = 't'.repeat(20);

const cases: Array<{ name: string; flags: OpenFlags; env?: NodeJS.ProcessEnv; expected: Record<string, unknown> }> = [
  {
    name: 'defaults: a bridge started here on the default port, headless, CSP bypassed',
    flags: flags(),
    expected: { urls: ['https://a.example/'], group: 'default', scripts: [], tabs: 1, headful: false, bypassCSP: true, bridgeOptions: { port: 12180, env: {} } },
  },
  {
    name: 'a running bridge: no bridge options; the token from PAGECALL_TOKEN',
    flags: flags({ bridge: 'http://127.0.0.1:9000' }),
    env: { PAGECALL_TOKEN: TOKEN },
    expected: { urls: ['https://a.example/'], group: 'default', scripts: [], tabs: 1, headful: false, bypassCSP: true, bridgeUrl: 'http://127.0.0.1:9000', token: TOKEN },
  },
  {
    name: '--token beats PAGECALL_TOKEN and reaches the bridge started here',
    flags: flags({ token: TOKEN, port: 0 }),
    env: { PAGECALL_TOKEN: 'other-token-0123456789' },
    expected: { urls: ['https://a.example/'], group: 'default', scripts: [], tabs: 1, headful: false, bypassCSP: true, bridgeOptions: { port: 0, env: { PAGECALL_TOKEN: 'other-token-0123456789' }, token: TOKEN }, token: TOKEN },
  },
  {
    name: 'scripts, tabs, headful, browser, CDP and --no-bypass-csp pass through',
    flags: flags({ group: 'shop', script: ['a.js', 'b.js'], tabs: 3, headful: true, browser: '/opt/chrome', cdp: 'http://127.0.0.1:9222', bypassCsp: false }),
    expected: { urls: ['https://a.example/'], group: 'shop', scripts: ['a.js', 'b.js'], tabs: 3, headful: true, bypassCSP: false, bridgeOptions: { port: 12180, env: {} }, browserPath: '/opt/chrome', cdpUrl: 'http://127.0.0.1:9222' },
  },
];

for (const c of cases) {
  test(`open options: ${c.name}`, () => {
    assert.deepEqual(launchOptionsFrom(['https://a.example/'], c.flags, c.env ?? {}), c.expected);
  });
}
