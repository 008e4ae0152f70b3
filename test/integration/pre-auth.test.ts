/**
 * Nothing a socket sends before it is admitted costs more than a few kilobytes: one frame of at most
 * 64 KiB, refused on its header when bigger; nesting refused by a byte scan before parsing; anything
 * but one hello closes the socket. A flood of 32 MiB `[[[[` frames leaves the bridge answering.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HELLO_BYTES } from '../../protocol/index.js';
import { getJson, postJson, until } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { internals } from '../helpers/internals.js';
import { openRawSocket } from '../helpers/raw-ws.js';

const MiB = 1024 * 1024;

test('a stranger announcing a frame over 64 KiB is refused on the header alone (1009): no payload is read', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  for (const length of [MAX_HELLO_BYTES + 1, 32 * MiB, 2 ** 40]) {
    const raw = await openRawSocket(bridge.url, 'https://evil.example');
    raw.header(length);
    // Not one payload byte follows: the bridge decides on the declared length.
    assert.equal(await raw.closed, 1009, `a frame of ${length} bytes`);
  }
  assert.equal(bridge.clients().length, 0);
});

test('a first frame of at most 64 KiB nested deeper than the limit is refused by the byte scan (4413), not parsed', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const raw = await openRawSocket(bridge.url);
  const deep = Buffer.from('['.repeat(MAX_HELLO_BYTES - 8));
  raw.header(deep.length);
  await raw.write(deep);
  assert.equal(await raw.closed, 4413);
});

test('a first frame that is not one hello closes the socket (4400); a refused stranger that keeps sending is cut off', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  for (const text of ['{"type":"pong","t":1}', 'not json', '[]', '42']) {
    const raw = await openRawSocket(bridge.url);
    const bytes = Buffer.from(text);
    raw.header(bytes.length);
    await raw.write(bytes);
    assert.equal(await raw.closed, 4400, text);
  }
  // Refused for having no key, it sends on: the bridge stops reading and drops the connection.
  const raw = await openRawSocket(bridge.url);
  const hello = Buffer.from(JSON.stringify({ type: 'hello', v: 1, group: 'g', url: '', title: '', actions: [] }));
  raw.header(hello.length);
  await raw.write(hello);
  const junk = Buffer.alloc(60_000, 'x'.charCodeAt(0));
  for (let i = 0; i < 50 && !raw.socket.destroyed; i++) {
    raw.header(junk.length, 0x2);
    await raw.write(junk);
  }
  await raw.closed;
  assert.equal(raw.socket.destroyed, true);
});

test('once welcomed, a page may send frames up to maxFrameBytes: the stranger limit is raised for it alone', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge({ maxFrameBytes: 4 * MiB });
  const page = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { big: () => 'y'.repeat(2 * MiB) } });
  assert.equal(page.welcome.maxFrameBytes, 4 * MiB);
  page.sendRaw(JSON.stringify({ type: 'update', title: `big ${'t'.repeat(MiB)}` }));
  await until(() => bridge.clients('g')[0]?.title.startsWith('big '), 'the 1 MiB update to be read');
  const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'big' });
  assert.equal(r.status, 200);
  assert.equal(r.body.result.length, 2 * MiB);
  // A stranger arriving now still gets the small limit.
  const raw = await openRawSocket(bridge.url);
  raw.header(MiB);
  assert.equal(await raw.closed, 1009);
  assert.equal(page.ws.readyState, page.ws.OPEN);
});

test('while strangers flood 32 MiB [[[[ frames before hello, /health and a real call keep answering and the bridge holds no flood in memory', { timeout: 300_000 }, async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const page = await use.page({ bridgeUrl: bridge.url, group: 'real', handlers: { echo: (args) => args } });
  // One buffer, written again and again: the flood itself holds 32 MiB, however long it runs.
  const flood = Buffer.alloc(32 * MiB, '['.charCodeAt(0));
  global.gc?.();
  const before = process.memoryUsage();
  let peak = 0;
  const sample = (): void => {
    const now = process.memoryUsage();
    peak = Math.max(peak, now.arrayBuffers - before.arrayBuffers, now.external - before.external);
  };
  const LANES = 6;
  const ROUNDS = 4;
  const codes: Array<number | null> = [];
  let flooding = true;
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    for (let round = 0; round < ROUNDS; round++) {
      const raw = await openRawSocket(bridge.url, `https://evil-${lane}.example`);
      raw.header(flood.length);
      void raw.write(flood);
      codes.push(await raw.closed);
    }
  });
  const answered = { health: 0, calls: 0 };
  const probe = (async () => {
    while (flooding) {
      const health = await getJson(`${bridge.url}/health`);
      assert.equal(health.status, 200);
      answered.health++;
      const call = await postJson(`${bridge.url}/v1/call`, { group: 'real', action: 'echo', args: [answered.calls] });
      assert.deepEqual(call.body.result, [answered.calls]);
      answered.calls++;
      sample();
    }
  })();
  try {
    await Promise.all(lanes);
  } finally {
    flooding = false;
  }
  await probe;
  sample();
  t.diagnostic(`${LANES * ROUNDS} frames of 32 MiB; /health answered ${answered.health} times, the call ${answered.calls} times; peak buffer growth ${(peak / MiB).toFixed(1)} MiB`);
  assert.deepEqual(codes, Array(LANES * ROUNDS).fill(1009));
  assert.ok(answered.health > 0 && answered.calls > 0);
  // Parsing (or even buffering) one of those frames would take 32 MiB and more; the bridge took none.
  assert.ok(peak < 32 * MiB, `buffers grew by ${(peak / MiB).toFixed(1)} MiB during the flood`);
  assert.equal(page.ws.readyState, page.ws.OPEN);
  // Every refused socket is gone from the bridge, with its handshake slot.
  await until(() => internals(bridge).hub.pendingHandshakes.sources === 0, 'the handshake slots to be given back');
  assert.deepEqual(internals(bridge).hub.pendingHandshakes, { waiting: 0, sources: 0, openPageSources: 0 });
});
