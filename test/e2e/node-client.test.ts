/** pagecall/client end to end: a real bridge and real headless Chromium running the built injector. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { connect, PagecallError, type PagecallClient } from '../../clients/node/index.js';
import { launch, type Launched } from '../../launcher/launch.js';
import { startSite, type TestSite } from '../helpers/browser.js';
import { startTestBridge, until } from '../helpers/bridge.js';

const HOOKS = `
  const describe = (v) => {
    if (v === undefined) return 'undefined';
    if (typeof v === 'bigint') return 'bigint(' + v + ')';
    if (typeof v === 'number') return 'number(' + (Object.is(v, -0) ? '-0' : String(v)) + ')';
    if (v instanceof Uint8Array) return 'Uint8Array(' + Array.from(v).join(',') + ')';
    if (v instanceof Date) return 'Date(' + v.toISOString() + ')';
    if (v instanceof Map) return 'Map(' + Array.from(v, ([k, x]) => describe(k) + '=>' + describe(x)).join(',') + ')';
    if (v instanceof Set) return 'Set(' + Array.from(v, describe).join(',') + ')';
    return typeof v + '(' + JSON.stringify(v) + ')';
  };
  let aborted = 0;
  pagecall.register('describe', (...args) => args.map(describe));
  pagecall.register('make', () => ({ bytes: new Uint8Array([1, 2]), big: 2n ** 70n, when: new Date(Date.UTC(2026, 0, 2)), map: new Map([[1, new Set(['x'])]]), nothing: [undefined] }));
  pagecall.register('fail', (m) => { throw new SyntaxError(m); });
  pagecall.register('wait', function () { return new Promise((resolve) => this.signal.addEventListener('abort', () => { aborted++; resolve('aborted'); })); });
  pagecall.register('aborted', () => aborted);
`;

describe('pagecall/client with a Chromium page', () => {
  let bridge: Bridge;
  let site: TestSite;
  let tabs: Launched;
  let client: PagecallClient;

  before(async () => {
    bridge = await startTestBridge();
    site = await startSite({ '/': '<!doctype html><title>client</title><p>client' });
    tabs = await launch({ urls: [`${site.url}/`], group: 'node', scripts: [{ content: HOOKS }], bridge });
    client = connect({ url: bridge.url });
  });
  after(async () => {
    client?.close();
    await tabs?.close();
    await site?.close();
    await bridge?.close();
  });

  test('the page receives JavaScript types and its values come back as the same types', async () => {
    const described = await client.call('node', 'describe', [new Uint8Array([0, 255]), 2n ** 64n, new Date('2026-05-06T07:08:09.010Z'), new Map([['k', 1]]), new Set([2]), undefined, -0, { $set: 'kept' }]);
    assert.deepEqual(described, ['Uint8Array(0,255)', 'bigint(18446744073709551616)', 'Date(2026-05-06T07:08:09.010Z)', 'Map(string("k")=>number(1))', 'Set(number(2))', 'undefined', 'number(-0)', 'object({"$set":"kept"})']);
    assert.deepEqual(await client.call('node', 'make'), { bytes: new Uint8Array([1, 2]), big: 2n ** 70n, when: new Date(Date.UTC(2026, 0, 2)), map: new Map([[1, new Set(['x'])]]), nothing: [undefined] });
  });

  test('a page exception arrives as PAGE_ERROR with the page stack', async () => {
    await assert.rejects(client.call('node', 'fail', ['unexpected token']), (e: unknown) => e instanceof PagecallError && e.code === 'PAGE_ERROR' && (e.data as { name: string }).name === 'SyntaxError' && /unexpected token/.test((e.data as { stack: string }).stack));
  });

  test('aborting a call aborts the page function signal', async () => {
    const controller = new AbortController();
    const running = client.call('node', 'wait', [], { signal: controller.signal });
    await until(async () => (await client.clients('node'))[0]!.inFlight === 1, 'the call to reach the page');
    controller.abort();
    await assert.rejects(running, (e: unknown) => e instanceof PagecallError && e.code === 'CANCELLED');
    assert.equal(await until(() => client.call<number>('node', 'aborted'), 'the page to see the abort'), 1);
  });
});
