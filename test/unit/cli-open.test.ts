/** `pagecall open`: flags → launch() options, and which bridge it uses (a running pagecall bridge on the port, or its own). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../bridge/config.js';
import { chooseBridge, describeTabEvent, launchOptionsFrom, type OpenFlags } from '../../cli/open.js';
import type { ProbeResult } from '../../launcher/running-bridge.js';

const flags = (extra: Partial<OpenFlags> = {}): OpenFlags => ({ group: 'default', script: [], tabs: 1, bypassCsp: true, browserArg: [], ...extra });
const TOKEN = 't'.repeat(20);
const BASE = { urls: ['https://a.example/'], group: 'default', scripts: [], tabs: 1, headful: false, bypassCSP: true, workers: false };

describe('open options', () => {
  const cases: Array<{ name: string; flags: OpenFlags; choice: Parameters<typeof launchOptionsFrom>[2]; env?: NodeJS.ProcessEnv; expected: Record<string, unknown> }> = [
    {
      name: 'a bridge started here gets the bridge flags and the environment',
      flags: flags({ port: 12180, timeoutMs: 5000 }),
      choice: { start: { port: 12180, timeoutMs: 5000 } },
      expected: { ...BASE, bridgeOptions: { port: 12180, timeoutMs: 5000, env: {} } },
    },
    {
      name: 'a running bridge: its URL and the token from PAGECALL_TOKEN; the page key is left to launch() (PAGECALL_PAGE_KEY, else the bridge hands it out)',
      flags: flags(),
      choice: { join: 'http://127.0.0.1:9000' },
      env: { PAGECALL_TOKEN: TOKEN, PAGECALL_PAGE_KEY: 'page-key' },
      expected: { ...BASE, bridgeUrl: 'http://127.0.0.1:9000', token: TOKEN },
    },
    {
      name: '--token and --key beat the environment',
      flags: flags({ token: TOKEN, key: 'flag-key' }),
      choice: { join: 'http://127.0.0.1:9000' },
      env: { PAGECALL_TOKEN: 'other-token-0123456789', PAGECALL_PAGE_KEY: 'env-key' },
      expected: { ...BASE, bridgeUrl: 'http://127.0.0.1:9000', token: TOKEN, key: 'flag-key' },
    },
    {
      name: 'the launcher flags pass through',
      flags: flags({ group: 'shop', script: ['a.js', 'b.js'], tabs: 3, headful: true, browser: '/opt/chrome', cdp: 'http://127.0.0.1:9222', bypassCsp: false, frames: 'all', workers: true, waitFor: ['sign'], readyTimeoutMs: 5000, browserArg: ['--lang=de'], proxy: 'socks5://127.0.0.1:1080', userDataDir: '/tmp/profile', remoteDebuggingPort: 0 }),
      choice: { start: {} },
      expected: { ...BASE, group: 'shop', scripts: ['a.js', 'b.js'], tabs: 3, headful: true, bypassCSP: false, workers: true, bridgeOptions: { env: {} }, frames: 'all', waitFor: ['sign'], readyTimeoutMs: 5000, browserPath: '/opt/chrome', args: ['--lang=de'], proxy: 'socks5://127.0.0.1:1080', userDataDir: '/tmp/profile', remoteDebuggingPort: 0, cdpUrl: 'http://127.0.0.1:9222' },
    },
  ];
  for (const c of cases) {
    test(`open options: ${c.name}`, () => {
      assert.deepEqual(launchOptionsFrom(['https://a.example/'], c.flags, c.choice, c.env ?? {}), c.expected);
    });
  }
});

describe('which bridge open uses', () => {
  const pagecall = (url: string, tokenRequired = false): ProbeResult => ({ kind: 'pagecall', url, health: { name: 'pagecall', version: '0.1.0', protocol: 1, tokenRequired } });
  const probed: string[] = [];
  const probe = (result: (url: string) => ProbeResult) => async (url: string) => {
    probed.push(url);
    return result(url);
  };

  test('--bridge is joined without asking anything', async () => {
    const chosen = await chooseBridge(flags({ bridge: 'http://127.0.0.1:9000' }), {}, probe(() => ({ kind: 'none', url: '' })));
    assert.deepEqual(chosen.choice, { join: 'http://127.0.0.1:9000' });
  });

  test('a pagecall bridge answering on the configured port is joined, and open says which', async () => {
    probed.length = 0;
    const chosen = await chooseBridge(flags(), { PAGECALL_PORT: '12999' }, probe((url) => pagecall(url)));
    assert.deepEqual(probed, ['http://127.0.0.1:12999']);
    assert.deepEqual(chosen.choice, { join: 'http://127.0.0.1:12999' });
    assert.equal(chosen.said, 'joining the pagecall 0.1.0 bridge already running at http://127.0.0.1:12999');
  });

  test('bridge settings given while joining are said to be ignored', async () => {
    const chosen = await chooseBridge(flags({ port: 12999, timeoutMs: 100, allowEval: true }), {}, probe((url) => pagecall(url)));
    assert.match(chosen.said, /\(it keeps its own settings: --timeout-ms, --allow-eval ignored\)$/);
  });

  test('nothing on the port: open starts its own bridge there with the bridge flags', async () => {
    const chosen = await chooseBridge(flags({ port: 12999, timeoutMs: 100 }), {}, probe((url) => ({ kind: 'none', url })));
    assert.deepEqual(chosen.choice, { start: { port: 12999, timeoutMs: 100 } });
    assert.equal(chosen.said, 'starting a bridge on http://127.0.0.1:12999');
  });

  test('port 0 never probes: a bridge of its own on any free port', async () => {
    probed.length = 0;
    const chosen = await chooseBridge(flags({ port: 0 }), {}, probe((url) => pagecall(url)));
    assert.deepEqual(probed, []);
    assert.deepEqual(chosen.choice, { start: { port: 0 } });
  });

  test('something else on the port, a bridge that needs a token nobody gave, and bad settings are configuration errors', async () => {
    await assert.rejects(chooseBridge(flags({ port: 12999 }), {}, probe((url) => ({ kind: 'other', url, detail: 'HTTP 404' }))), (e: unknown) => e instanceof ConfigError && /port 12999 is in use by something that is not a pagecall bridge \(HTTP 404\)/.test(e.message));
    await assert.rejects(chooseBridge(flags({ port: 12999 }), {}, probe((url) => pagecall(url, true))), /the bridge at http:\/\/127\.0\.0\.1:12999 requires a token: pass --token or set PAGECALL_TOKEN/);
    await assert.doesNotReject(chooseBridge(flags({ port: 12999 }), { PAGECALL_TOKEN: TOKEN }, probe((url) => pagecall(url, true))));
    await assert.rejects(chooseBridge(flags(), { PAGECALL_TIMEOUT_MS: 'soon' }, probe((url) => pagecall(url))), /PAGECALL_TIMEOUT_MS/);
  });
});

test('tab events read as one line each', () => {
  assert.equal(describeTabEvent({ type: 'navigation-failed', tab: 2, url: 'https://a.example/', error: 'net::ERR_CONNECTION_RESET', retryInMs: 1500 }), 'tab 2: cannot open https://a.example/: net::ERR_CONNECTION_RESET; retrying in 1.5 s');
  assert.equal(describeTabEvent({ type: 'recovered', tab: 2, url: 'https://a.example/' }), 'tab 2: https://a.example/ loads again');
  assert.equal(describeTabEvent({ type: 'replaced', tab: 1, url: 'https://a.example/', reason: 'crashed (crashed, code 11)' }), 'tab 1: crashed (crashed, code 11); opening a new tab on https://a.example/');
});
