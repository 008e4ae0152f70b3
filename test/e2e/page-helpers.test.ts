/** The injector's helpers for functions that are not global, in real Chromium. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { injectorBundle } from '../../bridge/injector-script.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';

// A page shaped like a webpack 4 build: a JSONP runtime over `window.webpackJsonp`, one module
// that already ran and one whose factory is registered but has not run.
const WEBPACK4_PAGE = `<!doctype html><title>wp4</title><script>
(function () {
  var modules = {}, cache = {};
  function req(id) {
    if (cache[id]) return cache[id].exports;
    var module = cache[id] = { exports: {} };
    modules[id].call(module.exports, module, module.exports, req);
    return module.exports;
  }
  req.m = modules; req.c = cache;
  function jsonp(data) {
    var ids = data[0], more = data[1], entries = data[2] || [];
    for (var k in more) modules[k] = more[k];
    for (var i = 0; i < entries.length; i++) req(entries[i][0]);
  }
  var queue = window.webpackJsonp = window.webpackJsonp || [];
  var old = queue.push.bind(queue);
  queue.push = function (data) { old(data); jsonp(data); };
})();
window.webpackJsonp.push([[0], {
  11: function (module, exports) { exports.a = { Frame: { decode: function (b) { return 'frame:' + b; }, toObject: function (m) { return { m: m }; } } }; },
  12: function (module, exports) { window.lazyRan = true; exports.hidden = function secretSauce(x) { return 'sauce:' + x; }; }
}, [[11]]]);
</script>`;

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
    site = await startSite({ '/wp4': WEBPACK4_PAGE, '/late': LATE_PAGE, '/blank': '<!doctype html><title>b</title>' });
    browser = await launchTestBrowser();
    const context = await browser.newContext();
    await context.addInitScript({ content: injectorBundle() });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test('webpack 4: finds exports of loaded modules, and of unloaded ones only when allowed', async () => {
    await page.goto(`${site.url}/wp4`);
    const out = await page.evaluate(() => {
      const wp = (globalThis as any).pagecall.webpack;
      const frame = wp.findExport('Frame');
      const byProps = wp.findByProps('decode', 'toObject');
      const notLoaded = wp.find((v: unknown, k: string) => k === 'hidden', { load: false }).length;
      const ranBefore = (globalThis as any).lazyRan === true;
      const hidden = wp.findByCode('sauce:');
      return { decoded: frame.decode('x'), same: frame === byProps, notLoaded, ranBefore, hidden: hidden('y'), ranAfter: (globalThis as any).lazyRan === true };
    });
    assert.deepEqual(out, { decoded: 'frame:x', same: true, notLoaded: 0, ranBefore: false, hidden: 'sauce:y', ranAfter: true });
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
