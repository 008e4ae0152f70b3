/**
 * Bounded work for whatever a page or a caller sends: updates applied once per frame, wait queues
 * per group, refused bodies not read to their end, deliberate HTTP timeouts, and decoded values
 * whose keys stay data.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { getJson, postJson, until } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { HANG } from '../helpers/fake-page.js';
import { internals } from '../helpers/internals.js';

const MiB = 1024 * 1024;

describe('a page flooding updates', () => {
  test('20,000 updates in one frame with 5,000 calls queued: applied in order, the queue pumped and observers told once', { timeout: 120_000 }, async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ maxInFlightPerClient: 1, queueTimeoutMs: 60_000 });
    const page = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { hold: () => HANG } });
    const { pending } = internals(bridge);
    const calls = Array.from({ length: 5_001 }, () => bridge.call('g', 'hold', [], { timeoutMs: 60_000 }).catch((error: { code?: string }) => error.code));
    await until(() => pending.waiting === 5_000, 'one call running, 5,000 queued', 60_000);
    let pumps = 0;
    const original = pending.onClientChanged.bind(pending);
    pending.onClientChanged = (client) => {
      pumps++;
      original(client);
    };
    const updates = Array.from({ length: 20_000 }, (_, i) => ({ type: 'update', actions: ['hold', `f${i % 7}`], title: `t${i}` }));
    page.sendRaw(JSON.stringify(updates));
    await until(() => bridge.clients('g')[0]?.title === 't19999', 'the last update to be applied');
    assert.equal(pumps, 1, 'one pump for the whole frame');
    assert.deepEqual(bridge.clients('g')[0]!.actions, ['f0', 'hold'], 'the last update wins');
    assert.equal(pending.waiting, 5_000);
    pending.onClientChanged = original;
    await page.close();
    // The running call failed with its page; the queued ones found no page left.
    for (const code of new Set(await Promise.all(calls))) assert.ok(code === 'CLIENT_DISCONNECTED' || code === 'NO_CLIENT', String(code));
  });
});

describe('wait queues', () => {
  test("are per group: one group's flood fills its own queue and another group's calls still wait their turn and succeed", async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ maxInFlightPerClient: 1, maxQueued: 10, queueTimeoutMs: 60_000 });
    const running: Array<() => void> = [];
    await use.page({ bridgeUrl: bridge.url, group: 'flood', handlers: { hold: () => HANG } });
    await use.page({ bridgeUrl: bridge.url, group: 'quiet', handlers: { work: () => new Promise((r) => running.push(() => r('done'))) } });
    const flood = Array.from({ length: 11 }, () => postJson(`${bridge.url}/v1/call`, { group: 'flood', action: 'hold', timeoutMs: 60_000 }));
    await until(() => internals(bridge).pending.waiting === 10, "the flood group's queue to fill");
    const over = await postJson(`${bridge.url}/v1/call`, { group: 'flood', action: 'hold' });
    assert.equal(over.status, 429);
    assert.match(over.body.error.message, /group "flood"'s wait queue is full \(10 calls, --max-queued\)/);
    // The quiet group: one call running, one more queued behind it, both served.
    const first = postJson(`${bridge.url}/v1/call`, { group: 'quiet', action: 'work' });
    await until(() => running.length === 1, 'the first quiet call to run');
    const second = postJson(`${bridge.url}/v1/call`, { group: 'quiet', action: 'work' });
    await until(() => internals(bridge).pending.waiting === 11, 'the second quiet call to queue');
    running[0]!();
    assert.equal((await first).body.result, 'done');
    await until(() => running.length === 2, 'the second quiet call to run');
    running[1]!();
    assert.equal((await second).body.result, 'done');
    void flood;
  });
});

/**
 * Sends a request head and then streams body bytes (up to `maxBytes`, then gives up itself);
 * resolves with what the server answered, how much was written, and whether the server ended it.
 */
function streamBody(port: number, head: string, chunk: Buffer, maxBytes: number): Promise<{ status: number | null; sent: number; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    let sent = 0;
    socket.on('error', () => {});
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      resolve({ status: match ? Number(match[1]) : null, sent, closedByServer: sent < maxBytes });
    });
    const pump = (): void => {
      while (!socket.destroyed && sent < maxBytes) {
        sent += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      if (sent >= maxBytes) socket.destroy();
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
  });
}

describe('refused bodies', () => {
  const chunk = Buffer.alloc(256 * 1024, 'x'.charCodeAt(0));
  const head = (port: number, path: string, length: string): string =>
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n${length}\r\n\r\n`;

  test('a body that keeps streaming after its 413 is not read to its end: the connection is cut after 64 MiB (the API and the JsRpc listener)', { timeout: 240_000 }, async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ maxBodyBytes: MiB, jsrpc: { port: 0 } });
    const jsrpcPort = Number(new URL(bridge.jsrpc!.url).port);
    for (const [port, path] of [[bridge.port, '/v1/call'], [jsrpcPort, '/go']] as const) {
      for (const length of ['content-length: 2147483648', 'transfer-encoding: chunked']) {
        const chunked = length.startsWith('transfer');
        const body = chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
        const r = await streamBody(port, head(port, path, length), body, 512 * MiB);
        assert.equal(r.status, 413, `${path} ${length}`);
        assert.ok(r.closedByServer, `${path} ${length}: the bridge closed the connection`);
        assert.ok(r.sent < 256 * MiB, `${path} ${length}: cut after ${r.sent} bytes, not read to the end`);
      }
    }
  });

  test('a slightly oversized body is read to its end, so the client sees the 413, and the connection serves the next request', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ maxBodyBytes: MiB });
    const big = await postJson(`${bridge.url}/v1/call`, JSON.stringify({ group: 'g', action: 'a', args: ['x'.repeat(3 * MiB)] }));
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal((await getJson(`${bridge.url}/health`)).status, 200);
  });
});

describe('HTTP timeouts', () => {
  test('a client that trickles its headers is cut off after headersTimeoutMs', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ headersTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: bridge.port });
      let text = '';
      socket.on('error', () => {});
      socket.on('data', (d) => (text += d));
      socket.on('close', () => resolve(text));
      socket.write('GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n');
      // ...and never the blank line that ends the headers.
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  test('request headers over 16 KiB get 431 and the connection is closed', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: bridge.port });
      let text = '';
      socket.on('error', () => {});
      socket.on('data', (d) => (text += d));
      socket.on('close', () => resolve(text));
      socket.write(`GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-filler: ${'x'.repeat(20_000)}\r\n\r\n`);
    });
    assert.match(answer, /^HTTP\/1\.1 431 /);
  });

  test('requestTimeoutMs bounds receiving a request, not waiting for its answer: a call longer than it succeeds', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge({ headersTimeoutMs: 1_000, requestTimeoutMs: 1_000 });
    await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { slow: () => new Promise((r) => setTimeout(() => r('late but fine'), 2_500)) } });
    const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'slow' });
    assert.equal(r.status, 200);
    assert.equal(r.body.result, 'late but fine');
  });
});

describe('decoded values', () => {
  test('"__proto__" in a page result reaches a Node caller as an own key, not as a prototype', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const page = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: {} });
    page.ws.removeAllListeners('message');
    page.ws.on('message', (data) => {
      const parsed = JSON.parse(String(data));
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if (m.type === 'invoke') page.sendRaw(`{"type":"result","id":"${m.id}","ok":true,"value":{"__proto__":{"isAdmin":true},"name":"x"}}`);
      }
    });
    await until(() => bridge.clients('g').length === 1, 'the page');
    page.sendRaw(JSON.stringify({ type: 'update', actions: ['proto'] }));
    await until(() => bridge.clients('g')[0]!.actions.includes('proto'), 'the update');
    const value = (await bridge.call('g', 'proto')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.equal(value.isAdmin, undefined);
    assert.deepEqual(Object.keys(value), ['__proto__', 'name']);
  });
});
