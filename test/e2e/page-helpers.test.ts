/** The injector's helpers for functions that are not global, in real Chromium (webpack bundles: webpack-helpers.test.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { injectorBundle } from '../../bridge/injector-script.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';

const LATE_PAGE = `<!doctype html><title>late</title><script>
setTimeout(function () {
  function Signer(k) { this.k = k; }
  Signer.prototype.sign = function sign(p) { return this.k + ':' + p; };
  window.SDK = { Signer: Signer };
  window.result = new window.SDK.Signer('key-1').sign('/first');
}, 30);
</script>`;

describe('page helpers', () => {
  let site: TestSite;
  let browser: Browser;
  let page: Page;

  before(async () => {
    site = await startSite({ '/late': LATE_PAGE, '/blank': '<!doctype html><title>b</title>' });
    browser = await launchTestBrowser();
    const context = await browser.newContext();
    await context.addInitScript({ content: injectorBundle() });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test('webpack helpers say clearly when the page has no bundle', async () => {
    await page.goto(`${site.url}/blank`);
    const message = await page.evaluate(() => {
      try {
        (globalThis as any).pagecall.webpack.findExport('x');
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      }
    });
    assert.match(message, /no webpack bundle found/);
  });

  test('hook: traps a path the page defines later and captures the instance it calls on', async () => {
    // As a launcher hook script would: installed before any page script, when SDK does not exist.
    await page.context().addInitScript({ content: "window.__h = pagecall.hook('SDK.Signer.prototype.sign', { onCall: (c, r) => { window.__seen = r; } });" });
    await page.goto(`${site.url}/late`);
    await page.waitForFunction(() => (globalThis as any).result !== undefined);
    const out = await page.evaluate(async () => {
      const g = globalThis as any;
      const capture = await g.__h.ready;
      return {
        pageResult: g.result,
        seen: g.__seen,
        args: capture.args,
        again: g.__h.call(['/second']),
        withOther: g.__h.call(['/third'], { k: 'other' }),
        name: g.SDK.Signer.prototype.sign.name,
        source: String(g.SDK.Signer.prototype.sign).includes("this.k + ':' + p"),
      };
    });
    assert.deepEqual(out, { pageResult: 'key-1:/first', seen: 'key-1:/first', args: ['/first'], again: 'key-1:/second', withOther: 'other:/third', name: 'sign', source: true });
  });
});
