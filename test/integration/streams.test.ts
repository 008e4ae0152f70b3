/**
 * GET /v1/stream against a real bridge with scripted pages: the three formats, access rules, bad
 * requests, the per-topic history and resumes, the slow-subscriber policies, page reconnects, many
 * subscribers, and what the metrics and the dashboard say.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { getJson, statusOf, until } from '../helpers/bridge.js';
import { cleanupFor, type Cleanup } from '../helpers/cleanup.js';
import type { FakePage } from '../helpers/fake-page.js';
import { internals } from '../helpers/internals.js';
import { openStream, type StreamEntry, type StreamOptions, type StreamReader } from '../helpers/stream-reader.js';

const TOKEN = 'streams-test-token-0123456789';

async function setup(use: Cleanup, options: Parameters<Cleanup['bridge']>[0] = {}, group = 'room'): Promise<{ bridge: Bridge; page: FakePage }> {
  const bridge = await use.bridge(options);
  const page = await use.page({ bridgeUrl: bridge.url, group, key: bridge.pageKey, token: options.token });
  return { bridge, page };
}

function publish(page: FakePage, topic: string, items: unknown[], extra: Record<string, unknown> = {}): void {
  page.sendRaw(JSON.stringify({ type: 'events', topic, items, ...extra }));
}

function subscribe(use: Cleanup, bridge: Bridge, topic: string, options: StreamOptions = {}, group = 'room'): Promise<StreamReader> {
  return openStream(bridge.url, group, topic, options).then((reader) => use.add(reader, `a stream of ${topic}`));
}

const events = (entries: StreamEntry[]): StreamEntry[] => entries.filter((e) => e.type === 'event');
const values = (entries: StreamEntry[]): unknown[] => events(entries).map((e) => e.value);

describe('GET /v1/stream formats', () => {
  test('server-sent events: one event per value with its id; errors and gaps are named events', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const sse = await subscribe(use, bridge, 'chat');
    assert.equal(sse.status, 200);
    assert.match(String(sse.headers['content-type']), /^text\/event-stream/);
    assert.equal(sse.headers['cache-control'], 'no-store');
    publish(page, 'chat', [{ user: 'Ada', text: 'hi' }, { $bytes: 'AAEC' }], { errors: [{ at: 1, error: { name: 'SyntaxError', message: 'bad frame' } }], dropped: 2 });
    const got = await sse.waitFor(4);
    assert.deepEqual(got.map((e) => [e.type, e.sse?.event, e.seq]), [['gap', 'gap', 1], ['event', undefined, 2], ['error', 'page-error', 3], ['event', undefined, 4]]);
    for (const e of got) {
      assert.equal(e.sse?.id, e.id);
      assert.match(e.id!, new RegExp(`^[a-z0-9]+-${e.seq}$`));
      assert.equal(e.group, 'room');
      assert.equal(e.topic, 'chat');
      assert.equal(e.clientId, page.clientId);
      assert.ok(Math.abs(e.time - Date.now()) < 60_000);
    }
    assert.deepEqual(got[0]!.reason, 'page-dropped');
    assert.equal(got[0]!.missed, 2);
    assert.deepEqual(got[1]!.value, { user: 'Ada', text: 'hi' });
    assert.deepEqual(got[2]!.error, { name: 'SyntaxError', message: 'bad frame' });
    assert.deepEqual(got[3]!.value, { $bytes: 'AAEC' }, 'values keep their wire encoding');
    assert.ok(sse.raw.startsWith('retry: 2000\n\n'));
  });

  test('NDJSON by Accept header or format=ndjson: one JSON object a line', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const byAccept = await subscribe(use, bridge, 'chat', { format: 'ndjson' });
    const byQuery = await subscribe(use, bridge, 'chat', { query: { format: 'ndjson' } });
    assert.match(String(byAccept.headers['content-type']), /^application\/x-ndjson/);
    assert.match(String(byQuery.headers['content-type']), /^application\/x-ndjson/);
    publish(page, 'chat', [1, 'two', null]);
    for (const reader of [byAccept, byQuery]) {
      await reader.waitFor(3);
      assert.deepEqual(values(reader.entries), [1, 'two', null]);
      assert.ok(reader.raw.split('\n').filter(Boolean).every((line) => JSON.parse(line).type === 'event'));
    }
  });

  test('WebSocket on the same path: each message is a JSON array of entries', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const ws = await subscribe(use, bridge, 'chat', { format: 'ws' });
    assert.equal(ws.status, 101);
    publish(page, 'chat', ['a', 'b']);
    publish(page, 'chat', ['c']);
    await ws.waitFor(3);
    assert.deepEqual(values(ws.entries), ['a', 'b', 'c']);
    assert.deepEqual(ws.entries.map((e) => e.seq), [1, 2, 3]);
  });

  test('HEAD answers the stream headers and ends', async (t) => {
    const use = cleanupFor(t);
    const { bridge } = await setup(use);
    const res = await fetch(`${bridge.url}/v1/stream?group=room&topic=chat`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(internals(bridge).streams.subscribers, 0);
  });

  test('clientId= keeps one page\'s entries', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const other = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    const mine = await subscribe(use, bridge, 'chat', { clientId: page.clientId });
    const all = await subscribe(use, bridge, 'chat');
    publish(other, 'chat', ['theirs']);
    publish(page, 'chat', ['mine']);
    await all.waitFor(2);
    await mine.waitFor(1);
    assert.deepEqual(values(mine.entries), ['mine']);
    assert.deepEqual(mine.entries[0]!.seq, 2, 'sequence numbers are the topic\'s, not the page\'s');
  });

  test('topics are per group: another group\'s topic of the same name is another stream', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const elsewhere = await use.page({ bridgeUrl: bridge.url, group: 'other', key: bridge.pageKey });
    const reader = await subscribe(use, bridge, 'chat');
    publish(elsewhere, 'chat', ['not here']);
    publish(page, 'chat', ['here']);
    await reader.waitFor(1);
    assert.deepEqual(values(reader.entries), ['here']);
  });
});

describe('GET /v1/stream access and bad requests', () => {
  test('passes the API checks: token, Host and Origin, on GET and on the WebSocket upgrade', async (t) => {
    const use = cleanupFor(t);
    const { bridge } = await setup(use, { token: TOKEN });
    const url = `${bridge.url}/v1/stream?group=room&topic=chat`;
    assert.equal(await statusOf(url, {}), 401);
    assert.equal(await statusOf(url, { authorization: `Bearer ${TOKEN}`, host: 'evil.example' }), 403);
    assert.equal(await statusOf(url, { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' }), 403);
    assert.equal(await statusOf(url, { authorization: `Bearer ${TOKEN}`, 'sec-fetch-site': 'cross-site' }), 403);
    const byQuery = await subscribe(use, bridge, 'chat', { token: TOKEN });
    assert.equal(byQuery.status, 200);
    const refused = await subscribe(use, bridge, 'chat', { format: 'ws' });
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(refused.raw).error.code, 'UNAUTHORIZED');
    const crossSite = await subscribe(use, bridge, 'chat', { format: 'ws', token: TOKEN, headers: { origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    const allowed = await subscribe(use, bridge, 'chat', { format: 'ws', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(allowed.status, 101);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['a missing group', 'topic=chat', /^group: required$/],
    ['a missing topic', 'group=room', /^topic: required$/],
    ['a bad group', 'group=a%20b&topic=chat', /^group: "a b" is not a valid group name/],
    ['a reserved topic', 'group=room&topic=%24x', /^topic: "\$x" is not a valid topic name/],
    ['a bad client id', 'group=room&topic=chat&clientId=a%20b', /^clientId: "a b" is not a valid client id/],
    ['an unknown parameter', 'group=room&topic=chat&topics=x', /^"topics": unknown parameter/],
    ['a repeated parameter', 'group=room&topic=chat&topic=other', /^topic: given more than once$/],
    ['a bad lastEventId', 'group=room&topic=chat&lastEventId=yesterday', /^lastEventId: "yesterday" is not an event id/],
    ['an unknown format', 'group=room&topic=chat&format=xml', /^format: expected sse or ndjson, got "xml"$/],
  ];
  for (const [name, query, message] of bad) {
    test(`refuses ${name} with BAD_REQUEST naming the parameter`, async (t) => {
      const use = cleanupFor(t);
      const { bridge } = await setup(use);
      const res = await getJson(`${bridge.url}/v1/stream?${query}`);
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, 'BAD_REQUEST');
      assert.match(res.body.error.message, message);
    });
  }

  test('refuses a bad Last-Event-ID header, and a bad query on the WebSocket upgrade', async (t) => {
    const use = cleanupFor(t);
    const { bridge } = await setup(use);
    const res = await getJson(`${bridge.url}/v1/stream?group=room&topic=chat`, { headers: { 'last-event-id': 'x y' } });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /^Last-Event-ID: "x y" is not an event id/);
    const ws = await subscribe(use, bridge, 'x y', { format: 'ws' });
    assert.equal(ws.status, 400);
    assert.match(JSON.parse(ws.raw).error.message, /^topic: "x y" is not a valid topic name/);
  });

  test('a page that publishes a malformed events message gets BAD_FRAME naming the field, and nothing reaches subscribers', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const reader = await subscribe(use, bridge, 'chat');
    page.sendRaw(JSON.stringify({ type: 'events', topic: 'chat', items: 'nope' }));
    const error = await page.next('error');
    assert.deepEqual(error, { type: 'error', code: 'BAD_FRAME', message: 'items: expected array, got string' });
    publish(page, 'chat', ['fine']);
    await reader.waitFor(1);
    assert.deepEqual(values(reader.entries), ['fine']);
  });
});

describe('the history: resumes', () => {
  test('Last-Event-ID (header or lastEventId=) resumes right after the last entry seen', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const first = await subscribe(use, bridge, 'chat');
    publish(page, 'chat', [1, 2, 3]);
    const seen = await first.waitFor(3);
    await first.close();
    publish(page, 'chat', [4, 5]);
    const byHeader = await subscribe(use, bridge, 'chat', { lastEventIdHeader: seen[1]!.id! });
    const byQuery = await subscribe(use, bridge, 'chat', { lastEventId: seen[2]!.id!, format: 'ndjson' });
    await byHeader.waitFor(3);
    await byQuery.waitFor(2);
    assert.deepEqual(values(byHeader.entries), [3, 4, 5]);
    assert.deepEqual(values(byQuery.entries), [4, 5]);
    publish(page, 'chat', [6]);
    await byQuery.waitFor(3);
    assert.deepEqual(values(byQuery.entries), [4, 5, 6], 'live after the replay, without a duplicate');
    assert.ok(!byHeader.entries.some((e) => e.type === 'gap'));
  });

  test('a resume older than the history gets an "expired" gap with the count, then what is kept', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use, { streamHistory: 5 });
    const first = await subscribe(use, bridge, 'chat');
    publish(page, 'chat', [1]);
    const [one] = await first.waitFor(1);
    publish(page, 'chat', [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await first.waitFor(10);
    const late = await subscribe(use, bridge, 'chat', { lastEventId: one!.id! });
    await late.waitFor(6);
    assert.equal(late.entries[0]!.type, 'gap');
    assert.equal(late.entries[0]!.reason, 'expired');
    assert.equal(late.entries[0]!.missed, 4);
    assert.equal(late.entries[0]!.id, undefined, 'a gap told to one subscriber has no id: Last-Event-ID stays');
    assert.equal(late.entries[0]!.sse?.event, 'gap');
    assert.deepEqual(values(late.entries), [6, 7, 8, 9, 10]);
  });

  test('lastEventId=0 replays everything kept', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const first = await subscribe(use, bridge, 'chat');
    publish(page, 'chat', ['a', 'b']);
    await first.waitFor(2);
    const replay = await subscribe(use, bridge, 'chat', { lastEventId: '0' });
    await replay.waitFor(2);
    assert.deepEqual(values(replay.entries), ['a', 'b']);
    assert.ok(!replay.entries.some((e) => e.type === 'gap'));
  });

  test('an id from another history (a restarted bridge) gets a "reset" gap, then everything this one kept', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const first = await subscribe(use, bridge, 'chat');
    publish(page, 'chat', ['x', 'y']);
    await first.waitFor(2);
    const stale = await subscribe(use, bridge, 'chat', { lastEventId: 'zzzzzzzz-41' });
    await stale.waitFor(3);
    assert.deepEqual(stale.entries.map((e) => e.type), ['gap', 'event', 'event']);
    assert.equal(stale.entries[0]!.reason, 'reset');
    assert.equal(stale.entries[0]!.missed, null);
    assert.deepEqual(values(stale.entries), ['x', 'y']);
  });

  test('a page that reconnects under its client id is marked with a "page-reconnected" gap, not an error', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const reader = await subscribe(use, bridge, 'chat');
    publish(page, 'chat', ['before']);
    await reader.waitFor(1);
    await page.close();
    const again = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey, clientId: page.clientId, ...(page.welcome.resume ? { resume: page.welcome.resume } : {}) });
    assert.equal(again.clientId, page.clientId);
    publish(again, 'chat', ['after']);
    await reader.waitFor(3);
    assert.deepEqual(reader.entries.map((e) => [e.type, e.reason ?? e.value, e.clientId]), [['event', 'before', page.clientId], ['gap', 'page-reconnected', page.clientId], ['event', 'after', page.clientId]]);
    assert.deepEqual(reader.entries.map((e) => e.seq), [1, 2, 3]);
  });
});

/**
 * Publishes events of `size` characters in steps of `step`, each step once `fast` has everything so
 * far, until the bridge reports a subscriber behind (however much the kernel buffers for it) and
 * then `after` more; resolves with how many it published.
 */
async function publishPaced(bridge: Bridge, page: FakePage, fast: StreamReader, step: number, size: number, after: number): Promise<number> {
  const filler = 'x'.repeat(size);
  let n = 0;
  let until = Infinity;
  while (n < until) {
    const items = Array.from({ length: step }, (_, i) => ({ n: n + i, filler }));
    publish(page, 'chat', items);
    n += step;
    await fast.waitFor(n, (e) => e.type === 'event', 30_000);
    if (until === Infinity && internals(bridge).streams.summaries()[0]!.behind > 0) until = n + after;
    assert.ok(n < 100_000, 'the slow subscriber never fell behind');
  }
  return n;
}

describe('slow subscribers', () => {
  const SIZE = 10_000;

  test('policy drop: a subscriber that stops reading gets a "behind" gap and the newest entries; a fast one beside it gets everything', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use, { streamHistory: 50, streamSubscriberBytes: 256 * 1024 });
    const fast = await subscribe(use, bridge, 'chat', { format: 'ndjson' });
    const slow = await subscribe(use, bridge, 'chat', { format: 'ndjson' });
    slow.pause();
    const TOTAL = await publishPaced(bridge, page, fast, 25, SIZE, 100);
    assert.deepEqual(events(fast.entries).map((e) => e.value.n), Array.from({ length: TOTAL }, (_, i) => i));
    assert.ok(!fast.entries.some((e) => e.type === 'gap'));
    slow.resume();
    await slow.waitFor(1, (e) => e.type === 'event' && e.value.n === TOTAL - 1, 30_000);
    const gaps = slow.entries.filter((e) => e.type === 'gap');
    assert.ok(gaps.length >= 1 && gaps.every((g) => g.reason === 'behind' && typeof g.missed === 'number' && g.missed > 0), JSON.stringify(gaps.map((g) => g.message)));
    const seqs = slow.entries.filter((e) => e.type === 'event').map((e) => e.seq!);
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), 'in order');
    const missed = gaps.reduce((n, g) => n + g.missed!, 0);
    assert.equal(seqs.length + missed, TOTAL, 'every entry is either received or counted in a gap');
    assert.equal(page.ws.readyState, page.ws.OPEN, 'the page is unaffected');
  });

  test('policy disconnect: a subscriber that falls out of the history is disconnected; a fast one is not', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use, { streamHistory: 50, streamSubscriberBytes: 256 * 1024, streamSlowPolicy: 'disconnect' });
    const fast = await subscribe(use, bridge, 'chat', { format: 'ndjson' });
    const slow = await subscribe(use, bridge, 'chat', { format: 'ws' });
    slow.pause();
    const TOTAL = await publishPaced(bridge, page, fast, 25, SIZE, 100);
    await withEnd(slow);
    assert.equal(events(fast.entries).length, TOTAL);
    await until(() => internals(bridge).streams.subscribers === 1, 'the slow subscriber to be let go');
  });
});

async function withEnd(reader: StreamReader): Promise<void> {
  reader.resume();
  await Promise.race([reader.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the slow subscriber was not disconnected')), 30_000).unref())]);
}

describe('subscribers at scale and cleanup', () => {
  test('1,000 subscribers of one topic each get every event; when they leave, nothing is left', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const readers: StreamReader[] = [];
    for (let i = 0; i < 1_000; i += 50) {
      readers.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => openStream(bridge.url, 'room', 'chat', { format: (i + j) % 2 ? 'ndjson' : 'sse' })))));
    }
    use.defer(() => Promise.all(readers.map((r) => r.close())), '1,000 streams');
    assert.equal(internals(bridge).streams.subscribers, 1_000);
    for (let i = 0; i < 10; i++) publish(page, 'chat', [i]);
    await Promise.all(readers.map((r) => r.waitFor(10, undefined, 60_000)));
    for (const reader of readers) assert.deepEqual(values(reader.entries), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const metrics = (await getJson(`${bridge.url}/metrics`)).body as string;
    assert.match(metrics, /pagecall_stream_subscribers\{group="room",topic="chat"\} 1000/);
    await Promise.all(readers.map((r) => r.close()));
    await until(() => internals(bridge).streams.subscribers === 0, 'every subscription to be let go');
    const after = (await getJson(`${bridge.url}/metrics`)).body as string;
    assert.doesNotMatch(after, /pagecall_stream_subscribers\{/);
  });

  test('a subscriber that disconnects is let go at once; a WebSocket one too', async (t) => {
    const use = cleanupFor(t);
    const { bridge } = await setup(use);
    const sse = await subscribe(use, bridge, 'chat');
    const ws = await subscribe(use, bridge, 'chat', { format: 'ws' });
    assert.equal(internals(bridge).streams.subscribers, 2);
    await sse.close();
    await ws.close();
    await until(() => internals(bridge).streams.subscribers === 0, 'both subscriptions to end');
  });

  test('closing the bridge ends every stream', async (t) => {
    const use = cleanupFor(t);
    const { bridge } = await setup(use);
    const sse = await subscribe(use, bridge, 'chat');
    const ws = await subscribe(use, bridge, 'chat', { format: 'ws' });
    await bridge.close();
    await Promise.all([sse.ended, ws.ended]);
  });
});

describe('streams in metrics and the dashboard', () => {
  test('metrics count events, errors, page drops and subscribers by group and topic', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const reader = await subscribe(use, bridge, 'chat');
    publish(page, 'chat', [1, 2, 3], { errors: [{ at: 3, error: { name: 'E', message: 'm' } }], dropped: 5 });
    await reader.waitFor(5);
    const text = (await getJson(`${bridge.url}/metrics`)).body as string;
    assert.match(text, /pagecall_stream_events_total\{group="room",topic="chat"\} 3/);
    assert.match(text, /pagecall_stream_errors_total\{group="room",topic="chat"\} 1/);
    assert.match(text, /pagecall_stream_page_dropped_total\{group="room",topic="chat"\} 5/);
    assert.match(text, /pagecall_stream_subscribers\{group="room",topic="chat"\} 1/);
    assert.match(text, /pagecall_stream_topics 1/);
  });

  test('the dashboard\'s event stream lists topics with their subscribers and counts', async (t) => {
    const use = cleanupFor(t);
    const { bridge, page } = await setup(use);
    const reader = await subscribe(use, bridge, 'chat');
    publish(page, 'chat', ['a', 'b']);
    await reader.waitFor(2);
    const res = await fetch(`${bridge.url}/v1/events`);
    const text = await readUntil(res, '"streams"');
    const snapshot = JSON.parse(text.split('\n').find((l) => l.startsWith('data: '))!.slice(6));
    assert.deepEqual(snapshot.streams, [{ group: 'room', topic: 'chat', subscribers: 1, behind: 0, publishers: 1, events: 2, errors: 0, droppedByPages: 0, missedBySubscribers: 0, kept: 2, lastAt: snapshot.streams[0].lastAt }]);
    assert.equal(typeof snapshot.streams[0].lastAt, 'number');
  });
});

async function readUntil(res: Response, marker: string): Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  try {
    while (!text.includes(marker) || !text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    await reader.cancel();
  }
  return text;
}
