/**
 * JsRpc pages on the compat listener, spoken to from Node over real sockets: admission by the
 * socket URL, registration, replies of every type, late and duplicate replies, garbage frames,
 * pages that drop mid-call, socket-level liveness, eval gating, kicks and shutdown.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { Bridge, StartOptions } from '../../bridge/index.js';
import { getJson, postJson, until } from '../helpers/bridge.js';
import { cleanupFor, type Cleanup } from '../helpers/cleanup.js';
import { internals } from '../helpers/internals.js';
import { connectJsrpcPage, HANG, NO_DATA, refusedUpgrade, type JsrpcPage, type JsrpcPageOptions } from '../helpers/jsrpc-page.js';

const TOKEN = 'jsrpc-socket-token-0123456789';

async function bridgeWith(use: Cleanup, options: StartOptions = {}): Promise<Bridge> {
  return use.bridge({ jsrpc: { port: 0 }, ...options });
}

async function page(use: Cleanup, bridge: Bridge, group: string, options: Partial<JsrpcPageOptions> & { clientId?: string } = {}): Promise<JsrpcPage> {
  const { clientId, ...rest } = options;
  const url = bridge.jsrpc!.pageUrl(group) + (clientId ? `&clientId=${clientId}` : '');
  return use.add(await connectJsrpcPage({ url, ...rest }), `a JsRpc page in ${group}`);
}

const go = (bridge: Bridge, query: Record<string, string>) => getJson(`${bridge.jsrpc!.url}/go?${new URLSearchParams(query)}`);
const call = (bridge: Bridge, body: Record<string, unknown>) => postJson(`${bridge.url}/v1/call`, body);

describe('a JsRpc page joins', () => {
  test('it is told its client id and joins the group as an ordinary client with the actions it registered', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'zzz', { clientId: 'tab-1', handlers: { sign: (p) => `signed:${p}`, _execjs: () => 'never' } });
    assert.equal(tab.clientId, 'tab-1');
    assert.deepEqual(tab.received[0], { registerId: 'tab-1' });
    const listed = await until(() => bridge.clients('zzz').find((c) => c.id === 'tab-1' && c.actions.length > 0), 'the page with its actions');
    // _execjs stays a built-in: it is never callable as an ordinary action.
    assert.deepEqual(listed.actions, ['sign']);
    const clients = await getJson(`${bridge.url}/v1/clients?group=zzz`);
    assert.equal(clients.body.clients[0].protocol, 'jsrpc');
    assert.equal(clients.body.clients[0].title, 'JsRpc page');
  });

  test('without a clientId it gets a fresh one on every connection', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const first = await page(use, bridge, 'g');
    const second = await page(use, bridge, 'g');
    assert.match(first.clientId, /^[0-9a-f-]{36}$/);
    assert.notEqual(first.clientId, second.clientId);
  });

  test('re-registering replaces the action list, and calls go only to pages that registered the action', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const a = await page(use, bridge, 'g', { clientId: 'has-a', handlers: { a: () => 'from a' } });
    await page(use, bridge, 'g', { clientId: 'has-b', handlers: { b: () => 'from b' } });
    await until(() => bridge.clients('g').length === 2 && bridge.clients('g').every((c) => c.actions.length === 1), 'both pages registered');
    for (let i = 0; i < 20; i++) {
      const answer = await go(bridge, { group: 'g', action: 'a' });
      assert.deepEqual(answer.body, { status: 200, group: 'g', clientId: 'has-a', data: 'from a' });
    }
    a.register(['a', 'c']);
    await until(() => bridge.clients('g').find((c) => c.id === 'has-a')?.actions.includes('c'), 'the new list');
    a.register([], '["c"]');
    await until(() => bridge.clients('g').find((c) => c.id === 'has-a')?.actions.join() === 'c', 'the list sent as a string');
    const gone = await go(bridge, { group: 'g', action: 'a' });
    assert.equal(gone.status, 400);
    assert.equal(gone.body.code, 'ACTION_NOT_FOUND');
  });

  test('a registration with names pagecall cannot carry keeps the others', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'g', { register: false, handlers: { ok: () => 'fine' } });
    tab.register(['中文名', 'ok', '$eval', 'has space']);
    await until(() => bridge.clients('g')[0]?.actions.join() === 'ok', 'the valid name registered');
    assert.equal((await go(bridge, { group: 'g', action: 'ok' })).body.data, 'fine');
  });
});

describe('replies', () => {
  const cases: Array<{ name: string; reply: unknown; data: string; result: unknown }> = [
    { name: 'a string', reply: 'abc', data: 'abc', result: 'abc' },
    { name: 'an object the page JSON-encoded', reply: '{"a": 1, "b": [true]}', data: '{"a": 1, "b": [true]}', result: { a: 1, b: [true] } },
    { name: 'a big number inside JSON text (kept byte for byte by /go)', reply: '{"id":12345678901234567891}', data: '{"id":12345678901234567891}', result: { id: 12345678901234567000 } },
    { name: 'a numeric string (stays a string)', reply: '1700000000000', data: '1700000000000', result: '1700000000000' },
    { name: 'a number (JsRpc drops it and the caller times out)', reply: 42, data: '42', result: 42 },
    { name: 'a boolean (JsRpc drops it too)', reply: false, data: 'false', result: false },
    { name: 'null', reply: null, data: '', result: null },
    { name: 'an object sent raw', reply: { k: 'v' }, data: '{"k":"v"}', result: { k: 'v' } },
    { name: 'no response_data', reply: NO_DATA, data: '', result: { $undefined: true } },
  ];
  for (const c of cases) {
    test(`${c.name}: /go answers with the page's text, /v1/call with the typed value`, async (t) => {
      const use = cleanupFor(t);
      const bridge = await bridgeWith(use);
      await page(use, bridge, 'g', { clientId: 'p', handlers: { f: () => c.reply } });
      await bridge.waitForAction('g', 'f');
      const viaGo = await go(bridge, { group: 'g', action: 'f' });
      assert.equal(viaGo.status, 200);
      assert.deepEqual(viaGo.body, { status: 200, group: 'g', clientId: 'p', data: c.data });
      const viaCall = await call(bridge, { group: 'g', action: 'f' });
      assert.equal(viaCall.status, 200);
      assert.deepEqual(viaCall.body.result, c.result);
    });
  }

  test('the page gets /go param as sent, and /v1/call arguments so that its JSON.parse gives them back', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'g', { handlers: { echo: (p) => p } });
    await bridge.waitForAction('g', 'echo');
    const params: Array<[how: string, send: () => Promise<unknown>, param: string]> = [
      ['/go, text', () => go(bridge, { group: 'g', action: 'echo', param: 'plain text' }), 'plain text'],
      ['/go, JSON with spaces and a big number', () => go(bridge, { group: 'g', action: 'echo', param: '{"n": 12345678901234567891}' }), '{"n": 12345678901234567891}'],
      ['/go, no param', () => go(bridge, { group: 'g', action: 'echo' }), ''],
      ['/go, JSON body with an object', () => postJson(`${bridge.jsrpc!.url}/go`, { group: 'g', action: 'echo', param: { q: [1] } }), '{"q":[1]}'],
      ['/v1/call, no argument', () => call(bridge, { group: 'g', action: 'echo' }), ''],
      ['/v1/call, one string', () => call(bridge, { group: 'g', action: 'echo', args: ['hi'] }), 'hi'],
      ['/v1/call, a string that looks like a number', () => call(bridge, { group: 'g', action: 'echo', args: ['123'] }), '"123"'],
      ['/v1/call, an object', () => call(bridge, { group: 'g', action: 'echo', args: [{ a: 1 }] }), '{"a":1}'],
      ['/v1/call, two arguments', () => call(bridge, { group: 'g', action: 'echo', args: [1, 'x'] }), '[1,"x"]'],
      ['/v1/call, bytes', () => call(bridge, { group: 'g', action: 'echo', args: [{ $bytes: 'AAEC' }] }), '{"$bytes":"AAEC"}'],
    ];
    for (const [how, send, param] of params) {
      const [invoke] = await Promise.all([tab.nextInvoke('echo'), send()]);
      assert.equal(invoke.param, param, how);
    }
  });

  test('a late reply (after the deadline) and a duplicate reply are dropped; the page keeps serving', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'g', { handlers: { slow: () => HANG, fast: () => 'ok' } });
    await bridge.waitForAction('g', 'slow');
    const { counters } = internals(bridge).hub;
    const timedOut = await go(bridge, { group: 'g', action: 'slow', timeoutMs: '50' });
    assert.equal(timedOut.status, 200);
    assert.match(timedOut.body.data, /^获取结果超时 timeout: "slow" did not finish within 50 ms/);
    assert.equal(timedOut.body.code, 'TIMEOUT');
    assert.equal(timedOut.body.clientId, tab.clientId);
    const invoke = await tab.nextInvoke('slow');
    const before = counters.ignoredResults;
    tab.sendRaw(JSON.stringify({ action: 'slow', message_id: invoke.message_id, response_data: 'too late' }));
    await until(() => counters.ignoredResults === before + 1, 'the late reply to be dropped');
    const answered = await go(bridge, { group: 'g', action: 'fast' });
    assert.equal(answered.body.data, 'ok');
    const fastInvoke = await tab.nextInvoke('fast');
    tab.sendRaw(JSON.stringify({ action: 'fast', message_id: fastInvoke.message_id, response_data: 'again' }));
    tab.sendRaw(JSON.stringify({ action: 'fast', message_id: 'never-sent', response_data: 'foreign' }));
    await until(() => counters.ignoredResults === before + 3, 'the duplicate and foreign replies to be dropped');
    assert.equal((await go(bridge, { group: 'g', action: 'fast' })).body.data, 'ok');
  });

  test('a reply to a call sent to another page is not accepted from this one', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const owner = await page(use, bridge, 'g', { clientId: 'owner', handlers: { hold: () => HANG } });
    const thief = await page(use, bridge, 'g', { clientId: 'thief', handlers: {} });
    await bridge.waitForAction('g', 'hold');
    const pending = go(bridge, { group: 'g', action: 'hold', timeoutMs: '60000' });
    const invoke = await owner.nextInvoke('hold');
    thief.sendRaw(JSON.stringify({ action: 'hold', message_id: invoke.message_id, response_data: 'forged' }));
    owner.sendRaw(JSON.stringify({ action: 'hold', message_id: invoke.message_id, response_data: 'genuine' }));
    assert.equal((await pending).body.data, 'genuine');
  });
});

describe('garbage and failures', () => {
  test('garbage frames are ignored and counted; the page keeps serving until it passes 100 of them', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'g', { handlers: { ok: () => 'fine' } });
    await bridge.waitForAction('g', 'ok');
    const { counters } = internals(bridge).hub;
    const before = counters.badFrames;
    tab.sendRaw('not json');
    tab.sendRaw(Buffer.from([1, 2, 3]), true);
    tab.sendRaw('[1,2]');
    tab.sendRaw('{"action":"x"}');
    tab.sendRaw('{"action":"_registerActions","response_data":"[oops"}');
    await until(() => counters.badFrames === before + 5, 'five bad frames counted');
    assert.deepEqual(bridge.clients('g')[0]?.actions, ['ok']);
    assert.equal((await go(bridge, { group: 'g', action: 'ok' })).body.data, 'fine');
    const closed = once(tab.ws, 'close');
    for (let i = 0; i < 101; i++) tab.sendRaw('garbage');
    const [code] = await closed;
    assert.equal(code, 4402);
  });

  test('a page that drops mid-call fails its caller at once with CLIENT_DISCONNECTED, not after the deadline', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'g', { handlers: { hold: () => HANG } });
    await bridge.waitForAction('g', 'hold');
    // A deadline far beyond the test's own time limit: only the drop can end this call.
    const pending = go(bridge, { group: 'g', action: 'hold', timeoutMs: '600000' });
    await tab.nextInvoke('hold');
    tab.ws.terminate();
    const answer = await pending;
    assert.equal(answer.status, 502);
    assert.equal(answer.body.code, 'CLIENT_DISCONNECTED');
    assert.match(answer.body.data, /disconnected while running "hold"/);
  });

  test('a call whose page drops moves to another page that has the action', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const first = await page(use, bridge, 'g', { clientId: 'first', handlers: { job: () => HANG } });
    await bridge.waitForAction('g', 'job');
    const pending = go(bridge, { group: 'g', action: 'job', timeoutMs: '600000' });
    await first.nextInvoke('job');
    await page(use, bridge, 'g', { clientId: 'second', handlers: { job: () => 'done by second' } });
    await until(() => bridge.clients('g').find((c) => c.id === 'second')?.actions.length, 'the second page registered');
    first.ws.terminate();
    assert.deepEqual((await pending).body, { status: 200, group: 'g', clientId: 'second', data: 'done by second' });
  });

  test('liveness is checked at the socket level: a page that stops answering pings is dropped, its call failed', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use, { heartbeatMs: 50 });
    const tab = await page(use, bridge, 'g', { autoPong: false, handlers: { hold: () => HANG } });
    await bridge.waitForAction('g', 'hold');
    const closed = once(tab.ws, 'close');
    const answer = await go(bridge, { group: 'g', action: 'hold', timeoutMs: '600000' });
    assert.equal(answer.body.code, 'CLIENT_DISCONNECTED');
    const [code] = await closed;
    assert.equal(code, 4504);
  });

  test('socket pongs count as signs of life: answering a ping refreshes the page', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use, { heartbeatMs: 1000 });
    const tab = await page(use, bridge, 'g', { handlers: { ok: () => 'fine' } });
    const client = internals(bridge).registry.get(tab.clientId)!;
    const joinedSeen = client.lastSeen;
    await once(tab.ws, 'ping');
    // The page's pong is on its way (ws answers the ping itself); it is the only frame it sends.
    const pingedAt = Date.now();
    assert.ok(pingedAt > joinedSeen);
    await until(() => client.lastSeen >= pingedAt, 'the pong to refresh the page');
    assert.equal((await go(bridge, { group: 'g', action: 'ok' })).body.data, 'fine');
  });
});

describe('admission', () => {
  test('a page needs the page key in its socket URL; the refusal says how to get in', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const base = `${bridge.jsrpc!.url.replace('http', 'ws')}/ws?group=g`;
    for (const url of [base, `${base}&key=wrong`, `${base}&key=`]) {
      const refused = await refusedUpgrade({ url });
      assert.equal(refused.status, 403, url);
      assert.equal(refused.body.status, 403);
      assert.equal(refused.body.code, 'FORBIDDEN');
      assert.match(refused.body.data, /needs &key=<page key>.*--open-pages/);
    }
    assert.equal(bridge.clients().length, 0);
    const admitted = use.add(await connectJsrpcPage({ url: `${base}&key=${encodeURIComponent(bridge.pageKey)}` }));
    assert.ok(admitted.clientId);
  });

  test('with --open-pages the old URL works as it is, and the printed snippet has no key', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use, { openPages: true });
    const url = `${bridge.jsrpc!.url.replace('http', 'ws')}/ws?group=g&clientId=old-url`;
    const tab = use.add(await connectJsrpcPage({ url }));
    assert.equal(tab.clientId, 'old-url');
    assert.equal(bridge.jsrpc!.pageSnippet('g'), `new HlClient("${bridge.jsrpc!.url.replace('http', 'ws')}/ws?group=g")`);
  });

  const bad: Array<[name: string, query: string, status: number, data: RegExp]> = [
    ['no group', '', 400, /^需要传入group \(group: required/],
    ['an empty group', 'group=', 400, /^需要传入group/],
    ['a malformed group', 'group=has%20space', 400, /^group: "has space" is not a valid group name/],
    ['a malformed clientId', 'group=g&clientId=a%2Fb', 400, /^clientId: "a\/b" is not a valid client id/],
  ];
  for (const [name, query, status, data] of bad) {
    test(`a socket URL with ${name} is refused with ${status} in JsRpc's shape`, async (t) => {
      const use = cleanupFor(t);
      const bridge = await bridgeWith(use);
      const refused = await refusedUpgrade({ url: `${bridge.jsrpc!.url.replace('http', 'ws')}/ws?${query}&key=${encodeURIComponent(bridge.pageKey)}` });
      assert.equal(refused.status, status);
      assert.equal(refused.body.status, status);
      assert.match(refused.body.data, data);
    });
  }

  test('a socket on another path is 404', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const refused = await refusedUpgrade({ url: `${bridge.jsrpc!.url.replace('http', 'ws')}/wst?group=g&key=${bridge.pageKey}` });
    assert.equal(refused.status, 404);
  });

  test('a second socket with a client id in use is refused; the page holding it keeps it', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const holder = await page(use, bridge, 'g', { clientId: 'only-one', handlers: { who: () => 'holder' } });
    const refused = await refusedUpgrade({ url: `${bridge.jsrpc!.pageUrl('other')}&clientId=only-one` });
    assert.equal(refused.status, 400);
    assert.match(refused.body.data, /^clientId: "only-one" is already connected \(group "g"\)/);
    assert.equal(holder.ws.readyState, holder.ws.OPEN);
    await bridge.waitForAction('g', 'who');
    assert.equal((await go(bridge, { group: 'g', action: 'who' })).body.data, 'holder');
  });

  test('with a token, a page gets in with the key the bridge prints, or with the token instead (&token= or a Bearer header); the printed URL never holds the token', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use, { token: TOKEN });
    const printed = bridge.jsrpc!.pageUrl('g');
    assert.ok(!printed.includes(TOKEN), 'the token is not put into pages');
    assert.ok((await page(use, bridge, 'g')).clientId);
    const bare = printed.replace(/&key=[^&]*/, '');
    const refused = await refusedUpgrade({ url: bare });
    assert.equal(refused.status, 403);
    assert.match(refused.body.data, /needs &key=<page key>/);
    assert.ok(use.add(await connectJsrpcPage({ url: `${bare}&token=${TOKEN}` })).clientId);
    assert.ok(use.add(await connectJsrpcPage({ url: bare, headers: { authorization: `Bearer ${TOKEN}` } })).clientId);
  });

  test('--allow-origins holds for JsRpc pages', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use, { allowOrigins: ['https://shop.example'] });
    const refused = await refusedUpgrade({ url: bridge.jsrpc!.pageUrl('g'), origin: 'https://evil.example' });
    assert.equal(refused.status, 403);
    assert.match(refused.body.data, /not in --allow-origins/);
    assert.ok((await page(use, bridge, 'g', { origin: 'https://shop.example' })).clientId);
  });

  test('--max-clients holds for JsRpc pages', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use, { maxClients: 1 });
    await page(use, bridge, 'g');
    const refused = await refusedUpgrade({ url: bridge.jsrpc!.pageUrl('g') });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'OVERLOADED');
  });
});

describe('eval, kicks and shutdown', () => {
  test('without --allow-eval a JsRpc page never receives _execjs, however it is asked', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'g', { handlers: { ok: () => 'fine', _execjs: () => 'ran code' } });
    await bridge.waitForAction('g', 'ok');
    const asAction = await call(bridge, { group: 'g', action: '_execjs', args: ['1+1'] });
    assert.equal(asAction.body.error.code, 'ACTION_NOT_FOUND');
    const viaGo = await go(bridge, { group: 'g', action: '_execjs', param: '1+1' });
    assert.equal(viaGo.status, 403);
    assert.equal(viaGo.body.code, 'EVAL_DISABLED');
    const viaEval = await postJson(`${bridge.url}/v1/eval`, { group: 'g', code: '1+1' });
    assert.equal(viaEval.body.error.code, 'EVAL_DISABLED');
    assert.equal((await go(bridge, { group: 'g', action: 'ok' })).body.data, 'fine');
    assert.equal(tab.received.filter((m) => (m as { action?: string }).action === '_execjs').length, 0);
  });

  test('with --allow-eval, /v1/eval reaches a JsRpc page as _execjs with the code as it is', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use, { allowEval: true });
    const tab = await page(use, bridge, 'g', { handlers: { _execjs: (code) => `ran ${code}` } });
    const [invoke, answer] = await Promise.all([tab.nextInvoke('_execjs'), postJson(`${bridge.url}/v1/eval`, { group: 'g', code: '"quoted" + 1' })]);
    assert.equal(invoke.param, '"quoted" + 1');
    assert.equal(answer.body.result, 'ran "quoted" + 1');
  });

  test('a kick through the native API or /kick closes the page with 4410', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const first = await page(use, bridge, 'g', { clientId: 'k1' });
    const closedFirst = once(first.ws, 'close');
    assert.equal((await getJson(`${bridge.url}/v1/clients/k1`, { method: 'DELETE' })).status, 200);
    assert.equal((await closedFirst)[0], 4410);
    const second = await page(use, bridge, 'g', { clientId: 'k2' });
    const closedSecond = once(second.ws, 'close');
    const kicked = await getJson(`${bridge.jsrpc!.url}/kick?group=g&clientId=k2`, { method: 'DELETE' });
    assert.deepEqual(kicked.body, { status: 200, group: 'g', clientId: 'k2', data: 'disconnected k2 from g' });
    assert.equal((await closedSecond)[0], 4410);
    await until(() => bridge.clients().length === 0, 'no page listed');
  });

  test('closing the bridge closes JsRpc pages (1001) and both ports', async (t) => {
    const use = cleanupFor(t);
    const bridge = await bridgeWith(use);
    const tab = await page(use, bridge, 'g');
    const closed = once(tab.ws, 'close');
    const compatUrl = bridge.jsrpc!.url;
    await bridge.close();
    assert.equal((await closed)[0], 1001);
    await assert.rejects(fetch(`${compatUrl}/list`), /fetch failed/);
  });

  test('a compat port in use fails the start with EADDRINUSE', async (t) => {
    const use = cleanupFor(t);
    const first = await bridgeWith(use);
    const { startTestBridge } = await import('../helpers/bridge.js');
    await assert.rejects(startTestBridge({ jsrpc: { port: first.jsrpc!.port } }), /EADDRINUSE/);
  });
});
