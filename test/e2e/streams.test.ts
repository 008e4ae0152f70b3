/**
 * Streams end to end: real headless Chromium running the built injector (as an init script, the way
 * the launcher loads it, or pasted into a loaded page), a test site whose WebSocket pushes binary
 * frames, and subscribers of GET /v1/stream.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WebSocketServer } from 'ws';
import type { Bridge } from '../../bridge/index.js';
import { injectorScript } from '../../bridge/injector-script.js';
import { launchTestBrowser } from '../helpers/browser.js';
import { startTestBridge, until } from '../helpers/bridge.js';
import { internals } from '../helpers/internals.js';
import { openStream, type StreamEntry, type StreamReader } from '../helpers/stream-reader.js';

/** A frame of the test feed: marker, sequence number (2 bytes), a corrupt flag, then UTF-8 text. */
function frame(seq: number): Buffer {
  const text = Buffer.from(`frame ${seq} ✓`);
  return Buffer.concat([Buffer.from([0xf0, seq >> 8, seq & 0xff, seq % 7 === 3 ? 1 : 0]), text]);
}

/**
 * The decoder a hook script installs: what a site's bundle would do with a frame. It names the
 * socket (a or b, from its URL) and the frame's sequence number in what it returns and throws, and
 * scribbles over its input.
 */
const DECODE = `(data, info) => {
  const socket = info.url.includes('b=1') ? 'b' : 'a';
  if (typeof data === 'string') throw new TypeError('not a feed frame: seq ' + /\\d+/.exec(data)[0] + ' on ' + socket);
  const bytes = new Uint8Array(data);
  const seq = (bytes[1] << 8) | bytes[2];
  const corrupt = bytes[3] === 1;
  const text = new TextDecoder().decode(bytes.subarray(4));
  bytes.fill(0);
  if (corrupt) throw new RangeError('corrupt frame: seq ' + seq + ' on ' + socket);
  return { seq, text, socket, direction: info.direction };
}`;

/** A page with its own sockets: a Blob one and an ArrayBuffer one, each with onmessage and a listener; it logs what its handlers see. */
const ROOM_PAGE = `<!doctype html><title>room</title><script>
window.log = [];
const feed = (n) => 'ws://' + location.host + '/feed?n=' + n;
function describe(data) {
  if (typeof data === 'string') return ['text', data];
  if (data instanceof Blob) return ['blob', data.size, data.type];
  if (data instanceof ArrayBuffer) return ['arraybuffer', Array.from(new Uint8Array(data))];
  return ['other', String(data)];
}
const a = new WebSocket(feed(30));
let lastA;
a.onmessage = (ev) => { lastA = ev; window.log.push(['a.onmessage', ev.isTrusted, ev.type, ev.origin === location.origin.replace('http', 'ws'), ...describe(ev.data)]); };
a.addEventListener('message', (ev) => { window.log.push(['a.listener', ev === lastA, ev.data === lastA.data, ev.target === a]); });
const b = new WebSocket(feed(30) + '&b=1');
b.binaryType = 'arraybuffer';
b.addEventListener('message', (ev) => {
  window.log.push(['b.listener', ...describe(ev.data)]);
  new Uint8Array(ev.data).fill(7);   // the page decrypts in place: its tap saw the bytes before this
});
b.onmessage = (ev) => { window.log.push(['b.onmessage', Array.from(new Uint8Array(ev.data)).every((x) => x === 7)]); };
class Sub extends WebSocket {}
const sub = new Sub(feed(0));
window.checks = {
  instance: a instanceof WebSocket,
  constructor: a.constructor === WebSocket,
  prototype: Object.getPrototypeOf(a) === WebSocket.prototype,
  protoConstructor: WebSocket.prototype.constructor === WebSocket,
  statics: [WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED],
  name: WebSocket.name,
  length: WebSocket.length,
  type: typeof WebSocket,
  native: /\\[native code\\]/.test(Function.prototype.toString.call(WebSocket)),
  ownKeys: Object.getOwnPropertyNames(a),
  sendOwn: Object.prototype.hasOwnProperty.call(a, 'send'),
  sendName: WebSocket.prototype.send.name,
  subclass: sub instanceof Sub && sub instanceof WebSocket && Object.getPrototypeOf(sub) === Sub.prototype,
  withoutNew: (() => { try { WebSocket('ws://x'); return 'no error'; } catch (e) { return e.constructor.name; } })(),
  badUrl: (() => { try { new WebSocket('nope'); return 'no error'; } catch (e) { return e.name; } })(),
};
</script>`;

const EXPECTED_LOG_LENGTH = 30 * 2 + 30 * 2;

describe('streams in real Chromium', () => {
  let bridge: Bridge;
  let browser: Browser;
  let server: Server;
  let siteUrl: string;

  before(async () => {
    bridge = await startTestBridge({ heartbeatMs: 1_000, streamHistory: 200, streamSubscriberBytes: 128 * 1024 });
    const wss = new WebSocketServer({ noServer: true });
    const pages: Record<string, string> = {
      '/room': ROOM_PAGE,
      '/emit': '<!doctype html><title>emit</title><p>emitter',
      // A live site: its socket opened at load, a heartbeat every 100 ms, frames every 30 ms.
      '/live': `<!doctype html><title>live</title><script>
        window.got = 0;
        const ws = new WebSocket('ws://' + location.host + '/feed?every=30');
        ws.binaryType = 'arraybuffer';
        ws.onmessage = () => { window.got++; };
        setInterval(() => { if (ws.readyState === 1) ws.send('ping'); }, 100);
        window.openLater = () => { const later = new WebSocket('ws://' + location.host + '/feed?every=30&later=1'); later.binaryType = 'arraybuffer'; return true; };
        window.hidden = { socket: null };
        window.openHidden = () => { window.hidden.socket = new WebSocket('ws://' + location.host + '/feed?every=30&quiet=1'); return true; };
      </script>`,
    };
    server = createServer((req, res) => {
      const body = pages[(req.url ?? '/').split('?')[0]!];
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => {});
        const every = Number(url.searchParams.get('every') ?? 0);
        if (every > 0) {
          let seq = 0;
          const timer = setInterval(() => ws.send(frame(seq++)), every);
          ws.on('close', () => clearInterval(timer));
          return;
        }
        const n = Number(url.searchParams.get('n') ?? 0);
        for (let seq = 0; seq < n; seq++) ws.send(seq % 5 === 4 ? `text ${seq} ✓` : frame(seq));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await bridge?.close();
  });

  /** A context whose pages get the injector (and `hooks`) before their scripts, as the launcher does. */
  async function injectedContext(group: string, hooks = ''): Promise<BrowserContext> {
    const context = await browser.newContext();
    await context.addInitScript({ content: injectorScript({ bridgeUrl: bridge.url, group, key: bridge.pageKey }) });
    if (hooks) await context.addInitScript({ content: hooks });
    return context;
  }

  async function openIn(context: BrowserContext, path: string, group: string): Promise<{ page: Page; clientId: string }> {
    const page = await context.newPage();
    const before = new Set(bridge.clients(group).map((c) => c.id));
    await page.goto(siteUrl + path);
    const joined = await until(() => bridge.clients(group).find((c) => !before.has(c.id) && c.url.startsWith(siteUrl)), `a page in ${group}`);
    return { page, clientId: joined.id };
  }

  async function subscribe(group: string, topic: string, options: Parameters<typeof openStream>[3] = {}): Promise<StreamReader> {
    return openStream(bridge.url, group, topic, options);
  }

  const eventsOf = (entries: StreamEntry[]): StreamEntry[] => entries.filter((e) => e.type === 'event');

  test('values a page emits arrive in order, typed values in their wire form', async () => {
    const context = await injectedContext('emitters');
    const reader = await subscribe('emitters', 'seq', { format: 'ndjson' });
    try {
      const { page, clientId } = await openIn(context, '/emit', 'emitters');
      const total = 2_000;
      // Over many tasks, so the page sends many batches.
      await page.evaluate(async (n) => {
        for (let i = 0; i < n; i += 100) {
          for (let j = i; j < i + 100; j++) (globalThis as any).pagecall.emit('seq', { i: j, big: BigInt(j) * 10n ** 20n, bytes: new Uint8Array([j & 255]), at: new Date(j) });
          await new Promise((r) => setTimeout(r, 0));
        }
      }, total);
      const got = await reader.waitFor(total, undefined, 30_000);
      assert.deepEqual(got.map((e) => e.value.i), Array.from({ length: total }, (_, i) => i));
      assert.deepEqual(got.map((e) => e.seq), Array.from({ length: total }, (_, i) => i + 1));
      assert.ok(got.every((e) => e.type === 'event' && e.clientId === clientId && e.topic === 'seq'));
      assert.deepEqual(got[7]!.value, { i: 7, big: { $bigint: '700000000000000000000' }, bytes: { $bytes: 'Bw==' }, at: { $date: '1970-01-01T00:00:00.007Z' } });
      const stats = await page.evaluate(() => (globalThis as any).pagecall.status().events);
      assert.deepEqual(stats, { emitted: total, sent: total, dropped: 0, buffered: 0 });
      const refused = await page.evaluate(() => {
        const errors: string[] = [];
        for (const [topic, value] of [['bad topic', 1], ['ok', (globalThis as any).document.body], ['ok', { f: Symbol('s') }], ['ok', [() => 1]]] as const) {
          try {
            (globalThis as any).pagecall.emit(topic, value);
          } catch (e) {
            errors.push(`${(e as Error).name}: ${(e as Error).message}`);
          }
        }
        return errors;
      });
      // A symbol held by an object property is dropped, as JSON.stringify drops it: that emit goes through.
      assert.deepEqual(refused, [
        'TypeError: pagecall.emit: "bad topic" is not a valid topic name (letters, digits and _ . : / -, at most 128 characters, not starting with $ or another symbol)',
        'TypeError: pagecall.emit("ok"): value: a DOM node (HTMLBodyElement) cannot be sent; send data taken from it (textContent, getAttribute(...), outerHTML)',
        'TypeError: pagecall.emit("ok"): value[0]: a function cannot be sent',
      ]);
    } finally {
      await reader.close();
      await context.close();
    }
  });

  test('a page that emits more than its queue holds drops the oldest and counts them; subscribers see the count as a gap', async () => {
    const context = await injectedContext('flood');
    const reader = await subscribe('flood', 'flood', { format: 'ndjson' });
    try {
      const { page } = await openIn(context, '/emit', 'flood');
      // One task, so nothing can leave before the queue's bound is reached.
      const during = await page.evaluate(() => {
        for (let i = 0; i < 150_000; i++) (globalThis as any).pagecall.emit('flood', i);
        return (globalThis as any).pagecall.status().events;
      });
      assert.deepEqual(during, { emitted: 150_000, sent: 0, dropped: 50_000, buffered: 100_000 });
      const [gap, first] = await reader.waitFor(2, undefined, 30_000);
      assert.deepEqual([gap!.type, gap!.reason, gap!.missed], ['gap', 'page-dropped', 50_000]);
      assert.deepEqual([first!.type, first!.value], ['event', 50_000]);
    } finally {
      await reader.close();
      await context.close();
    }
  });

  test('a tap publishes the page\'s own socket traffic decoded, with decode errors as error events in their place', async () => {
    const context = await injectedContext('rooms', `pagecall.tap.websocket(/\\/feed/, { topic: 'frames', decode: ${DECODE} });`);
    const reader = await subscribe('rooms', 'frames', { format: 'ndjson' });
    try {
      const { page } = await openIn(context, '/room', 'rooms');
      // Two sockets of 30 messages each: per socket, 6 text frames and 3 corrupt ones fail this decoder.
      const got = await reader.waitFor(60, undefined, 30_000);
      const order: Record<string, number[]> = { a: [], b: [] };
      for (const e of got) {
        if (e.type === 'event') {
          assert.equal(e.value.text, `frame ${e.value.seq} ✓`, 'decoded from the bytes the page received, before the page wrote over them');
          order[e.value.socket]!.push(e.value.seq);
        } else {
          assert.equal(e.type, 'error');
          const [, seq, socket] = /seq (\d+) on (a|b)$/.exec(e.error!.message)!;
          assert.equal(e.error!.name, Number(seq) % 5 === 4 ? 'TypeError' : 'RangeError');
          assert.match(e.error!.stack!, /Error: /);
          order[socket!]!.push(Number(seq));
        }
      }
      // Every message of each socket, in the order it arrived, errors in their places.
      const all = Array.from({ length: 30 }, (_, i) => i);
      assert.deepEqual(order, { a: all, b: all });
      assert.equal(got.filter((e) => e.type === 'error' && e.error!.name === 'RangeError').length, 6);
      const log = await page.evaluate(() => (globalThis as any).log.length);
      assert.equal(log, EXPECTED_LOG_LENGTH);
    } finally {
      await reader.close();
      await context.close();
    }
  });

  test('the page\'s own handlers get exactly what they get without pagecall, even while decode throws and scribbles over its input', async () => {
    const runs: unknown[] = [];
    for (const withPagecall of [false, true]) {
      const context = withPagecall ? await injectedContext('compare', `pagecall.tap.websocket('/feed', { topic: 'all', decode: ${DECODE}, direction: 'both' });`) : await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${siteUrl}/room`);
        await page.waitForFunction((n) => (globalThis as any).log.length >= n, EXPECTED_LOG_LENGTH);
        runs.push(await page.evaluate(() => ({ log: (globalThis as any).log, checks: (globalThis as any).checks })));
      } finally {
        await context.close();
      }
    }
    assert.equal((runs[0] as any).log.length, EXPECTED_LOG_LENGTH);
    // Each socket's handlers in order; how the two sockets' messages interleave is up to the network.
    const bySocket = (run: any): Record<string, unknown[]> => ({
      a: run.log.filter((entry: string[]) => entry[0]!.startsWith('a.')),
      b: run.log.filter((entry: string[]) => entry[0]!.startsWith('b.')),
    });
    assert.deepEqual(bySocket(runs[1]), bySocket(runs[0]));
    assert.equal(bySocket(runs[0]).a!.length + bySocket(runs[0]).b!.length, EXPECTED_LOG_LENGTH);
    assert.deepEqual((runs[1] as any).checks, (runs[0] as any).checks);
    assert.deepEqual((runs[0] as any).checks.statics, [0, 1, 2, 3]);
  });

  test('raw taps publish text as strings and binary frames as bytes; direction both wraps them with their direction', async () => {
    const context = await injectedContext('raw', `pagecall.tap.websocket(/\\/feed\\?every/, { topic: 'raw', direction: 'both' });`);
    const reader = await subscribe('raw', 'raw', { format: 'ndjson' });
    try {
      await openIn(context, '/live', 'raw');
      const got = await reader.waitFor(3, (e) => e.value?.direction === 'out', 30_000);
      assert.deepEqual(got[0]!.value, { direction: 'out', data: 'ping' });
      const incoming = eventsOf(reader.entries).find((e) => e.value.direction === 'in')!;
      const bytes = Buffer.from(incoming.value.data.$bytes, 'base64');
      assert.equal(bytes[0], 0xf0);
      assert.match(bytes.subarray(4).toString(), /^frame \d+ ✓$/);
    } finally {
      await reader.close();
      await context.close();
    }
  });

  test('Last-Event-ID resumes a page\'s stream right after the last event seen', async () => {
    const context = await injectedContext('resume');
    try {
      const { page } = await openIn(context, '/emit', 'resume');
      const first = await subscribe('resume', 'n');
      await page.evaluate(() => { for (let i = 1; i <= 5; i++) (globalThis as any).pagecall.emit('n', i); });
      const seen = await first.waitFor(5);
      await first.close();
      await page.evaluate(() => { for (let i = 6; i <= 10; i++) (globalThis as any).pagecall.emit('n', i); });
      await until(() => bridge.clients('resume').length === 1 && page.evaluate(() => (globalThis as any).pagecall.status().events.sent === 10), 'the page to send them');
      const resumed = await subscribe('resume', 'n', { lastEventIdHeader: seen[2]!.id! });
      try {
        const got = await resumed.waitFor(7);
        assert.deepEqual(got.map((e) => e.value), [4, 5, 6, 7, 8, 9, 10]);
      } finally {
        await resumed.close();
      }
    } finally {
      await context.close();
    }
  });

  test('a slow subscriber beside a fast one: the fast one gets everything in order, the slow one a gap, the page is not held up', async () => {
    const context = await injectedContext('slow');
    const fast = await subscribe('slow', 'big', { format: 'ndjson' });
    const slow = await subscribe('slow', 'big', { format: 'sse' });
    slow.pause();
    try {
      const { page } = await openIn(context, '/emit', 'slow');
      let n = 0;
      let stopAt = Infinity;
      while (n < stopAt) {
        await page.evaluate((from) => {
          const filler = 'y'.repeat(20_000);
          for (let i = from; i < from + 20; i++) (globalThis as any).pagecall.emit('big', { i, filler });
        }, n);
        n += 20;
        await fast.waitFor(n, (e) => e.type === 'event', 30_000);
        const topic = internals(bridge).streams.summaries().find((t) => t.group === 'slow')!;
        if (stopAt === Infinity && topic.behind > 0) stopAt = n + 400;
        assert.ok(n < 50_000, 'the slow subscriber never fell behind');
      }
      assert.deepEqual(eventsOf(fast.entries).map((e) => e.value.i), Array.from({ length: n }, (_, i) => i));
      slow.resume();
      await slow.waitFor(1, (e) => e.type === 'event' && e.value.i === n - 1, 30_000);
      const gaps = slow.entries.filter((e) => e.type === 'gap');
      assert.ok(gaps.length > 0 && gaps.every((g) => g.reason === 'behind' && g.sse?.event === 'gap' && g.sse.id === undefined));
      const received = eventsOf(slow.entries).length;
      assert.equal(received + gaps.reduce((sum, g) => sum + g.missed!, 0), n);
      const stats = await page.evaluate(() => (globalThis as any).pagecall.status().events);
      assert.equal(stats.dropped, 0, 'the page never had to drop anything');
    } finally {
      await fast.close();
      await slow.close();
      await context.close();
    }
  });

  test('a page that reloads mid-stream keeps publishing under its id; subscribers see a gap marker, not an error', async () => {
    const context = await injectedContext('reload');
    const reader = await subscribe('reload', 'life', { format: 'ndjson' });
    try {
      const { page, clientId } = await openIn(context, '/emit', 'reload');
      await page.evaluate(() => (globalThis as any).pagecall.emit('life', 'before reload'));
      await reader.waitFor(1);
      await page.reload();
      await until(() => bridge.clients('reload').length === 1 && bridge.clients('reload')[0]!.id === clientId && page.evaluate(() => (globalThis as any).pagecall?.status().state === 'open'), 'the page to come back under its id');
      await page.evaluate(() => (globalThis as any).pagecall.emit('life', 'after reload'));
      const got = await reader.waitFor(3);
      assert.deepEqual(got.map((e) => [e.type, e.value ?? e.reason, e.clientId]), [['event', 'before reload', clientId], ['gap', 'page-reconnected', clientId], ['event', 'after reload', clientId]]);
      assert.ok(!reader.entries.some((e) => e.type === 'error'));
    } finally {
      await reader.close();
      await context.close();
    }
  });

  test('a pasted injector taps sockets opened after it, a socket opened before it at its next send, and a socket passed to it', async () => {
    const context = await browser.newContext();
    const readers = await Promise.all(['existing', 'later', 'given'].map((topic) => subscribe('pasted', topic, { format: 'ndjson' })));
    try {
      const page = await context.newPage();
      await page.goto(`${siteUrl}/live`);
      await page.evaluate(() => (globalThis as any).openHidden());
      await page.waitForFunction(() => (globalThis as any).got > 3);
      await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group: 'pasted', key: bridge.pageKey }));
      await until(() => bridge.clients('pasted').length === 1, 'the pasted page to join');
      await page.evaluate(`
        pagecall.tap.websocket(/every=30$/, { topic: 'existing', decode: ${DECODE} });
        pagecall.tap.websocket(hidden.socket, { topic: 'given', decode: ${DECODE} });
        openLater();
        pagecall.tap.websocket(/later=1$/, { topic: 'later', decode: ${DECODE} });
      `);
      const [existing, later, given] = readers as [StreamReader, StreamReader, StreamReader];
      await existing.waitFor(5, (e) => e.type === 'event', 30_000);
      await later.waitFor(5, (e) => e.type === 'event', 30_000);
      await given.waitFor(5, (e) => e.type === 'event', 30_000);
      // The socket opened before the paste was found when it sent a heartbeat: it joins mid-stream.
      const first = eventsOf(existing.entries)[0]!.value.seq;
      assert.ok(first > 3, `frames before the paste are not seen (first ${first})`);
      const got = await page.evaluate(() => (globalThis as any).got);
      assert.ok(got > first);
    } finally {
      await Promise.all(readers.map((r) => r.close()));
      await context.close();
    }
  });

  test('a stopped tap publishes nothing more and leaves the page\'s sockets alone', async () => {
    const context = await injectedContext('stop', `window.feedTap = pagecall.tap.websocket(/every/, { topic: 'f', decode: ${DECODE} });`);
    const reader = await subscribe('stop', 'f', { format: 'ndjson' });
    try {
      const { page } = await openIn(context, '/live', 'stop');
      await reader.waitFor(3, (e) => e.type === 'event');
      const stats = await page.evaluate(() => {
        const tap = (globalThis as any).feedTap;
        tap.stop();
        return tap.stats();
      });
      assert.equal(stats.sockets, 0);
      assert.ok(stats.published >= 3);
      // Everything the tap published before it stopped arrives; then frames keep coming to the page
      // and none is published. A marker emitted afterwards on the same topic closes the window.
      await reader.waitFor(stats.published, (e) => e.type === 'event');
      const got = await page.evaluate(() => (globalThis as any).got);
      await page.waitForFunction((n) => (globalThis as any).got > n + 5, got);
      await page.evaluate(() => (globalThis as any).pagecall.emit('f', 'marker'));
      await reader.waitFor(1, (e) => e.value === 'marker');
      assert.equal(eventsOf(reader.entries).length, stats.published + 1);
    } finally {
      await reader.close();
      await context.close();
    }
  });
});
