/**
 * The launcher in real Chromium: injection before page scripts, ready means callable, reloads,
 * pages a pasted snippet cannot reach (strict CSP, Local Network Access), failed navigations (at
 * start: an error; later: retried), hook exceptions named, tab pools and replaced tabs.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { injectorScript, type Bridge } from '../../bridge/index.js';
import { launch, LaunchError, type TabEvent } from '../../launcher/launch.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { postJson, startTestBridge, until } from '../helpers/bridge.js';
import { withTimeout } from '../helpers/wait.js';

// A page that defines a helper, uses it once at load, and removes it: only a hook installed
// before the page's own scripts can capture it.
const EPHEMERAL_PAGE = `<!doctype html><title>ephemeral</title><script>
  window.util = { mix(a, b) { return a * 31 + b + this.offset; }, offset: 1000 };
  document.title = 'computed ' + util.mix(1, 2);
  delete window.util;
</script>`;

const EPHEMERAL_HOOK = `
  const mix = pagecall.hook('util.mix');
  pagecall.register('mix', async (a, b) => { await mix.ready; return mix.call([a, b]); });
  pagecall.register('loads', () => Number(sessionStorage.getItem('loads')));
  sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads')) + 1));
  pagecall.register('slow', (ms) => new Promise((r) => setTimeout(r, ms)));
`;

const PING_HOOK = { content: "pagecall.register('ping', () => 'pong')", name: 'ping.js' };
const STRICT_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'";
const PLAIN_PAGE = '<!doctype html><title>plain</title><p>site';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('launcher', () => {
  let bridge: Bridge;
  let site: TestSite;
  /** While true, /flaky drops the connection without an answer (the browser shows an error page). */
  let flakyDown = false;
  const call = (body: Record<string, unknown>) => postJson(`${bridge.url}/v1/call`, body);

  before(async () => {
    bridge = await startTestBridge();
    site = await startSite({
      '/ephemeral': EPHEMERAL_PAGE,
      '/csp': { body: PLAIN_PAGE, headers: { 'content-security-policy': STRICT_CSP } },
      '/plain': PLAIN_PAGE,
      '/flaky': (req, res) => {
        if (flakyDown) req.socket.destroy();
        else res.end(PLAIN_PAGE);
      },
    });
  });
  after(async () => {
    await site?.close();
    await bridge?.close();
  });

  test('injects before page scripts, and a call made the instant launch() resolves succeeds', async () => {
    const launched = await launch({ urls: [`${site.url}/ephemeral`], group: 'early', scripts: [{ content: EPHEMERAL_HOOK }], bridge });
    try {
      const r = await call({ group: 'early', action: 'mix', args: [2, 5] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result, 2 * 31 + 5 + 1000);
      assert.equal(r.body.clientId, launched.tabs()[0]!.clientId);
      assert.equal(await launched.tabs()[0]!.evaluate('document.title'), 'computed 1033');
    } finally {
      await launched.close();
    }
  });

  test('keeps working across reloads and navigations with the same client id', async () => {
    const launched = await launch({ urls: [`${site.url}/ephemeral`], group: 'reload', scripts: [{ content: EPHEMERAL_HOOK }], bridge });
    try {
      const tab = launched.tabs()[0]!;
      const first = bridge.clients('reload')[0]!;
      assert.equal(first.id, tab.clientId);
      await tab.reload();
      await until(() => bridge.clients('reload')[0]?.connectedAt !== first.connectedAt && bridge.clients('reload').length === 1, 'rejoin after reload');
      assert.equal(bridge.clients('reload')[0]!.id, first.id);
      assert.equal((await call({ group: 'reload', action: 'loads' })).body.result, 2);
      assert.equal((await call({ group: 'reload', action: 'mix', args: [0, 0] })).body.result, 1000);
      await tab.navigate(`${site.url}/ephemeral?again`);
      await until(() => bridge.clients('reload')[0]?.url.endsWith('?again'), 'rejoin after navigation');
      assert.equal(bridge.clients('reload')[0]!.id, first.id);
      assert.equal((await call({ group: 'reload', action: 'loads' })).body.result, 3);
    } finally {
      await launched.close();
    }
  });

  test('a strict CSP connect-src blocks a pasted injector (diagnosed as csp) but not the launcher', async () => {
    const browser = await launchTestBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${site.url}/csp`);
      const script = injectorScript({ bridgeUrl: bridge.url, group: 'csp-pasted', key: bridge.groupKey('csp-pasted') });
      await page.evaluate(script);
      const status = await waitForFailure(page);
      assert.equal(status.lastError.reason, 'csp', JSON.stringify(status));
      assert.equal(bridge.clients('csp-pasted').length, 0);
    } finally {
      await browser.close();
    }
    const launched = await launch({ urls: [`${site.url}/csp`], group: 'csp', scripts: [PING_HOOK], bridge });
    try {
      assert.equal((await call({ group: 'csp', action: 'ping' })).body.result, 'pong');
    } finally {
      await launched.close();
    }
  });

  test('Local Network Access blocks a public page from reaching the bridge, except through the launcher', async () => {
    // Make the test site a public host, as a real website would be: a name that resolves to the
    // test server, whose address Chrome is told to treat as public.
    const asPublic = [`--ip-address-space-overrides=127.0.0.1:${site.port}=public`, '--host-resolver-rules=MAP public.test 127.0.0.1'];
    const publicUrl = `http://public.test:${site.port}/plain`;
    const browser = await launchTestBrowser(asPublic);
    try {
      const page = await browser.newPage();
      await page.goto(publicUrl);
      const script = injectorScript({ bridgeUrl: bridge.url, group: 'lna-pasted', key: bridge.groupKey('lna-pasted') });
      await page.evaluate(script);
      const status = await waitForFailure(page);
      assert.equal(status.lastError.reason, 'local-network-access', JSON.stringify(status));
      assert.match(status.lastError.message, /Local Network Access|local network access/i);
      assert.equal(bridge.clients('lna-pasted').length, 0);
    } finally {
      await browser.close();
    }
    const launched = await launch({ urls: [publicUrl], group: 'lna', args: asPublic, scripts: [PING_HOOK], bridge });
    try {
      assert.equal((await call({ group: 'lna', action: 'ping' })).body.result, 'pong');
    } finally {
      await launched.close();
    }
  });

  test('an unreachable URL fails the launch with the browser error, and leaves no page behind', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    await assert.rejects(launch({ urls: [url], group: 'unreachable', scripts: [PING_HOOK], bridge }), (e: unknown) => {
      assert.ok(e instanceof LaunchError, String(e));
      assert.match(e.message, new RegExp(`cannot open ${url.replace(/[.]/g, '\\.')}: net::ERR_CONNECTION_REFUSED`));
      return true;
    });
    assert.equal(bridge.clients('unreachable').length, 0);
  });

  test('a tab that is not ready in time is named with what it lacks and the exception its hook threw', async () => {
    const broken = { name: 'broken.js', content: "pagecall.register('first', () => 1);\nundefinedHelper();\npagecall.register('second', () => 2);" };
    await assert.rejects(launch({ urls: [`${site.url}/plain`], group: 'not-ready', scripts: [broken], bridge, readyTimeoutMs: 3_000 }), (e: unknown) => {
      assert.ok(e instanceof LaunchError, String(e));
      assert.match(e.message, /tab 1 \(http:\/\/127\.0\.0\.1:\d+\/plain, client t[0-9a-z]+\) lacks second/);
      assert.match(e.message, /hook script broken\.js threw ReferenceError: undefinedHelper is not defined/);
      return true;
    });
    // What the page did register was still there until the launch gave up (and closed its tab).
    await until(() => bridge.clients('not-ready').length === 0, 'the tab of the failed launch leaves');
  });

  test('a syntax error in a hook is reported before the browser starts, with the file and line', async () => {
    await assert.rejects(launch({ urls: [`${site.url}/plain`], group: 'syntax', scripts: [{ name: 'typo.js', content: "pagecall.register('a', () => 1);\npagecall.register('b', () => {);" }], bridge }), /hook script typo\.js line 2: SyntaxError/);
  });

  test('--wait-for names actions registered later than the hooks run', async () => {
    const later = { name: 'later.js', content: "setTimeout(() => pagecall.register('late' + 'r', () => 'here'), 200);" };
    const launched = await launch({ urls: [`${site.url}/plain`], group: 'wait-for', scripts: [later], waitFor: ['later'], bridge });
    try {
      assert.equal((await call({ group: 'wait-for', action: 'later' })).body.result, 'here');
    } finally {
      await launched.close();
    }
  });

  test('a tab that lands on an error page after start is sent back with backoff, and recovers', async () => {
    const events: TabEvent[] = [];
    let notify: (() => void) | undefined;
    const launched = await launch({
      urls: [`${site.url}/flaky`],
      group: 'flaky',
      scripts: [PING_HOOK],
      bridge,
      onEvent: (event) => {
        events.push(event);
        notify?.();
      },
    });
    const next = (type: TabEvent['type']): Promise<TabEvent> =>
      withTimeout(
        new Promise<TabEvent>((resolve) => {
          const check = (): void => {
            const found = events.find((e) => e.type === type);
            if (found) resolve(found);
          };
          notify = check;
          check();
        }),
        `a ${type} event`,
        30_000,
      );
    try {
      flakyDown = true;
      await launched.tabs()[0]!.reload();
      const failed = await next('navigation-failed');
      assert.equal(failed.type === 'navigation-failed' && failed.tab, 1);
      assert.ok(failed.type === 'navigation-failed' && failed.retryInMs >= 500 && failed.retryInMs <= 1000, JSON.stringify(failed));
      flakyDown = false;
      await next('recovered');
      await until(() => bridge.clients('flaky').length === 1, 'the tab rejoins');
      assert.equal((await call({ group: 'flaky', action: 'ping' })).body.result, 'pong');
    } finally {
      flakyDown = false;
      await launched.close();
    }
  });

  test('a pool of tabs shares the calls, and a closed or crashed tab is replaced', async () => {
    const events: TabEvent[] = [];
    const launched = await launch({ urls: [`${site.url}/ephemeral`], group: 'pool', tabs: 3, scripts: [{ content: EPHEMERAL_HOOK }], bridge, onEvent: (e) => events.push(e) });
    try {
      assert.equal(bridge.clients('pool').length, 3);
      const results = await Promise.all(Array.from({ length: 30 }, () => call({ group: 'pool', action: 'slow', args: [50] })));
      const served = new Set(results.map((r) => r.body.clientId));
      assert.equal(served.size, 3);

      const before = new Set(bridge.clients('pool').map((c) => c.id));
      await launched.tabs()[0]!.close();
      await until(() => launched.tabs().length === 3 && bridge.clients('pool').length === 3 && bridge.clients('pool').some((c) => !before.has(c.id)), 'closed tab replaced');

      const victim = launched.tabs()[1]!;
      const ids = new Set(bridge.clients('pool').map((c) => c.id));
      await victim.navigate('chrome://crash').catch(() => {});
      await until(() => !launched.tabs().includes(victim) && bridge.clients('pool').length === 3 && bridge.clients('pool').some((c) => !ids.has(c.id)), 'crashed tab replaced');
      assert.equal((await call({ group: 'pool', action: 'slow', args: [1] })).status, 200);
      assert.deepEqual(events.filter((e) => e.type === 'replaced').map((e) => e.tab).sort(), [1, 2]);
    } finally {
      await launched.close();
    }
  });

  test('starts its own bridge when none is given, and its pages are callable at once', async () => {
    const launched = await launch({ urls: [`${site.url}/plain`], group: 'own', scripts: [PING_HOOK], bridgeOptions: { logLevel: 'silent' } });
    try {
      assert.ok(launched.bridge);
      assert.equal(await launched.bridge.call('own', 'ping'), 'pong');
    } finally {
      await launched.close();
    }
  });
});

async function waitForFailure(page: Page): Promise<{ lastError: { reason: string; message: string } }> {
  return until(
    async () => {
      const status = await page.evaluate(() => (globalThis as any).pagecall.status());
      return status.lastError && status.lastError.reason !== 'closed' ? status : undefined;
    },
    'the injector to diagnose why it cannot connect',
    20_000,
  );
}
