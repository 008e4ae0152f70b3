/**
 * pagecall in browsers the launcher did not start: attach() in a Playwright context the user
 * already drives (that had navigated before), and a generated userscript run the way a userscript
 * manager runs it (the whole file as a document-start script of every frame).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { attach } from '../../launcher/launch.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { startTestBridge, until } from '../helpers/bridge.js';

const run = promisify(execFile);

// The page defines its helper, uses it once at load and removes it: only a hook in place before
// the page's scripts catches it.
const EPHEMERAL_PAGE = `<!doctype html><title>shop</title><script>
  window.util = { mix(a, b) { return a * 31 + b + this.offset; }, offset: 1000 };
  document.title = 'computed ' + util.mix(1, 2);
  delete window.util;
</script><iframe src="/ad"></iframe>`;
const HOOKS = `const mix = pagecall.hook('util.mix');
pagecall.register('mix', async (a, b) => { await mix.ready; return mix.call([a, b]); });
pagecall.register('where', () => location.pathname);
`;

describe('attach() and userscripts', () => {
  let bridge: Bridge;
  let site: TestSite;
  let browser: Browser;

  before(async () => {
    bridge = await startTestBridge();
    site = await startSite({ '/shop': EPHEMERAL_PAGE, '/ad': '<!doctype html><title>ad</title><p>ad', '/login': '<!doctype html><title>login</title><p>signed in' });
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await bridge?.close();
  });

  test('attach() joins the pages a context has open now and catches load-time functions in what loads next; stop() undoes it', async () => {
    const context = await browser.newContext();
    try {
      // The user's own flow: signed in, mid-way, before pagecall is involved.
      const page = await context.newPage();
      await page.goto(`${site.url}/login`);
      const attached = await attach(context, { group: 'attached', scripts: [{ content: HOOKS, name: 'hooks.js' }], bridge });
      await until(() => bridge.clients('attached').length === 1, 'the open page joins');
      assert.equal(await bridge.call('attached', 'where'), '/login');

      await page.goto(`${site.url}/shop`);
      await until(() => bridge.clients('attached')[0]?.url === `${site.url}/shop`, 'the next document joins');
      assert.equal(await bridge.call('attached', 'mix', [2, 5]), 2 * 31 + 5 + 1000);
      // Only the top document: the page's iframe never joins.
      assert.deepEqual(bridge.clients('attached').map((c) => c.context), ['top']);
      assert.equal(await page.frames()[1]!.evaluate(() => typeof (globalThis as any).pagecall), 'undefined');

      await attached.stop();
      await until(() => bridge.clients('attached').length === 0, 'the page leaves on stop()');
      await page.reload();
      assert.equal(await page.evaluate(() => typeof (globalThis as any).pagecall), 'undefined');
    } finally {
      await context.close();
    }
  });

  test('a generated userscript, run as a document-start script, catches a function the page uses once at load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagecall-userscript-'));
    const context = await browser.newContext();
    try {
      const hooks = join(dir, 'hooks.js');
      writeFileSync(hooks, HOOKS);
      const { stdout } = await run(process.execPath, ['dist/cli/main.js', 'userscript', '--group', 'userscript', '--match', `${site.url}/*`, '--script', hooks, '--url', bridge.url, '--key', bridge.pageKey]);
      assert.match(stdout, /^\/\/ ==UserScript==\n/);
      assert.match(stdout, new RegExp(`^// @match +${site.url.replace(/[.]/g, '\\.')}/\\*$`, 'm'));
      assert.match(stdout, /^\/\/ @run-at +document-start$/m);
      assert.match(stdout, /^\/\/ @grant +none$/m);
      assert.match(stdout, /^\/\/ @noframes$/m);
      assert.ok(stdout.includes(JSON.stringify(bridge.pageKey)), 'the page key is in the file');
      // What a userscript manager does: the file, as it is, at document-start (here in every frame, as without @noframes).
      await context.addInitScript({ content: stdout });
      const page = await context.newPage();
      await page.goto(`${site.url}/shop`);
      await until(() => bridge.clients('userscript').length === 1, 'the page joins');
      assert.equal(await bridge.call('userscript', 'mix', [2, 5]), 2 * 31 + 5 + 1000);
      assert.equal(await page.title(), 'computed 1033');
      assert.deepEqual(bridge.clients('userscript').map((c) => [c.context, c.url]), [['top', `${site.url}/shop`]]);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
