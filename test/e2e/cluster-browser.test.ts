/**
 * A real Chromium tab behind one node of a cluster, called through another: the built injector
 * (as `pagecall injector` prints it) joins browser-a, a `pagecall serve` process; calls through
 * edge-1, another process, get the page's values and errors exactly as browser-a's own callers do.
 * edge-1's dashboard lists the tab with its node and shows the cluster's state, including when
 * NATS goes away.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { injectorScript } from '../../bridge/injector-script.js';
import { launchTestBrowser, startSite } from '../helpers/browser.js';
import { postJson } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { CHILD_PAGE_KEY, startClusterNode, waitForNats, waitForPages } from '../helpers/cluster-node.js';
import { startNatsServer } from '../helpers/nats-server.js';

const PAGE_CODE = `
  pagecall.register('sign', (path) => 'sig:' + path + ':' + document.title);
  pagecall.register('bytes', () => new Uint8Array([0, 1, 254, 255]));
  pagecall.register('big', () => 2n ** 70n);
  pagecall.register('boom', function checkSignature() { throw new RangeError('signature window closed'); });
  pagecall.register('element', () => document.body);
`;

describe('a browser tab behind another node', () => {
  test('answers calls made through another node as it answers its own node, and shows on that node\'s dashboard', { timeout: 120_000 }, async (t) => {
    const use = cleanupFor(t);
    const nats = use.add(await startNatsServer(), 'nats-server');
    const [a, edge] = await Promise.all([startClusterNode({ nats: nats.url, name: 'browser-a', args: ['--allow-eval'] }), startClusterNode({ nats: nats.url, name: 'edge-1', args: ['--allow-eval'] })]);
    use.add(a, 'browser-a');
    use.add(edge, 'edge-1');
    const script = injectorScript({ bridgeUrl: a.url, group: 'shop', key: CHILD_PAGE_KEY, clientId: 'real-tab' });
    const site = use.add(
      await startSite({
        '/shop': `<!doctype html><title>Shop</title><script src="/pagecall.js"></script><script>${PAGE_CODE}</script>`,
        '/pagecall.js': { body: script, type: 'text/javascript' },
      }),
      'site',
    );
    const browser = await launchTestBrowser();
    use.defer(() => browser.close(), 'Chromium');
    const tab = await browser.newPage();
    await tab.goto(`${site.url}/shop`);
    await waitForPages(edge, ['real-tab'], 'edge-1 to list the tab on browser-a', 30_000);

    const call = (url: string, action: string, args: unknown[] = []) => postJson(`${url}/v1/call`, { group: 'shop', action, args });
    const signed = await call(edge.url, 'sign', ['/api/items']);
    assert.deepEqual([signed.status, signed.body.result, signed.body.clientId, signed.headers.get('x-pagecall-node')], [200, 'sig:/api/items:Shop', 'real-tab', 'browser-a']);
    assert.deepEqual((await call(edge.url, 'bytes')).body.result, { $bytes: 'AAH+/w==' });
    assert.deepEqual((await call(edge.url, 'big')).body.result, { $bigint: '1180591620717411303424' });
    for (const action of ['boom', 'element']) {
      const direct = await call(a.url, action);
      const forwarded = await call(edge.url, action);
      assert.deepEqual([forwarded.status, forwarded.body], [direct.status, direct.body], action);
    }
    const boom = await call(edge.url, 'boom');
    assert.equal(boom.body.error.code, 'PAGE_ERROR');
    assert.equal(boom.body.error.data.name, 'RangeError');
    assert.match(boom.body.error.data.stack, /checkSignature/);
    // Built-in actions (eval) go to any node with a page in the group.
    const evaluated = await postJson(`${edge.url}/v1/eval`, { group: 'shop', code: 'document.title + " " + location.pathname' });
    assert.deepEqual([evaluated.status, evaluated.body.result, evaluated.headers.get('x-pagecall-node')], [200, 'Shop /shop', 'browser-a']);
    const element = await call(edge.url, 'element');
    assert.equal(element.body.error.code, 'RESULT_NOT_SERIALIZABLE');
    assert.match(element.body.error.message, /DOM node/);

    // edge-1's dashboard: the tab with its node, the cluster pill; then NATS goes away.
    const dashboard = await browser.newPage();
    await dashboard.goto(`${edge.url}/`);
    const row = dashboard.locator('tr[data-client-id="real-tab"]');
    await row.waitFor({ timeout: 30_000 });
    assert.equal(await row.locator('td.node').textContent(), 'browser-a');
    assert.equal(await row.locator('.page-title').textContent(), 'Shop');
    const pill = dashboard.locator('#cluster');
    await dashboard.waitForFunction(() => (globalThis as any).document.querySelector('#cluster')?.textContent === 'node edge-1 · 2 nodes', undefined, { timeout: 30_000 });
    assert.equal(await pill.getAttribute('data-nats'), 'connected');

    await nats.kill();
    await waitForNats(edge, 'reconnecting');
    await dashboard.waitForFunction(() => (globalThis as any).document.querySelector('#cluster')?.dataset.nats === 'reconnecting', undefined, { timeout: 30_000 });
    assert.equal(await pill.textContent(), "node edge-1 · NATS unreachable: this node's pages only");
    assert.match((await pill.getAttribute('class')) ?? '', /pill-down/);
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    // The tab keeps working for browser-a's own callers.
    assert.equal((await call(a.url, 'sign', ['/x'])).body.result, 'sig:/x:Shop');
  });
});
