import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { DEFAULTS } from '../../bridge/index.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';
import { connectFakePage, HANG, type FakePage } from '../helpers/fake-page.js';
import { internals, leftovers } from '../helpers/internals.js';

const FRAME_LIMIT = 64 * 1024;

/** Opens a raw page socket and collects what the bridge says until it closes. */
async function rawPage(bridgeUrl: string): Promise<{ ws: WebSocket; messages: any[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${bridgeUrl.replace(/^http/, 'ws')}/v1/ws`);
  ws.on('error', () => {});
  const messages: any[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const closed = once(ws, 'close').then(([code]) => code as number);
  await once(ws, 'open');
  return { ws, messages, closed };
}

describe('a page sending frames over maxFrameBytes', () => {
  /** A page that got a call, then sends an oversize frame; `unresponsive` also stops it reading. */
  async function oversize(page: FakePage, unresponsive: boolean): Promise<void> {
    page.sendRaw(JSON.stringify({ type: 'update', title: 'x'.repeat(FRAME_LIMIT + 1) }));
    // A paused socket never reads the bridge's close frame, so it never completes the close
    // handshake, as a wedged or hostile page would.
    if (unresponsive) (page.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  for (const unresponsive of [false, true]) {
    test(`is cut off and its call moves to another page at once (${unresponsive ? 'page ignores the close' : 'page answers the close'})`, async () => {
      const bridge = await startTestBridge({ maxFrameBytes: FRAME_LIMIT });
      const big = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => HANG } });
      try {
        const invoked = big.next('invoke');
        // The deadline is shorter than three heartbeats (15 s), so only an immediate failover passes.
        const pending = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'work', timeoutMs: 10_000 });
        await invoked;
        const good = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => 'from the good page' } });
        const bystander = await connectFakePage({ bridgeUrl: bridge.url, group: 'other', handlers: { ping: () => 'pong' } });
        const closed = once(big.ws, 'close');
        await oversize(big, unresponsive);
        const r = await pending;
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.result, 'from the good page');
        assert.equal(r.body.clientId, good.clientId);
        assert.deepEqual(bridge.clients('g').map((c) => c.id), [good.clientId]);
        assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'other', action: 'ping' })).body.result, 'pong');
        if (!unresponsive) assert.equal((await closed)[0], 1009);
        await good.close();
        await bystander.close();
      } finally {
        big.ws.terminate();
        await bridge.close();
      }
    });
  }

  test('fails its call with CLIENT_DISCONNECTED at once when retry is off', async () => {
    const bridge = await startTestBridge({ maxFrameBytes: FRAME_LIMIT });
    const big = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => HANG } });
    const other = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { work: () => 'other' } });
    try {
      const invoked = big.next('invoke');
      const pending = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'work', clientId: big.clientId, retry: false, timeoutMs: 10_000 });
      await invoked;
      await oversize(big, true);
      const r = await pending;
      assert.equal(r.status, 502);
      assert.equal(r.body.error.code, 'CLIENT_DISCONNECTED');
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'work' })).body.result, 'other');
    } finally {
      big.ws.terminate();
      await other.close();
      await bridge.close();
    }
  });
});

describe('a page registering thousands of functions', () => {
  const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `fn-${i}`);

  test(`may register up to maxActionsPerClient (${DEFAULTS.maxActionsPerClient}) and each one is callable`, async () => {
    const bridge = await startTestBridge();
    const handlers = Object.fromEntries(names(DEFAULTS.maxActionsPerClient).map((n) => [n, () => n]));
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'many', handlers });
    try {
      assert.equal(bridge.clients('many')[0]!.actions.length, DEFAULTS.maxActionsPerClient);
      const last = `fn-${DEFAULTS.maxActionsPerClient - 1}`;
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'many', action: last })).body.result, last);
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('a hello with more is refused with a coded error and close code 4400, and the page is not listed', async () => {
    const bridge = await startTestBridge();
    try {
      const page = await rawPage(bridge.url);
      page.ws.send(JSON.stringify({ type: 'hello', v: 1, group: 'many', url: '', title: '', actions: names(5_000) }));
      assert.equal(await page.closed, 4400);
      assert.equal(page.messages.length, 1);
      assert.equal(page.messages[0].type, 'error');
      assert.equal(page.messages[0].code, 'BAD_FRAME');
      assert.match(page.messages[0].message, /actions: at most 1000 actions, got 5000/);
      assert.equal(bridge.clients().length, 0);
    } finally {
      await bridge.close();
    }
  });

  test('an update with more is refused with BAD_FRAME and the page keeps its functions and its connection', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'many', handlers: { keep: () => 'kept' } });
    try {
      const refused = page.next('error');
      page.sendRaw(JSON.stringify({ type: 'update', actions: names(5_000) }));
      const error = await refused;
      assert.equal(error.code, 'BAD_FRAME');
      assert.match(error.message, /actions: at most 1000 actions, got 5000/);
      assert.deepEqual(bridge.clients('many')[0]!.actions, ['keep']);
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'many', action: 'keep' })).body.result, 'kept');
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('any other invalid hello is refused with 4400 too (4426 when the version differs) instead of waiting for the hello timeout', async () => {
    const bridge = await startTestBridge({ helloTimeoutMs: 600_000 });
    try {
      const cases: Array<[unknown, number, string, RegExp]> = [
        [{ type: 'hello', v: 1, group: 'bad group', url: '', title: '', actions: [] }, 4400, 'BAD_FRAME', /group: .*not a valid group name/],
        [{ type: 'hello', v: 1, group: 'g', url: 5, title: '', actions: [] }, 4400, 'BAD_FRAME', /url: expected string, got number/],
        [{ type: 'hello', v: 1, group: 'g', url: '', title: '', actions: ['$reserved'] }, 4400, 'BAD_FRAME', /actions\[0\]/],
        // Quoted in the close reason, which ws refuses (throws) beyond 123 bytes: it must be cut, not crash the bridge.
        [{ type: 'hello', v: 1, group: '€'.repeat(80), url: '', title: '', actions: [] }, 4400, 'BAD_FRAME', /group: .*not a valid group name/],
        [{ type: 'hello', v: 2, group: 'g', url: '', title: '', actions: 'new shape' }, 4426, 'PROTOCOL_MISMATCH', /protocol 2/],
      ];
      for (const [hello, code, errorCode, message] of cases) {
        const page = await rawPage(bridge.url);
        page.ws.send(JSON.stringify(hello));
        assert.equal(await page.closed, code, JSON.stringify(hello));
        assert.equal(page.messages[0].code, errorCode);
        assert.match(page.messages[0].message, message);
      }
    } finally {
      await bridge.close();
    }
  });
});

describe('many pages in many groups', () => {
  test('are listed per group, and each group is freed as soon as its last page leaves', async () => {
    const bridge = await startTestBridge();
    const GROUPS = 100;
    const PER_GROUP = 3;
    const pages: FakePage[][] = [];
    try {
      for (let g = 0; g < GROUPS; g++) {
        pages.push(await Promise.all(Array.from({ length: PER_GROUP }, () => connectFakePage({ bridgeUrl: bridge.url, group: `grp-${g}`, handlers: { whoami: (_a, m) => m.action } }))));
      }
      const all = await getJson(`${bridge.url}/v1/clients`);
      assert.equal(all.body.clients.length, GROUPS * PER_GROUP);
      assert.equal(internals(bridge).registry.groupCount, GROUPS);
      const one = await getJson(`${bridge.url}/v1/clients?group=grp-7`);
      assert.deepEqual(one.body.clients.map((c: any) => c.id).sort(), pages[7]!.map((p) => p.clientId).sort());

      await Promise.all(pages[0]!.map((p) => p.close()));
      await until(() => internals(bridge).registry.groupCount === GROUPS - 1, 'group grp-0 to be freed');
      assert.equal((await getJson(`${bridge.url}/v1/clients?group=grp-0`)).body.clients.length, 0);
      const gone = await postJson(`${bridge.url}/v1/call`, { group: 'grp-0', action: 'whoami' });
      assert.equal(gone.body.error.code, 'NO_CLIENT');
      assert.equal((await postJson(`${bridge.url}/v1/call`, { group: 'grp-1', action: 'whoami' })).body.result, 'whoami');

      await Promise.all(pages.flat().map((p) => p.close()));
      await until(() => bridge.clients().length === 0, 'every page to leave');
      assert.deepEqual(leftovers(bridge), { inFlight: 0, waiting: 0, deadlines: 0, clients: 0, groups: 0, queues: 0 });
    } finally {
      await Promise.all(pages.flat().map((p) => p.close()));
      await bridge.close();
    }
  });
});
