/**
 * Page admission, closed by default: only pages that carry the page key (or their group's key)
 * join; a website that opens sockets to the bridge gets none of its calls. With --open-pages the
 * old behaviour returns, loudly, and one origin cannot take more than a few places.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import WebSocket from 'ws';
import { getJson, postJson, until } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { connectFakePage } from '../helpers/fake-page.js';
import { internals } from '../helpers/internals.js';

/** Opens a page socket from `origin` and says hello with `fields`; resolves with the first message and the close code. */
async function knock(bridgeUrl: string, origin: string, fields: Record<string, unknown>): Promise<{ first: any; code: number }> {
  const ws = new WebSocket(`${bridgeUrl.replace(/^http/, 'ws')}/v1/ws`, { origin });
  ws.on('error', () => {});
  const first = new Promise<any>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
  const closed = once(ws, 'close').then(([code]) => code as number);
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'hello', v: 1, group: 'shop', url: 'https://evil.example/', title: 'evil', actions: ['sign'], ...fields }));
  const code = await closed;
  return { first: await Promise.race([first, Promise.resolve(undefined)]), code };
}

describe('closed to strangers by default', () => {
  test('a page without the key is refused with 4401 and told how to get the snippet; one with its group key joins', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const refused = await knock(bridge.url, 'https://evil.example', {});
    assert.equal(refused.code, 4401);
    assert.equal(refused.first.code, 'UNAUTHORIZED');
    assert.match(refused.first.message, /^this bridge admits only pages that carry its page key; get the snippet for group "shop" with `pagecall injector --group shop` or from the bridge's dashboard/);
    const guessed = await knock(bridge.url, 'https://evil.example', { key: `shop~${'A'.repeat(43)}` });
    assert.equal(guessed.code, 4401);
    const otherGroup = await knock(bridge.url, 'https://evil.example', { key: bridge.groupKey('live') });
    assert.equal(otherGroup.code, 4401);
    assert.match(otherGroup.first.message, /group key of "live", which admits that group only, not "shop"/);
    assert.equal(bridge.clients().length, 0);

    const page = await use.page({ bridgeUrl: bridge.url, group: 'shop', key: bridge.groupKey('shop'), origin: 'https://shop.example', handlers: { sign: () => 'real' } });
    assert.ok(page.welcome.resume);
    assert.deepEqual(bridge.clients('shop').map((c) => [c.origin, c.admission]), [['https://shop.example', 'group-key']]);
    // A group key admits its group only.
    await assert.rejects(connectFakePage({ bridgeUrl: bridge.url, group: 'live', key: bridge.groupKey('shop') }), /close code 4401/);
    // The page key admits any group.
    const anywhere = await use.page({ bridgeUrl: bridge.url, group: 'live', key: bridge.pageKey });
    assert.equal(bridge.clients('live')[0]!.admission, 'page-key');
    await anywhere.close();
  });

  test('a tab with many sockets and no key gets no calls: every call goes to the real page', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const real = await use.page({ bridgeUrl: bridge.url, group: 'shop', handlers: { sign: () => 'real' } });
    const codes = await Promise.all(Array.from({ length: 60 }, () => knock(bridge.url, 'https://evil.example', {}).then((r) => r.code)));
    assert.deepEqual([...new Set(codes)], [4401]);
    const results = await Promise.all(Array.from({ length: 100 }, () => postJson(`${bridge.url}/v1/call`, { group: 'shop', action: 'sign' })));
    assert.deepEqual([...new Set(results.map((r) => r.body.clientId))], [real.clientId]);
    assert.deepEqual([...new Set(results.map((r) => r.body.result))], ['real']);
  });

  test('sockets not yet admitted wait their turn per origin: twenty keyed pages of one site joining at once all get in; a flood past the wait list gets 429; other origins are not held up', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ maxHandshakesPerOrigin: 4, helloTimeoutMs: 60_000 });
    // Twenty at once, like `pagecall open --tabs 20`: more than the four slots, all admitted in turn.
    const pool = await Promise.all(Array.from({ length: 20 }, (_, i) => use.page({ bridgeUrl: bridge.url, group: 'pool', origin: 'https://shop.example', handlers: { n: () => i } })));
    assert.equal(bridge.clients('pool').length, 20);
    await Promise.all(pool.map((p) => p.close()));

    // Sockets that never say hello: four hold the slots, 32 (8 per slot) wait, the rest are refused.
    const sockets: WebSocket[] = [];
    const outcomes = { open: 0, refused429: 0 };
    for (let i = 0; i < 40; i++) {
      const ws = new WebSocket(`${bridge.url.replace(/^http/, 'ws')}/v1/ws`, { origin: 'https://evil.example' });
      sockets.push(ws);
      ws.on('error', () => {});
      ws.once('open', () => outcomes.open++);
      ws.once('unexpected-response', (_req, res) => {
        if (res.statusCode === 429) outcomes.refused429++;
      });
    }
    await until(() => outcomes.open === 4 && outcomes.refused429 === 4 && internals(bridge).hub.pendingHandshakes.waiting === 32, 'four open, four refused, 32 waiting');
    // Another site's page joins at once.
    const other = await use.page({ bridgeUrl: bridge.url, group: 'other', origin: 'https://other.example', handlers: {} });
    assert.ok(other.clientId);
    for (const ws of sockets) ws.terminate();
    await until(() => internals(bridge).hub.pendingHandshakes.waiting === 0, 'the wait list to empty');
  });

  test('origins come from the handshake and are listed by /v1/clients, with what admitted each page', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    await use.page({ bridgeUrl: bridge.url, group: 'g', origin: 'https://shop.example', handlers: {} });
    await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: {} });
    const listed = (await getJson(`${bridge.url}/v1/clients?group=g`)).body.clients.map((c: any) => [c.origin, c.admission]);
    assert.deepEqual(listed.sort(), [[null, 'page-key'], ['https://shop.example', 'page-key']].sort());
  });

  test('GET /v1/page-key hands out a group key to API callers only: not to websites, not without the token', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const r = await getJson(`${bridge.url}/v1/page-key?group=shop`);
    assert.equal(r.status, 200);
    assert.equal(r.body.key, bridge.groupKey('shop'));
    assert.equal(r.body.url, `${bridge.url.replace('http', 'ws')}/v1/ws`);
    assert.ok(r.body.snippet.includes(`import("${bridge.url}/injector.mjs")`));
    assert.equal(r.headers.get('access-control-allow-origin'), null, 'no CORS: websites cannot read it');
    assert.equal((await getJson(`${bridge.url}/v1/page-key?group=shop`, { headers: { origin: 'https://evil.example' } })).status, 403);
    assert.equal((await getJson(`${bridge.url}/v1/page-key`)).status, 400);
    const secured = await use.bridge({ token: 'page-key-token-0123456789' });
    assert.equal((await getJson(`${secured.url}/v1/page-key?group=shop`)).status, 401);
    assert.equal((await getJson(`${secured.url}/v1/page-key?group=shop`, { headers: { authorization: 'Bearer page-key-token-0123456789' } })).body.key, secured.groupKey('shop'));
  });
});

describe('--open-pages', () => {
  test('admits pages without a key and says so loudly: a warning at start, /health, the listing; at most maxOpenPagesPerOrigin per origin, keyed pages uncapped', async (t) => {
    const use = cleanupFor(t);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const bridge = await use.bridge({ openPages: true, maxOpenPagesPerOrigin: 3, logger });
    assert.ok(lines.some((l) => /"level":40.*--open-pages: pages join WITHOUT the page key\. Any website open in your browser can join a group/.test(l)), lines.join(''));
    assert.match(lines.find((l) => l.includes('listening on'))!, /pages OPEN to any website \(--open-pages\)/);
    assert.equal((await getJson(`${bridge.url}/health`)).body.openPages, true);

    const keyless = await Promise.all(Array.from({ length: 3 }, () => use.page({ bridgeUrl: bridge.url, group: 'shop', key: null, origin: 'https://evil.example', handlers: {} })));
    assert.deepEqual(bridge.clients('shop').map((c) => c.admission), ['open', 'open', 'open']);
    const fourth = await knock(bridge.url, 'https://evil.example', {});
    assert.equal(fourth.code, 4429);
    assert.equal(fourth.first.code, 'OVERLOADED');
    assert.match(fourth.first.message, /already 3 pages without a key from https:\/\/evil\.example/);
    // Another origin, and pages with the key, are not limited by it.
    await use.page({ bridgeUrl: bridge.url, group: 'shop', key: null, origin: 'https://other.example', handlers: {} });
    for (let i = 0; i < 4; i++) await use.page({ bridgeUrl: bridge.url, group: 'shop', origin: 'https://evil.example', handlers: {} });
    assert.equal(bridge.clients('shop').length, 8);
    // A keyless page that leaves frees its place.
    await keyless[0]!.close();
    await use.page({ bridgeUrl: bridge.url, group: 'shop', key: null, origin: 'https://evil.example', handlers: {} });
  });

  test('is off by default, and has no effect with a token', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    assert.equal((await getJson(`${bridge.url}/health`)).body.openPages, false);
    const secured = await use.bridge({ openPages: true, token: 'open-pages-token-0123456789' });
    assert.equal((await getJson(`${secured.url}/health`)).body.openPages, false);
    await assert.rejects(connectFakePage({ bridgeUrl: secured.url, group: 'g', key: null }), /close code 4401/);
  });
});

