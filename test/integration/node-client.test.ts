/** pagecall/client against a real bridge on port 0 and scripted pages speaking the protocol. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { connect, ClientFailure, NO_RETRY, PagecallError, type PagecallClient, type RetryEvent } from '../../clients/node/index.js';
import { startTestBridge, until } from '../helpers/bridge.js';
import { HANG, connectFakePage, type FakePage } from '../helpers/fake-page.js';
import { startReconnectingPage } from '../helpers/reconnecting-page.js';

const TOKEN = 'node-client-test-token-0123';

/** Resolves with the first error the promise rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/** Counts the TCP connections a bridge accepts. */
function countConnections(bridge: Bridge): { count: number } {
  const counter = { count: 0 };
  (bridge as unknown as { server: Server }).server.on('connection', () => counter.count++);
  return counter;
}

describe('pagecall/client', () => {
  let bridge: Bridge;
  let page: FakePage;
  let client: PagecallClient;
  const released: Array<() => void> = [];

  before(async () => {
    bridge = await startTestBridge({ token: TOKEN, maxBatch: 20 });
    page = await connectFakePage({
      bridgeUrl: bridge.url,
      token: TOKEN,
      group: 'g',
      handlers: {
        echo: (args) => args,
        double: ([n]) => {
          if ((n as number) < 0) throw new RangeError(`negative: ${n}`);
          return (n as number) * 2;
        },
        fail: ([message]) => {
          throw new TypeError(String(message));
        },
        hang: () => HANG,
        hold: () => new Promise((resolve) => released.push(() => resolve('released'))),
        malformed: () => ({ $bytes: 5 }),
      },
    });
    client = connect({ url: bridge.url, token: TOKEN });
  });
  after(async () => {
    client?.close();
    await page?.close();
    await bridge?.close();
  });

  test('values round-trip through the codec: bytes, bigint, Date, Map, Set, undefined, special numbers, look-alikes', async () => {
    const values = [
      new Uint8Array([0, 1, 255]),
      2n ** 64n + 1n,
      new Date('2026-01-02T03:04:05.678Z'),
      new Map<unknown, unknown>([[1, 'one'], ['k', new Set([new Uint8Array([9])])]]),
      new Set(['a', 2]),
      undefined,
      Number.NaN,
      -0,
      Number.NEGATIVE_INFINITY,
      { $bytes: 'just a field' },
      { nested: [{ $undefined: true }, null] },
      'plain',
    ];
    assert.deepEqual(await client.call('g', 'echo', values), values);
  });

  test('a typed call resolves with the page result', async () => {
    const n = await client.call<number>('g', 'double', [21]);
    assert.equal(n, 42);
  });

  test('page errors reject with PAGE_ERROR carrying the page name, message and stack', async () => {
    const error = await rejection(client.call('g', 'fail', ['bad key']));
    assert.equal(error instanceof PagecallError, true);
    assert.equal(error.code, 'PAGE_ERROR');
    assert.equal(error.status, 502);
    assert.equal(error.retryable, false);
    assert.equal(error.data.name, 'TypeError');
    assert.equal(error.data.message, 'bad key');
    assert.match(error.data.stack, /TypeError: bad key/);
  });

  test('catalogue errors keep their code, status and data', async () => {
    const missing = await rejection(client.call('g', 'nope'));
    assert.equal(missing.code, 'ACTION_NOT_FOUND');
    assert.ok(missing.data.available.includes('echo'));
    const nobody = await rejection(client.call('empty', 'echo'));
    assert.equal(nobody.code, 'NO_CLIENT');
    assert.equal(nobody.retryable, true);
    const told = page.next('cancel');
    const late = await rejection(client.call('g', 'hang', [], { timeoutMs: 50 }));
    assert.equal(late.code, 'TIMEOUT');
    assert.equal((await told).reason, 'TIMEOUT');
    const bad = await rejection(client.call('not a group!', 'echo'));
    assert.equal(bad.code, 'BAD_REQUEST');
    assert.match(bad.message, /^group:/);
    const malformed = await rejection(client.call('g', 'malformed'));
    assert.equal(malformed.code, 'RESULT_NOT_SERIALIZABLE');
  });

  test('arguments that cannot be encoded are BAD_REQUEST before anything is sent', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const error = await rejection(client.call('g', 'echo', [1, cyclic]));
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, /^args\[1\]\.self: the value contains itself \(a cycle\)/);
  });

  test('a wrong token is UNAUTHORIZED', async () => {
    const other = connect({ url: bridge.url, token: 'wrong-token-0123456789' });
    try {
      assert.equal((await rejection(other.call('g', 'echo'))).code, 'UNAUTHORIZED');
    } finally {
      other.close();
    }
  });

  test('url and token come from PAGECALL_URL and PAGECALL_TOKEN', async () => {
    const saved = { url: process.env.PAGECALL_URL, token: process.env.PAGECALL_TOKEN };
    process.env.PAGECALL_URL = bridge.url;
    process.env.PAGECALL_TOKEN = TOKEN;
    const fromEnv = connect();
    try {
      assert.equal(fromEnv.url, bridge.url);
      assert.deepEqual(await fromEnv.call('g', 'echo', [1]), [1]);
    } finally {
      fromEnv.close();
      for (const [key, value] of [['PAGECALL_URL', saved.url], ['PAGECALL_TOKEN', saved.token]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('serial calls reuse one keep-alive connection', async () => {
    const connections = countConnections(bridge);
    const fresh = connect({ url: bridge.url, token: TOKEN });
    try {
      for (let i = 0; i < 20; i++) assert.deepEqual(await fresh.call('g', 'echo', [i]), [i]);
      assert.equal(connections.count, 1);
    } finally {
      fresh.close();
    }
  });

  test('aborting a call rejects it with CANCELLED and the page is told to cancel it', async () => {
    const controller = new AbortController();
    const running = client.call('g', 'hang', [], { signal: controller.signal });
    const invoke = await page.next('invoke');
    const cancel = page.next('cancel');
    controller.abort(new Error('user gave up'));
    const error = await rejection(running);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.cause.message, 'user gave up');
    const told = await cancel;
    assert.equal(told.id, invoke.id);
    assert.equal(told.reason, 'CANCELLED');
    const already = await rejection(client.call('g', 'echo', [], { signal: AbortSignal.abort() }));
    assert.equal(already.code, 'CANCELLED');
  });

  test('batch returns results in order, one request per chunk of at most the bridge max batch', async () => {
    const connections = countConnections(bridge);
    const n = 45;
    assert.deepEqual(await client.batch('g', 'double', Array.from({ length: n }, (_, i) => [i])), Array.from({ length: n }, (_, i) => i * 2));
    assert.deepEqual(await client.batch('g', 'double', Array.from({ length: 7 }, (_, i) => [i]), { chunkSize: 3 }), [0, 2, 4, 6, 8, 10, 12]);
    assert.ok(connections.count <= 1, 'chunks reuse the connection');
    assert.deepEqual(await client.batch('g', 'echo', []), []);
  });

  test('batchSettled returns each failure in its place; batch throws the first with every result', async () => {
    const settled = await client.batchSettled('g', 'double', [[1], [-2], [3]]);
    assert.deepEqual(settled[0], { ok: true, value: 2 });
    assert.equal(settled[1]!.ok, false);
    assert.equal((settled[1] as { error: PagecallError }).error.code, 'PAGE_ERROR');
    assert.deepEqual(settled[2], { ok: true, value: 6 });
    const error = await rejection(client.batch('g', 'double', Array.from({ length: 30 }, (_, i) => [i === 25 ? -1 : i])));
    assert.equal(error.code, 'PAGE_ERROR');
    assert.equal(error.batchIndex, 25);
    assert.equal(error.batchResults.length, 30);
    assert.deepEqual(error.batchResults[29], { ok: true, value: 58 });
  });

  test('clients, waitForAction, health and kick', async () => {
    const listed = await client.clients('g');
    assert.deepEqual(listed.map((c) => c.id), [page.clientId]);
    assert.ok(listed[0]!.actions.includes('double'));
    assert.equal((await client.waitForAction('g', 'echo')).id, page.clientId);
    assert.equal((await rejection(client.waitForAction('g', 'never', { timeoutMs: 100 }))).code, 'NO_CLIENT');
    const health = await client.health();
    assert.equal(health.name, 'pagecall');
    assert.equal(health.tokenRequired, true);
    assert.equal((await rejection(client.kick('no-such-page'))).code, 'CLIENT_NOT_FOUND');
    assert.equal((await rejection(client.eval('g', '1'))).code, 'EVAL_DISABLED');
  });

  test('OVERLOADED is retried after Retry-After; with retries off it rejects with retryAfterSeconds', async () => {
    const tight = await startTestBridge({ maxInFlightPerClient: 1, queueTimeoutMs: 50 });
    const busy = await connectFakePage({ bridgeUrl: tight.url, group: 't', handlers: { hold: () => new Promise((resolve) => released.push(() => resolve('released'))), echo: (args) => args } });
    const retries: RetryEvent[] = [];
    let onRetry: () => void = () => {};
    const retried = new Promise<void>((resolve) => (onRetry = resolve));
    const tc = connect({ url: tight.url, onRetry: (event) => { retries.push(event); onRetry(); } });
    try {
      const holding = tc.call('t', 'hold');
      await busy.next('invoke');
      const refused = await rejection(tc.call('t', 'echo', [1], { retryPolicy: NO_RETRY }));
      assert.equal(refused.code, 'OVERLOADED');
      assert.equal(refused.data.retryAfterSeconds, 1);
      const waiting = tc.call('t', 'echo', ['after']);
      await retried;
      assert.equal(retries[0]!.error.code, 'OVERLOADED');
      assert.ok(retries[0]!.delayMs >= 1000);
      for (const release of released.splice(0)) release();
      assert.equal(await holding, 'released');
      assert.deepEqual(await waiting, ['after']);
    } finally {
      tc.close();
      await busy.close();
      await tight.close();
    }
  });

  test('nothing listening is BRIDGE_UNAVAILABLE (not sent), and a server that is not a bridge is BAD_RESPONSE', async () => {
    const nowhere = connect({ url: 'http://127.0.0.1:9', retryPolicy: NO_RETRY });
    const down = await rejection(nowhere.call('g', 'echo'));
    assert.ok(down instanceof ClientFailure);
    assert.equal(down.code, 'BRIDGE_UNAVAILABLE');
    assert.equal(down.sent, false);
    assert.equal(down.reason, 'refused');
    nowhere.close();
    const other = createServer((_req, res) => res.end('<html>hello</html>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const wrong = connect({ url: `http://127.0.0.1:${(other.address() as AddressInfo).port}` });
    try {
      const error = await rejection(wrong.call('g', 'echo'));
      assert.equal(error.code, 'BAD_RESPONSE');
      assert.match(error.message, /not a pagecall bridge/);
    } finally {
      wrong.close();
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  test('a call made while the bridge restarts waits for it and for its page to come back', async () => {
    const first = await startTestBridge();
    const port = first.port;
    const restarting = await startReconnectingPage({ bridgeUrl: first.url, group: 'r', clientId: 'page-r', handlers: { echo: (args) => args } });
    let second: Bridge | undefined;
    const events: RetryEvent[] = [];
    let sawRefusal: () => void = () => {};
    const refusedOnce = new Promise<void>((resolve) => (sawRefusal = resolve));
    const rc = connect({ url: first.url, onRetry: (event) => { events.push(event); if (event.error.code === 'BRIDGE_UNAVAILABLE') sawRefusal(); } });
    try {
      assert.deepEqual(await rc.call('r', 'echo', [1]), [1]);
      await first.close(0);
      // The kept-alive socket the old bridge closed must be seen closed before the next call, or that
      // call fails after sending (and is not retried: it might have run).
      const agent = (rc as unknown as { endpoint: { agent: { freeSockets: Record<string, unknown[]> } } }).endpoint.agent;
      await until(() => Object.values(agent.freeSockets).every((list) => list.length === 0), 'the client to see its idle socket closed');
      const during = rc.call('r', 'echo', [2]);
      await refusedOnce;
      second = await startTestBridge({ port });
      assert.deepEqual(await during, [2]);
      assert.ok(events.some((e) => e.error.code === 'BRIDGE_UNAVAILABLE'));
      // With retries off, a stopped bridge is reported at once.
      await second.close(0);
      const off = await rejection(rc.call('r', 'echo', [3], { retryPolicy: NO_RETRY }));
      assert.equal(off.code, 'BRIDGE_UNAVAILABLE');
    } finally {
      rc.close();
      await restarting.close();
      await second?.close();
      await first.close();
    }
  });

  test('many concurrent calls on one client each get their own result', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call('g', 'echo', [i, new Uint8Array([i & 255])])));
    results.forEach((r, i) => assert.deepEqual(r, [i, new Uint8Array([i & 255])]));
  });
});
