import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { connectFakePage, HANG } from '../helpers/fake-page.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';

describe('pages that misbehave', () => {
  test('garbage frames get BAD_FRAME errors and the page and the bridge keep serving', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { ok: () => 'ok' } });
    try {
      const garbage = ['not json', '{"type":"nope"}', '42', '[1,2]', '{"type":"result"}', '{"type":"result","id":"x","ok":"maybe"}', '{"type":"update","actions":[1]}', '{"type":"hello","v":1,"group":"g","url":"","title":"","actions":[]}'];
      for (const text of garbage) page.sendRaw(text);
      page.ws.send(Buffer.from([1, 2, 3]), { binary: true });
      await until(() => page.received.filter((m) => m.type === 'error' && m.code === 'BAD_FRAME').length >= 10, 'BAD_FRAME replies');
      const errors = page.received.filter((m) => m.type === 'error').map((m) => m.message);
      assert.ok(errors.some((m) => /invalid JSON/.test(m)));
      assert.ok(errors.some((m) => /type: unknown message type/.test(m)));
      assert.ok(errors.some((m) => /actions\[0\]: expected string, got number/.test(m)));
      assert.ok(errors.some((m) => /binary/.test(m)));
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'ok' });
      assert.equal(r.body.result, 'ok');
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('results for calls a page never got are ignored, even ids of other pages', async () => {
    const bridge = await startTestBridge();
    const honest = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => HANG } });
    const forger = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: {} });
    try {
      const invoked = honest.next('invoke');
      const pending = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'work', timeoutMs: 300 });
      const invoke = await invoked;
      forger.sendRaw(JSON.stringify({ type: 'result', id: invoke.id, ok: true, value: 'forged' }));
      forger.sendRaw(JSON.stringify({ type: 'result', id: 'never-sent', ok: true, value: 1 }));
      const r = await pending;
      assert.equal(r.body.error.code, 'TIMEOUT');
    } finally {
      await honest.close();
      await forger.close();
      await bridge.close();
    }
  });

  test('a page that stops answering pings is dropped and its calls move to a live page', async () => {
    const bridge = await startTestBridge({ heartbeatMs: 100 });
    const frozen = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => HANG } });
    try {
      const invoked = frozen.next('invoke');
      const pending = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'work', timeoutMs: 30_000 });
      await invoked;
      const live = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => 'live' } });
      frozen.freeze();
      const r = await pending;
      assert.equal(r.body.result, 'live');
      assert.deepEqual(bridge.clients('g').map((c) => c.id), [live.clientId]);
      await live.close();
    } finally {
      await frozen.close();
      await bridge.close();
    }
  });

  test('hello with another protocol version is refused with 4426', async () => {
    const bridge = await startTestBridge();
    try {
      const ws = new WebSocket(`${bridge.url.replace('http', 'ws')}/v1/ws`);
      await once(ws, 'open');
      ws.send(JSON.stringify({ type: 'hello', v: 99, group: 'g', url: '', title: '', actions: [] }));
      const [code] = await once(ws, 'close');
      assert.equal(code, 4426);
    } finally {
      await bridge.close();
    }
  });

  test('a socket that never says hello is closed', async () => {
    const bridge = await startTestBridge({ helloTimeoutMs: 100 });
    try {
      const ws = new WebSocket(`${bridge.url.replace('http', 'ws')}/v1/ws`);
      const [code] = await once(ws, 'close');
      assert.equal(code, 4408);
    } finally {
      await bridge.close();
    }
  });

  test('the HTTP caller going away cancels the call in the page', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { hang: () => HANG } });
    try {
      const invoked = page.next('invoke');
      const cancelled = page.next('cancel');
      const req = request(`${bridge.url}/v1/call`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('error', () => {});
      req.end(JSON.stringify({ group: 'g', action: 'hang' }));
      const invoke = await invoked;
      req.destroy();
      const cancel = await cancelled;
      assert.equal(cancel.id, invoke.id);
      assert.equal(cancel.reason, 'CANCELLED');
      await until(() => bridge.clients('g')[0]?.inFlight === 0, 'slot freed');
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('function-list updates change routing', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { a: () => 'a', b: () => 'b' } });
    try {
      page.sendRaw(JSON.stringify({ type: 'update', actions: ['a'], title: 'new title' }));
      await until(() => bridge.clients('g')[0]?.title === 'new title', 'update');
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'b' });
      assert.equal(r.body.error.code, 'ACTION_NOT_FOUND');
    } finally {
      await page.close();
      await bridge.close();
    }
  });
});

describe('access control', () => {
  test('with a token, callers without it are refused, and pages need the token or the page key', async () => {
    const token = 'a-very-secret-token-123';
    const bridge = await startTestBridge({ token });
    try {
      await assert.rejects(connectFakePage({ bridgeUrl: bridge.url, group: 'g', key: null, handlers: {} }), /closed before welcome \(close code 4401\)/);
      await assert.rejects(connectFakePage({ bridgeUrl: bridge.url, group: 'g', key: null, token: 'not-the-token-at-all', handlers: {} }), /close code 4401/);
      const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', key: null, token, handlers: { ok: () => 1 } });
      const keyed = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: {} });
      assert.deepEqual(bridge.clients('g').map((c) => c.admission).sort(), ['page-key', 'token']);
      const denied = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'ok' });
      assert.equal(denied.status, 401);
      assert.equal(denied.body.error.code, 'UNAUTHORIZED');
      const wrong = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'ok' }, { authorization: 'Bearer wrong' });
      assert.equal(wrong.status, 401);
      const ok = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'ok' }, { authorization: `Bearer ${token}` });
      assert.equal(ok.body.result, 1);
      // The injector holds no secret, so it is served to anyone, and never with the token in it.
      for (const path of ['/injector.js', '/injector.js?group=g', `/injector.js?group=g&token=${token}`, '/injector.mjs']) {
        const script = await getJson(`${bridge.url}${path}`);
        assert.equal(script.status, 200, path);
        assert.ok(!String(script.body).includes(token), `${path} does not carry the token`);
      }
      await page.close();
      await keyed.close();
    } finally {
      await bridge.close();
    }
  });

  test('DNS-rebinding Host names and cross-site requests are refused on loopback', async () => {
    const bridge = await startTestBridge();
    try {
      const rebound = await new Promise<number>((resolve, reject) => {
        const req = request(`${bridge.url}/v1/clients`, { headers: { host: 'evil.example:80' } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(rebound, 403);
      const crossSite = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'a' }, { origin: 'https://evil.example' });
      assert.equal(crossSite.status, 403);
      assert.equal(crossSite.body.error.code, 'FORBIDDEN');
      const fetchMeta = await getJson(`${bridge.url}/v1/call?group=g&action=a`, { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(fetchMeta.status, 403);
    } finally {
      await bridge.close();
    }
  });

  test('an origin allow-list keeps other origins from joining', async () => {
    const bridge = await startTestBridge({ allowOrigins: ['https://good.example'] });
    try {
      await assert.rejects(connectFakePage({ bridgeUrl: bridge.url, group: 'g', origin: 'https://evil.example' }));
      const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', origin: 'https://good.example' });
      assert.ok(page.clientId);
      await page.close();
    } finally {
      await bridge.close();
    }
  });
});

describe('shutdown', () => {
  test('lets running calls finish within the grace period and refuses new ones', async () => {
    const bridge = await startTestBridge();
    let release: (() => void) | undefined;
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => new Promise((r) => (release = () => r('finished'))) } });
    const invoked = page.next('invoke');
    const running = bridge.call('g', 'work');
    await invoked;
    const closing = bridge.close(5_000);
    await assert.rejects(bridge.call('g', 'work'), (e: any) => e.code === 'SHUTTING_DOWN');
    release!();
    assert.equal(await running, 'finished');
    await closing;
  });

  test('fails calls still running when the grace period ends with SHUTTING_DOWN', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { hang: () => HANG } });
    const invoked = page.next('invoke');
    const running = bridge.call('g', 'hang');
    await invoked;
    await bridge.close(10);
    await assert.rejects(running, (e: any) => e.code === 'SHUTTING_DOWN');
  });
});
