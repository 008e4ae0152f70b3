/**
 * Which realms of a launched tab join, in real Chromium: a page shaped like a real site (a
 * same-origin iframe, a cross-site iframe served from another loopback site under another host
 * name, an `about:srcdoc` widget, an `about:blank` and a `data:` frame), its dedicated worker, and
 * the bridge's list polled while the launch is under way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import type { ClientInfo } from '../../bridge/page-client.js';
import { launch, type LaunchOptions } from '../../launcher/launch.js';
import { startSite, type TestSite } from '../helpers/browser.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';

/** Every realm registers `where`; each frame document tells the top page whether pagecall reached it before its own scripts. */
const WHERE_HOOK = { name: 'where.js', content: "pagecall.register('where', () => location.href);" };
const REPORT = `<script>parent.postMessage({ href: location.href, pagecall: typeof pagecall !== 'undefined' }, '*');</script>`;
/** The cross-site frame's host: another site for Chromium, so it runs in its own process (its own CDP target). */
const OTHER_HOST = 'widgets.test';
const RESOLVE_OTHER = `--host-resolver-rules=MAP ${OTHER_HOST} 127.0.0.1`;

describe('launcher: frames and workers', () => {
  let bridge: Bridge;
  let site: TestSite;
  let other: TestSite;
  let otherFrame: string;
  let groups = 0;

  /** Launches the framed page in a fresh group. */
  async function open(extra: Partial<LaunchOptions> = {}, path = '/framed'): Promise<{ group: string; close(): Promise<void>; tabUrl: string; clientId: string; reports(): Promise<Array<{ href: string; pagecall: boolean }>> }> {
    const group = `frames-${++groups}`;
    const launched = await launch({ urls: [`${site.url}${path}`], group, scripts: [WHERE_HOOK], bridge, args: [RESOLVE_OTHER], ...extra });
    const tab = launched.tabs()[0]!;
    return {
      group,
      tabUrl: tab.url,
      clientId: tab.clientId,
      close: () => launched.close(),
      // The three frame documents with a script (same-origin, cross-site, srcdoc) each report once.
      reports: () => tab.evaluate(`new Promise((resolve) => { const check = () => (window.reports.length >= 3 ? resolve(window.reports) : setTimeout(check, 10)); check(); })`),
    };
  }

  before(async () => {
    bridge = await startTestBridge();
    other = await startSite({ '/frame': `<!doctype html><title>widget</title>${REPORT}` });
    otherFrame = `http://${OTHER_HOST}:${other.port}/frame`;
    site = await startSite({
      '/framed': `<!doctype html><title>framed</title><script>window.reports = []; addEventListener('message', (e) => reports.push(e.data));</script>
        <iframe src="/frame"></iframe>
        <iframe src="${otherFrame}"></iframe>
        <iframe srcdoc="<title>srcdoc</title>${REPORT.replace(/"/g, '&quot;')}"></iframe>
        <iframe src="about:blank"></iframe>
        <iframe src="data:text/html,<title>data</title><p>data"></iframe>`,
      '/frame': `<!doctype html><title>same-origin frame</title>${REPORT}`,
      '/worker': `<!doctype html><title>worker page</title><script>
        // The decoder lives in the worker, reached only through messages (as on sites that decode off the main thread).
        const worker = new Worker('/decoder.js');
        window.decodeInWorker = (bytes) => new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.postMessage(bytes); });
      </script>`,
      '/decoder.js': {
        type: 'text/javascript',
        body: `const decoder = { decode(bytes) { return Array.from(bytes, (b) => String.fromCharCode(b ^ 0x5a)).join(''); } };
          self.decoder = decoder;
          onmessage = (e) => postMessage(decoder.decode(e.data));`,
      },
    });
  });
  after(async () => {
    await site?.close();
    await other?.close();
    await bridge?.close();
  });

  test('by default only the top document joins: no frame gets pagecall, whatever its origin', async () => {
    const opened = await open();
    try {
      const reports = await opened.reports();
      assert.deepEqual(reports.map((r) => r.href).sort(), [`${site.url}/frame`, 'about:srcdoc', otherFrame].sort());
      assert.deepEqual(reports.filter((r) => r.pagecall), [], 'no frame document saw pagecall');
      const clients = bridge.clients(opened.group);
      assert.deepEqual(clients.map((c) => [c.id, c.context, c.url, c.origin]), [[opened.clientId, 'top', opened.tabUrl, site.url]]);
    } finally {
      await opened.close();
    }
  });

  test('--frames all joins the top document, the same-origin frame and the cross-site frame, each with its context, URL and origin', async () => {
    const opened = await open({ frames: 'all' });
    try {
      const rows = (): string[] => bridge.clients(opened.group).map((c) => `${c.context} ${c.url} ${c.origin}`).sort();
      const expected = [`frame ${otherFrame} http://${OTHER_HOST}:${other.port}`, `frame ${site.url}/frame ${site.url}`, `top ${opened.tabUrl} ${site.url}`].sort();
      await until(() => rows().join('\n') === expected.join('\n'), `three clients: ${expected.join(', ')}`, 20_000);
      const clients = bridge.clients(opened.group);
      for (const client of clients) {
        assert.ok(client.id === opened.clientId || client.id.startsWith(`${opened.clientId}-f`), client.id);
        const r = await postJson(`${bridge.url}/v1/call`, { group: opened.group, action: 'where', clientId: client.id });
        assert.equal(r.body.result, client.url);
      }
      // about:srcdoc, about:blank and data: frames never join, even with --frames all.
      const reports = await opened.reports();
      assert.equal(reports.find((r) => r.href === 'about:srcdoc')?.pagecall, false);
      const listed = (await getJson(`${bridge.url}/v1/clients?group=${opened.group}`)).body.clients as ClientInfo[];
      assert.deepEqual(listed.map((c) => c.context).sort(), ['frame', 'frame', 'top']);
    } finally {
      await opened.close();
    }
  });

  test('a URL pattern selects the frames that join', async () => {
    const opened = await open({ frames: `http://${OTHER_HOST}:*` });
    try {
      const rows = (): string[] => bridge.clients(opened.group).map((c) => `${c.context} ${c.url}`).sort();
      await until(() => rows().length === 2, 'the top document and the matching frame', 20_000);
      assert.deepEqual(rows(), [`frame ${otherFrame}`, `top ${opened.tabUrl}`]);
      const reports = await opened.reports();
      assert.equal(reports.find((r) => r.href === `${site.url}/frame`)?.pagecall, false, 'the same-origin frame does not match');
    } finally {
      await opened.close();
    }
  });

  test('the bridge never lists about:blank, srcdoc, data: or error pages, polled all through a launch', async () => {
    const seen = new Set<string>();
    let launching = true;
    const poll = (async () => {
      while (launching) {
        const body = (await getJson(`${bridge.url}/v1/clients`)).body as { clients: ClientInfo[] };
        for (const c of body.clients) seen.add(c.url);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let opened;
    try {
      opened = await open({ frames: 'all', tabs: 2 });
      await opened.reports();
    } finally {
      launching = false;
      await poll;
      await opened?.close();
    }
    assert.ok(seen.size > 0, 'the poll saw the pages');
    assert.deepEqual([...seen].filter((url) => !/^https?:/.test(url)), []);
  });

  test('with workers on, a decoder that lives in a dedicated worker is callable, and launch() waits for it', async () => {
    const hooks = {
      name: 'worker-hooks.js',
      content: "if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) pagecall.expose('decode', 'decoder.decode');",
    };
    const group = `frames-${++groups}`;
    const launched = await launch({ urls: [`${site.url}/worker`], group, scripts: [hooks], bridge, workers: true });
    try {
      const tab = launched.tabs()[0]!;
      const secret = new Uint8Array([...'hello worker'].map((c) => c.charCodeAt(0) ^ 0x5a));
      // Callable the instant launch() resolved: the readiness check counted the worker's functions as the tab's.
      assert.equal(await bridge.call(group, 'decode', [secret]), 'hello worker');
      const worker = bridge.clients(group).find((c) => c.context === 'worker')!;
      assert.ok(worker.id.startsWith(`${tab.clientId}-w`), worker.id);
      assert.equal(worker.url, `${site.url}/decoder.js`);
      assert.equal(worker.origin, site.url);
      // The page still uses its worker as before.
      assert.equal(await tab.evaluate(`decodeInWorker(new Uint8Array(${JSON.stringify([...secret])}))`), 'hello worker');
    } finally {
      await launched.close();
    }
  });
});
