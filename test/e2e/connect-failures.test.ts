/**
 * A pasted injector that cannot reach the bridge, in real Chromium: it says once what is wrong and
 * what to do, retries slowly while only the user can fix it (the page's CSP, Local Network Access),
 * quickly while the bridge may simply not be started yet, and connects as soon as the user acts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { injectorScript, type Bridge } from '../../bridge/index.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { TEST_PAGE_KEY, startTestBridge, until } from '../helpers/bridge.js';

const STRICT_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'";
// Counts the page's CSP violation reports: each blocked connection attempt makes one.
const COUNTING_PAGE = `<!doctype html><title>site</title><script>
  window.__violations = 0;
  document.addEventListener('securitypolicyviolation', () => window.__violations++);
</script><p>site`;
const BUNDLE = readFileSync(new URL('../../dist/injector/pagecall.js', import.meta.url), 'utf8');
/** Well below the slow pace (30-60 s), far above the fast one (at most 5 s). */
const SLOW_AT_LEAST_MS = 20_000;

interface Status {
  state: string;
  retryAt?: number;
  lastError?: { reason: string; message: string };
}

const statusOf = (page: Page): Promise<Status> => page.evaluate(() => (globalThis as any).pagecall.status());

/** A port nothing listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Collects the console lines pagecall writes. */
function pagecallLines(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (message) => {
    if (message.text().startsWith('pagecall:')) lines.push(message.text());
  });
  return lines;
}

describe('a pasted injector that cannot connect', () => {
  let bridge: Bridge;
  let site: TestSite;
  let browser: Browser;

  before(async () => {
    bridge = await startTestBridge();
    site = await startSite({
      '/csp': { body: COUNTING_PAGE, headers: { 'content-security-policy': STRICT_CSP } },
      '/plain': COUNTING_PAGE,
    });
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await bridge?.close();
  });

  test("blocked by the page's CSP: says once what to do, retries slowly, and pagecall.connect() retries at once", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const lines = pagecallLines(page);
      await page.goto(`${site.url}/csp`);
      await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group: 'csp-slow', key: bridge.groupKey('csp-slow') }));

      const first = await until(async () => {
        const status = await statusOf(page);
        return status.lastError?.reason === 'csp' && status.retryAt !== undefined ? status : undefined;
      }, 'the csp diagnosis', 20_000);
      assert.equal(first.state, 'reconnecting');
      const message = first.lastError!.message;
      assert.match(message, /Content-Security-Policy \((connect-src|default-src)\) blocks the bridge at ws:\/\/127\.0\.0\.1:\d+\/v1\/ws/);
      assert.match(message, /npx pagecall open http:\/\/127\.0\.0\.1:\d+\/csp/);
      assert.match(message, /tries again every 30-60 s; pagecall\.connect\(\) tries at once/);
      assert.ok(first.retryAt! - Date.now() > SLOW_AT_LEAST_MS, `next attempt in ${first.retryAt! - Date.now()} ms`);

      // pagecall.connect() with the same settings tries now: one more blocked attempt, then the slow pace again.
      const violations = await page.evaluate(() => (globalThis as any).__violations as number);
      await page.evaluate(() => (globalThis as any).pagecall.connect());
      const second = await until(async () => {
        const status = await statusOf(page);
        return status.retryAt !== undefined && status.retryAt !== first.retryAt ? status : undefined;
      }, 'a second attempt, failed and planned');
      assert.ok((await page.evaluate(() => (globalThis as any).__violations as number)) > violations, 'the second attempt reached the network stack and was blocked');
      assert.equal(second.lastError?.reason, 'csp');
      assert.ok(second.retryAt! - Date.now() > SLOW_AT_LEAST_MS, `next attempt in ${second.retryAt! - Date.now()} ms`);

      // The explanation was logged once, however many attempts failed.
      assert.deepEqual(lines.filter((line) => line.includes('Content-Security-Policy')), [message]);
      assert.equal(bridge.clients('csp-slow').length, 0);
    } finally {
      await context.close();
    }
  });

  test('no bridge at the URL: names the URL and port to start one on, retries quickly, and joins once one starts', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/v1/ws`;
    const context = await browser.newContext();
    let late: Bridge | undefined;
    try {
      const page = await context.newPage();
      await page.goto(`${site.url}/plain`);
      await page.evaluate(BUNDLE);
      await page.evaluate((options) => (globalThis as any).pagecall.register('ping', () => 'pong').connect(options), { url, group: 'late', key: TEST_PAGE_KEY });

      const status = await until(async () => {
        const s = await statusOf(page);
        return s.lastError?.reason === 'bridge-not-running' ? s : undefined;
      }, 'the bridge-not-running diagnosis', 20_000);
      assert.equal(
        status.lastError!.message,
        `pagecall: no bridge answers at ${url}: nothing listens on port ${port} of this machine. Start a bridge there: npx pagecall serve --port ${port}. pagecall keeps retrying.`,
      );
      const planned = await until(async () => (await statusOf(page)).retryAt, 'a planned attempt');
      assert.ok(planned - Date.now() <= 5_000, `next attempt in ${planned - Date.now()} ms`);

      late = await startTestBridge({ port });
      await until(() => late!.clients('late').length === 1, 'the page joins the bridge started late', 15_000);
      assert.equal(await late.call('late', 'ping'), 'pong');
    } finally {
      await context.close();
      await late?.close();
    }
  });

  test('blocked by Local Network Access: retries slowly, and connects as soon as the user allows it', async () => {
    const publicSite = await startSite({ '/plain': COUNTING_PAGE });
    const origin = `http://public.test:${publicSite.port}`;
    // A public host, as a real website is, and a secure context, so the permission can be granted.
    const lnaBrowser = await launchTestBrowser([
      `--ip-address-space-overrides=127.0.0.1:${publicSite.port}=public`,
      '--host-resolver-rules=MAP public.test 127.0.0.1',
      `--unsafely-treat-insecure-origin-as-secure=${origin}`,
    ]);
    try {
      const context = await lnaBrowser.newContext();
      const page = await context.newPage();
      await page.goto(`${origin}/plain`);
      await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group: 'lna-allow', key: bridge.groupKey('lna-allow') }));
      await page.evaluate(() => (globalThis as any).pagecall.register('ping', () => 'pong'));

      const status = await until(async () => {
        const s = await statusOf(page);
        return s.lastError?.reason === 'local-network-access' && s.retryAt !== undefined ? s : undefined;
      }, 'the local-network-access diagnosis', 20_000);
      assert.match(status.lastError!.message, /connects as soon as/);
      assert.ok(status.retryAt! - Date.now() > SLOW_AT_LEAST_MS, `next attempt in ${status.retryAt! - Date.now()} ms`);

      await context.grantPermissions(['local-network-access'], { origin });
      await until(() => bridge.clients('lna-allow').length === 1, 'the page joins once allowed, before its slow retry');
      assert.equal(await bridge.call('lna-allow', 'ping'), 'pong');
    } finally {
      await lnaBrowser.close();
      await publicSite.close();
    }
  });
});
