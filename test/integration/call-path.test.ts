import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { connectFakePage, HANG, type FakePage } from '../helpers/fake-page.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';
import type { Bridge } from '../../bridge/index.js';

describe('call path through a real bridge and scripted pages', () => {
  let bridge: Bridge;
  let call: (body: unknown) => ReturnType<typeof postJson>;
  before(async () => {
    bridge = await startTestBridge();
    call = (body) => postJson(`${bridge.url}/v1/call`, body);
  });
  after(() => bridge.close());

  test('returns the typed result of the page function with its client id', async () => {
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'typed', handlers: { obj: () => ({ a: [1, 'x', null], b: true }), num: () => 42, yes: () => false } });
    try {
      const r = await call({ group: 'typed', action: 'obj', args: [] });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body.result, { a: [1, 'x', null], b: true });
      assert.equal(r.body.ok, true);
      assert.equal(r.body.clientId, page.clientId);
      assert.equal(typeof r.body.durationMs, 'number');
      assert.equal(r.headers.get('x-pagecall-client'), page.clientId);
      assert.ok(r.headers.get('x-request-id'));
      assert.equal((await call({ group: 'typed', action: 'num' })).body.result, 42);
      assert.equal((await call({ group: 'typed', action: 'yes' })).body.result, false);
    } finally {
      await page.close();
    }
  });

  test('passes arguments through, bytes included', async () => {
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'args', handlers: { echo: (args) => args } });
    try {
      const args = [{ $bytes: 'AAEC/w==' }, { $bigint: '12345678901234567890' }, 'text', { $undefined: true }];
      const r = await call({ group: 'args', action: 'echo', args });
      assert.deepEqual(r.body.result, args);
    } finally {
      await page.close();
    }
  });

  test('routes only to pages that registered the action', async () => {
    const withIt = await connectFakePage({ bridgeUrl: bridge.url, group: 'route', handlers: { sign: () => 'signed' } });
    const without = await connectFakePage({ bridgeUrl: bridge.url, group: 'route', handlers: { other: () => 'wrong' } });
    try {
      const results = await Promise.all(Array.from({ length: 50 }, () => call({ group: 'route', action: 'sign' })));
      for (const r of results) {
        assert.equal(r.status, 200);
        assert.equal(r.body.clientId, withIt.clientId);
      }
      assert.equal(without.received.filter((m) => m.type === 'invoke').length, 0);
    } finally {
      await withIt.close();
      await without.close();
    }
  });

  test('least-in-flight spreads concurrent calls over the pages of a group', async () => {
    const seen: Record<string, number> = {};
    const releases: Array<() => void> = [];
    const handler = (name: string) => () =>
      new Promise<string>((resolve) => {
        seen[name] = (seen[name] ?? 0) + 1;
        releases.push(() => resolve(name));
      });
    const a = await connectFakePage({ bridgeUrl: bridge.url, group: 'spread', handlers: { work: handler('a') } });
    const b = await connectFakePage({ bridgeUrl: bridge.url, group: 'spread', handlers: { work: handler('b') } });
    try {
      const pending = Array.from({ length: 20 }, () => call({ group: 'spread', action: 'work' }));
      await until(() => releases.length === 20, 'all calls to reach pages');
      assert.equal(seen.a, 10);
      assert.equal(seen.b, 10);
      for (const release of releases) release();
      const results = await Promise.all(pending);
      assert.ok(results.every((r) => r.status === 200));
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('an explicit clientId targets that page', async () => {
    const a = await connectFakePage({ bridgeUrl: bridge.url, group: 'target', handlers: { who: () => 'a' } });
    const b = await connectFakePage({ bridgeUrl: bridge.url, group: 'target', handlers: { who: () => 'b' } });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await call({ group: 'target', action: 'who', clientId: b.clientId })).body.result, 'b');
      const missing = await call({ group: 'target', action: 'who', clientId: 'nope' });
      assert.equal(missing.status, 503);
      assert.equal(missing.body.error.code, 'NO_CLIENT');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a thrown page error arrives as PAGE_ERROR with name, message and stack', async () => {
    const page = await connectFakePage({
      bridgeUrl: bridge.url,
      group: 'errors',
      handlers: {
        boom: () => {
          throw new TypeError('bad key');
        },
      },
    });
    try {
      const r = await call({ group: 'errors', action: 'boom' });
      assert.equal(r.status, 502);
      assert.equal(r.body.ok, false);
      assert.equal(r.body.error.code, 'PAGE_ERROR');
      assert.equal(r.body.error.data.name, 'TypeError');
      assert.equal(r.body.error.data.message, 'bad key');
      assert.match(r.body.error.data.stack, /bad key/);
      assert.equal(r.body.error.data.clientId, page.clientId);
    } finally {
      await page.close();
    }
  });

  test('unknown group is NO_CLIENT, unknown action is ACTION_NOT_FOUND with what is available', async () => {
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'known', handlers: { a: () => 1, b: () => 2 } });
    try {
      const noGroup = await call({ group: 'nobody-here', action: 'a' });
      assert.equal(noGroup.status, 503);
      assert.equal(noGroup.body.error.code, 'NO_CLIENT');
      const noAction = await call({ group: 'known', action: 'zzz' });
      assert.equal(noAction.status, 404);
      assert.equal(noAction.body.error.code, 'ACTION_NOT_FOUND');
      assert.deepEqual(noAction.body.error.data.available, ['a', 'b']);
    } finally {
      await page.close();
    }
  });

  test('a call past its deadline is TIMEOUT, the page is told to cancel, and its late result is dropped', async () => {
    let late: (() => void) | undefined;
    const page = await connectFakePage({
      bridgeUrl: bridge.url,
      group: 'slow',
      handlers: { slow: () => new Promise((resolve) => (late = () => resolve('late'))), fast: () => 'fast' },
    });
    try {
      const cancelled = page.next('cancel');
      const r = await call({ group: 'slow', action: 'slow', timeoutMs: 50 });
      assert.equal(r.status, 504);
      assert.equal(r.body.error.code, 'TIMEOUT');
      const cancel = await cancelled;
      assert.equal(cancel.reason, 'TIMEOUT');
      late!();
      assert.equal((await call({ group: 'slow', action: 'fast' })).body.result, 'fast');
      assert.equal(bridge.clients('slow')[0]!.inFlight, 0);
    } finally {
      await page.close();
    }
  });

  test('a page that disconnects mid-call fails the call at once when retry is off', async () => {
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'drop', handlers: { hang: () => HANG } });
    const started = page.next('invoke');
    const pending = call({ group: 'drop', action: 'hang', retry: false, timeoutMs: 60_000 });
    await started;
    const t0 = Date.now();
    page.ws.terminate();
    const r = await pending;
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'CLIENT_DISCONNECTED');
    assert.ok(Date.now() - t0 < 30_000, 'failed long before the 60 s deadline');
  });

  test('a page that disconnects mid-call has the call retried on another page of the group', async () => {
    const dying = await connectFakePage({ bridgeUrl: bridge.url, group: 'retry', handlers: { work: () => HANG } });
    const started = dying.next('invoke');
    const pending = call({ group: 'retry', action: 'work', timeoutMs: 60_000, clientId: undefined });
    await started;
    const healthy = await connectFakePage({ bridgeUrl: bridge.url, group: 'retry', handlers: { work: () => 'done by healthy' } });
    dying.ws.terminate();
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.body.result, 'done by healthy');
    assert.equal(r.body.clientId, healthy.clientId);
    await healthy.close();
  });

  test('a reconnect with the same client id and its resume secret replaces the old connection without duplicates', async () => {
    const first = await connectFakePage({ bridgeUrl: bridge.url, group: 'reconnect', clientId: 'stable-id', handlers: { v: () => 1 } });
    const closed = once(first.ws, 'close');
    const second = await connectFakePage({ bridgeUrl: bridge.url, group: 'reconnect', clientId: 'stable-id', resume: first.welcome.resume, handlers: { v: () => 2 } });
    const [code] = await closed;
    assert.equal(code, 4409);
    const list = await getJson(`${bridge.url}/v1/clients?group=reconnect`);
    assert.equal(list.body.clients.length, 1);
    assert.equal(list.body.clients[0].id, 'stable-id');
    assert.equal((await call({ group: 'reconnect', action: 'v' })).body.result, 2);
    await second.close();
    await until(() => bridge.clients('reconnect').length === 0, 'page removal');
  });

  test('lists pages and kicks one by id', async () => {
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'kick', url: 'https://site.test/a', title: 'A page', handlers: { x: () => 1 } });
    const list = await getJson(`${bridge.url}/v1/clients`);
    const me = list.body.clients.find((c: any) => c.id === page.clientId);
    assert.deepEqual({ group: me.group, actions: me.actions, url: me.url, title: me.title, inFlight: me.inFlight }, { group: 'kick', actions: ['x'], url: 'https://site.test/a', title: 'A page', inFlight: 0 });
    const closed = once(page.ws, 'close');
    const del = await getJson(`${bridge.url}/v1/clients/${page.clientId}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    assert.equal((await closed)[0], 4410);
    const again = await getJson(`${bridge.url}/v1/clients/${page.clientId}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'CLIENT_NOT_FOUND');
  });

  test('GET /v1/call takes args as JSON or arg=... values', async () => {
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'get', handlers: { echo: (args) => args } });
    try {
      const a = await getJson(`${bridge.url}/v1/call?group=get&action=echo&args=${encodeURIComponent('[1,"two",{"x":3}]')}`);
      assert.deepEqual(a.body.result, [1, 'two', { x: 3 }]);
      const b = await getJson(`${bridge.url}/v1/call?group=get&action=echo&arg=5&arg=hello`);
      assert.deepEqual(b.body.result, [5, 'hello']);
    } finally {
      await page.close();
    }
  });

  test('a batch returns results in order, failures isolated, in one packed frame', async () => {
    const page = await connectFakePage({
      bridgeUrl: bridge.url,
      group: 'batch',
      handlers: {
        double: ([n]) => (n as number) * 2,
        fail: () => {
          throw new Error('nope');
        },
      },
    });
    try {
      const framesBefore = page.received.length;
      const r = await postJson(`${bridge.url}/v1/batch`, {
        group: 'batch',
        calls: [{ action: 'double', args: [1] }, { action: 'fail' }, { action: 'double', args: [3] }, { action: 'missing' }, { action: 42 }, { action: 'double', args: [5] }],
      });
      assert.equal(r.status, 200);
      const results = r.body.results;
      assert.deepEqual(results[0], { ok: true, result: 2, clientId: page.clientId, durationMs: results[0].durationMs });
      assert.equal(results[1].error.code, 'PAGE_ERROR');
      assert.equal(results[2].result, 6);
      assert.equal(results[3].error.code, 'ACTION_NOT_FOUND');
      assert.equal(results[4].error.code, 'BAD_REQUEST');
      assert.match(results[4].error.message, /calls\[4\]\.action: expected string, got number/);
      assert.equal(results[5].result, 10);
      const invokes = page.received.slice(framesBefore).filter((m) => m.type === 'invoke');
      assert.equal(invokes.length, 4);
    } finally {
      await page.close();
    }
  });

  test('bad HTTP input gets coded errors naming the field', async () => {
    const cases: Array<[unknown, number, string, RegExp]> = [
      ['{"group": ', 400, 'BAD_REQUEST', /invalid JSON/],
      ['[]', 400, 'BAD_REQUEST', /body: expected object, got array/],
      [{ group: 'g', action: 'a', args: {} }, 400, 'BAD_REQUEST', /args: expected array, got object/],
      [{ action: 'a' }, 400, 'BAD_REQUEST', /group: required/],
      [{ group: 'g', action: 'a', param: 'x' }, 400, 'BAD_REQUEST', /unknown field "param".*args/],
      [{ group: 'bad group!', action: 'a' }, 400, 'BAD_REQUEST', /group: .*not a valid group name/],
      [{ group: 'g', action: '$eval' }, 400, 'BAD_REQUEST', /action: .*not a valid action name/],
      [{ group: 'g', action: 'a', timeoutMs: -1 }, 400, 'BAD_REQUEST', /timeoutMs/],
      [{ group: 'g', action: 'a', timeoutMs: 10_000_000 }, 400, 'BAD_REQUEST', /timeoutMs: at most/],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await call(body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.body.error.code, code, JSON.stringify(body));
      assert.match(r.body.error.message, message);
    }
    const plain = await postJson(`${bridge.url}/v1/call`, '{}', { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    assert.equal(plain.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    const notFound = await getJson(`${bridge.url}/v2/nothing`);
    assert.equal(notFound.status, 404);
    assert.equal(notFound.body.error.code, 'NOT_FOUND');
    const wrongMethod = await getJson(`${bridge.url}/v1/batch`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.body.error.code, 'METHOD_NOT_ALLOWED');
  });

  test('the health probe is readable cross-origin', async () => {
    const r = await getJson(`${bridge.url}/health`, { headers: { origin: 'https://some-site.test' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(r.body.name, 'pagecall');
  });
});

describe('limits', () => {
  test('oversize bodies get PAYLOAD_TOO_LARGE and the bridge keeps serving', async () => {
    const bridge = await startTestBridge({ maxBodyBytes: 2048, maxBatch: 3 });
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'lim', handlers: { ok: () => 'ok' } });
    try {
      const big = await postJson(`${bridge.url}/v1/call`, { group: 'lim', action: 'ok', args: ['x'.repeat(5000)] });
      assert.equal(big.status, 413);
      assert.equal(big.body.error.code, 'PAYLOAD_TOO_LARGE');
      assert.equal(big.body.error.data.limit, 2048);
      const batch = await postJson(`${bridge.url}/v1/batch`, { group: 'lim', calls: [{ action: 'ok' }, { action: 'ok' }, { action: 'ok' }, { action: 'ok' }] });
      assert.equal(batch.status, 413);
      const fine = await postJson(`${bridge.url}/v1/call`, { group: 'lim', action: 'ok' });
      assert.equal(fine.body.result, 'ok');
    } finally {
      await page.close();
      await bridge.close();
    }
  });
});
