/**
 * A client id cannot be taken over: the welcome gives each page a resume secret for its id; a hello
 * that asks for a connected page's id without that secret gets a new id, and the page keeps its
 * connection and the calls pinned to it. With the secret (a reload, a reconnect, a restarted
 * bridge with the same key) the page gets its id back.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { postJson, until } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { HANG } from '../helpers/fake-page.js';
import { startReconnectingPage } from '../helpers/reconnecting-page.js';

test('a hello that reuses a connected page\'s id without its resume secret gets a new id; the page is not disturbed and keeps its pinned calls', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const real = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { who: () => 'real', wait: () => HANG } });
  const pinned = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'wait', clientId: real.clientId, timeoutMs: 2_000 });
  await real.next('invoke');
  let closed = false;
  real.ws.once('close', () => (closed = true));
  for (const resume of [undefined, 'a-guessed-secret-0000', bridge.groupKey('g'), `${real.welcome.resume!.slice(0, -1)}A`]) {
    const impostor = await use.page({ bridgeUrl: bridge.url, group: 'g', clientId: real.clientId, ...(resume ? { resume } : {}), handlers: { who: () => 'impostor' } });
    assert.notEqual(impostor.clientId, real.clientId, `resume ${resume}`);
    assert.notEqual(impostor.welcome.resume, real.welcome.resume);
    await impostor.close();
  }
  assert.equal(closed, false, 'the real page was never closed');
  // The call pinned to the real page stayed with it (it times out there, not on an impostor).
  const r = await pinned;
  assert.equal(r.body.error.code, 'TIMEOUT');
  assert.equal(r.body.error.data.clientId, real.clientId);
  const again = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'who', clientId: real.clientId });
  assert.equal(again.body.result, 'real');
});

test('with the resume secret from its welcome a page takes its id back, replacing a connection that still holds it (4409)', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const before = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { v: () => 1 } });
  const replaced = once(before.ws, 'close');
  const after = await use.page({ bridgeUrl: bridge.url, group: 'g', clientId: before.clientId, resume: before.welcome.resume, handlers: { v: () => 2 } });
  assert.equal(after.clientId, before.clientId);
  assert.equal(after.welcome.resume, before.welcome.resume, 'the secret belongs to the id');
  assert.equal((await replaced)[0], 4409);
  assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'v' })).body.result, 2);
});

test('a free id is granted without a secret (a fixed clientId), and its secret then protects it', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const fixed = await use.page({ bridgeUrl: bridge.url, group: 'g', clientId: 'worker-1', handlers: {} });
  assert.equal(fixed.clientId, 'worker-1');
  const second = await use.page({ bridgeUrl: bridge.url, group: 'g', clientId: 'worker-1', handlers: {} });
  assert.notEqual(second.clientId, 'worker-1');
});

test('resume secrets survive a bridge restart with the same page key: a reconnecting page gets its id back even if another page asked for it first', async (t) => {
  const use = cleanupFor(t);
  const first = await use.bridge();
  const port = first.port;
  const page = await startReconnectingPage({ bridgeUrl: first.url, group: 'g', handlers: { who: () => 'real' } });
  use.add(page, 'the reconnecting page');
  const id = page.clientId!;
  page.hold();
  await first.close();
  const second = await use.bridge({ port });
  // While the real page is away, a page grabs its (free) id...
  const squatter = await use.page({ bridgeUrl: second.url, group: 'g', clientId: id, handlers: { who: () => 'squatter' } });
  assert.equal(squatter.clientId, id);
  const squatterClosed = once(squatter.ws, 'close');
  // ...and the real page, coming back with its secret, takes it back.
  const back = page.nextWelcome();
  page.release();
  assert.equal((await back).clientId, id);
  assert.equal((await squatterClosed)[0], 4409);
  await until(() => second.clients('g').length === 1, 'one page left');
  assert.equal((await postJson(`${second.url}/v1/call`, { group: 'g', action: 'who', clientId: id })).body.result, 'real');
});
