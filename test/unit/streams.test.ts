/** Streams, pure parts: the events message guard, the history ring, event ids and the subscriber's slow-reader policy. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkPageMessage, checkTopic } from '../../protocol/index.js';
import { entryJson, entryTail, eventId, frameEntries, parseEventId, type Entry } from '../../bridge/streams/format.js';
import { History } from '../../bridge/streams/history.js';
import { Batch, Subscriber, type Sink, type SlowPolicy, type TopicView } from '../../bridge/streams/subscriber.js';

const limits = { maxActions: 10 };

describe('the events message', () => {
  const cases: Array<[string, unknown, string | null]> = [
    ['values only', { type: 'events', topic: 'chat', items: [1, 'two', { $bytes: 'AA==' }] }, null],
    ['no values, only a dropped count', { type: 'events', topic: 'chat', items: [], dropped: 4 }, null],
    ['errors in between', { type: 'events', topic: 'chat', items: [1, 2], errors: [{ at: 0, error: { name: 'E', message: 'm' } }, { at: 2, error: { name: 'E', message: 'n' } }] }, null],
    ['a missing topic', { type: 'events', items: [] }, 'topic: expected string, got undefined'],
    ['a topic that is not a name', { type: 'events', topic: 'a b', items: [] }, 'topic: "a b" is not a valid topic name'],
    ['a reserved topic', { type: 'events', topic: '$x', items: [] }, 'topic: "$x" is not a valid topic name'],
    ['items not an array', { type: 'events', topic: 't', items: {} }, 'items: expected array, got object'],
    ['errors not an array', { type: 'events', topic: 't', items: [], errors: 1 }, 'errors: expected array, got number'],
    ['an error placed past the items', { type: 'events', topic: 't', items: [1], errors: [{ at: 2, error: { name: 'E', message: 'm' } }] }, 'errors[0].at: expected a whole number from 0 to 1, got 2'],
    ['errors out of order', { type: 'events', topic: 't', items: [1, 2], errors: [{ at: 1, error: { name: 'E', message: 'm' } }, { at: 0, error: { name: 'E', message: 'm' } }] }, 'errors[1].at: expected a whole number from 1 to 2, got 0'],
    ['an error without a message', { type: 'events', topic: 't', items: [], errors: [{ at: 0, error: { name: 'E' } }] }, 'errors[0].error.message: expected string, got undefined'],
    ['a negative dropped count', { type: 'events', topic: 't', items: [], dropped: -1 }, 'dropped: expected a whole number of at least 0, got -1'],
    ['a fractional dropped count', { type: 'events', topic: 't', items: [], dropped: 1.5 }, 'dropped: expected a whole number of at least 0, got 1.5'],
  ];
  for (const [name, input, error] of cases) {
    test(`${error === null ? 'accepts' : 'refuses'} ${name}`, () => {
      const checked = checkPageMessage(input, limits);
      if (error === null) assert.equal(checked.ok, true, checked.ok ? '' : checked.error);
      else {
        assert.equal(checked.ok, false);
        if (!checked.ok) assert.ok(checked.error.startsWith(error), checked.error);
      }
    });
  }

  test('is rebuilt field by field: a zero dropped count and an empty error list are left out', () => {
    const checked = checkPageMessage({ type: 'events', topic: 't', items: [1], errors: [], dropped: 0, extra: true }, limits);
    assert.deepEqual(checked, { ok: true, value: { type: 'events', topic: 't', items: [1] } });
  });

  test('topic names follow the action-name rules', () => {
    for (const good of ['chat', 'room/8848:frames', 'a.b-c_d', 'x'.repeat(128)]) assert.equal(checkTopic(good), undefined);
    for (const bad of ['', '$chat', 'a b', 'x'.repeat(129), 'é']) assert.ok(checkTopic(bad), bad);
  });
});

function entry(seq: number, clientId = 'c', body = `"value":${seq}`): Entry {
  return { seq, clientId, kind: 'event', json: entryJson('event', 'ep', seq, entryTail('g', 't', clientId, 1), body) };
}

describe('the history ring', () => {
  test('keeps the newest entries and finds where a subscriber left off', () => {
    const history = new History(3, 1_000_000);
    assert.equal(history.oldestSeq(0), 1);
    for (let seq = 1; seq <= 5; seq++) history.push(entry(seq));
    assert.equal(history.size, 3);
    assert.equal(history.oldestSeq(5), 3);
    assert.deepEqual(history.after(0, 10).map((e) => e.seq), [3, 4, 5]);
    assert.deepEqual(history.after(3, 10).map((e) => e.seq), [4, 5]);
    assert.deepEqual(history.after(4, 1).map((e) => e.seq), [5]);
    assert.deepEqual(history.after(5, 10), []);
  });

  test('is bounded by characters too, keeping at least the newest entry', () => {
    const history = new History(100, 500);
    for (let seq = 1; seq <= 20; seq++) history.push(entry(seq, 'c', `"value":"${'x'.repeat(100)}"`));
    assert.ok(history.bytes <= 500, String(history.bytes));
    assert.equal(history.after(0, 100).at(-1)!.seq, 20);
    const huge = new History(10, 50);
    huge.push(entry(1, 'c', `"value":"${'y'.repeat(200)}"`));
    assert.equal(huge.size, 1);
  });
});

describe('event ids', () => {
  const cases: Array<[string, ReturnType<typeof parseEventId>]> = [
    ['k3j9x0a1-57', { epoch: 'k3j9x0a1', seq: 57 }],
    ['57', { epoch: null, seq: 57 }],
    ['0', { epoch: null, seq: 0 }],
    [' k3j9x0a1-57 ', { epoch: 'k3j9x0a1', seq: 57 }],
    ['', undefined],
    ['abc', undefined],
    ['k3-j9-57', undefined],
    ['-5', undefined],
    ['1e3', undefined],
  ];
  for (const [text, expected] of cases) test(`${JSON.stringify(text)} reads as ${JSON.stringify(expected)}`, () => assert.deepEqual(parseEventId(text), expected));

  test('round-trip: the id an entry carries parses back to its epoch and sequence number', () => {
    assert.deepEqual(parseEventId(eventId('ab12cd34', 9)), { epoch: 'ab12cd34', seq: 9 });
  });

  test('frames: SSE names errors and gaps and leaves values as plain messages; WebSocket messages are JSON arrays', () => {
    const entries: Entry[] = [entry(1), { seq: 2, clientId: 'c', kind: 'error', json: '{"type":"error"}' }, { seq: 3, clientId: 'c', kind: 'gap', json: '{"type":"gap"}' }];
    assert.equal(frameEntries(entries, 'sse', 'ep'), `id: ep-1\ndata: ${entries[0]!.json}\n\nid: ep-2\nevent: page-error\ndata: {"type":"error"}\n\nid: ep-3\nevent: gap\ndata: {"type":"gap"}\n\n`);
    assert.equal(frameEntries(entries, 'ndjson', 'ep'), `${entries[0]!.json}\n{"type":"error"}\n{"type":"gap"}\n`);
    assert.deepEqual(JSON.parse(frameEntries(entries, 'ws', 'ep')), [JSON.parse(entries[0]!.json), { type: 'error' }, { type: 'gap' }]);
  });
});

/** A sink that takes writes into a list and reports as much buffered as the test says. */
class FakeSink implements Sink {
  readonly format = 'ndjson' as const;
  readonly lines: any[] = [];
  full = false;
  ended: string | null = null;
  private drained: (() => void) | undefined;
  write(chunk: string | Buffer): void {
    for (const line of String(chunk).split('\n')) if (line) this.lines.push(JSON.parse(line));
  }
  buffered(): number {
    return this.full ? 1_000_000 : 0;
  }
  whenDrained(ready: () => void): void {
    this.drained = ready;
  }
  drain(): void {
    this.full = false;
    const ready = this.drained;
    this.drained = undefined;
    ready?.();
  }
  keepAlive(): void {}
  end(reason: 'slow' | 'closing'): void {
    this.ended = reason;
  }
}

/** A topic of `size` history entries that a test publishes into. */
function topicOf(size: number): TopicView & { publish(n: number, clientId?: string): Batch; missed: number } {
  const history = new History(size, 1_000_000);
  const topic = {
    group: 'g',
    topic: 't',
    epoch: 'ep',
    history,
    seq: 0,
    missed: 0,
    countMissed(n: number) {
      topic.missed += n;
    },
    publish(n: number, clientId = 'c') {
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(entry(++topic.seq, clientId));
      for (const e of entries) history.push(e);
      return new Batch(entries, clientId, 'ep');
    },
  };
  return topic;
}

describe('a subscriber', () => {
  const subscriberOf = (topic: TopicView, sink: Sink, policy: SlowPolicy = 'drop', clientId: string | null = null, after = topic.seq) =>
    new Subscriber(topic, sink, clientId, 1000, policy, after, () => {});

  test('takes batches as they come while it keeps up', () => {
    const topic = topicOf(10);
    const sink = new FakeSink();
    const sub = subscriberOf(topic, sink);
    sub.offer(topic.publish(3));
    sub.offer(topic.publish(2));
    assert.deepEqual(sink.lines.map((l) => l.seq), [1, 2, 3, 4, 5]);
  });

  test('behind a full sink, catches up from the history once it drains, losing nothing the history still holds', () => {
    const topic = topicOf(10);
    const sink = new FakeSink();
    const sub = subscriberOf(topic, sink);
    sink.full = true;
    sub.offer(topic.publish(1));
    assert.equal(sub.behind, true);
    sub.offer(topic.publish(4));
    assert.deepEqual(sink.lines.map((l) => l.seq), [1]);
    sink.drain();
    assert.deepEqual(sink.lines.map((l) => l.seq), [1, 2, 3, 4, 5]);
    assert.equal(sub.behind, false);
  });

  test('policy drop: what the history no longer holds is one gap marker with the count, then it goes on', () => {
    const topic = topicOf(3);
    const sink = new FakeSink();
    const sub = subscriberOf(topic, sink);
    sink.full = true;
    sub.offer(topic.publish(1));
    for (let i = 0; i < 7; i++) sub.offer(topic.publish(1));
    sink.drain();
    assert.deepEqual(sink.lines.map((l) => (l.type === 'gap' ? `gap ${l.reason} ${l.missed}` : l.seq)), [1, 'gap behind 4', 6, 7, 8]);
    assert.equal(sub.missed, 4);
    assert.equal(topic.missed, 4);
    assert.equal(sink.ended, null);
  });

  test('policy disconnect: a subscriber that falls out of the history is ended, not told', () => {
    const topic = topicOf(3);
    const sink = new FakeSink();
    const sub = subscriberOf(topic, sink, 'disconnect');
    sink.full = true;
    sub.offer(topic.publish(1));
    for (let i = 0; i < 3; i++) sub.offer(topic.publish(1));
    assert.equal(sink.ended, null, 'still within the history');
    sub.offer(topic.publish(1));
    assert.equal(sink.ended, 'slow');
    assert.ok(!sink.lines.some((l) => l.type === 'gap'));
  });

  test('with a client id, passes over other pages\' entries without writing them', () => {
    const topic = topicOf(10);
    const sink = new FakeSink();
    const sub = subscriberOf(topic, sink, 'drop', 'mine');
    sub.offer(topic.publish(2, 'other'));
    sub.offer(topic.publish(2, 'mine'));
    sub.offer(topic.publish(1, 'other'));
    assert.deepEqual(sink.lines.map((l) => [l.seq, l.clientId]), [[3, 'mine'], [4, 'mine']]);
  });

  test('a resume replays what the history holds after the given entry, and names what it no longer holds', () => {
    const topic = topicOf(3);
    for (let i = 0; i < 6; i++) topic.publish(1);
    const sink = new FakeSink();
    const sub = subscriberOf(topic, sink, 'drop', null, 1);
    sub.catchUp('expired');
    assert.deepEqual(sink.lines.map((l) => (l.type === 'gap' ? `gap ${l.reason} ${l.missed}` : l.seq)), ['gap expired 2', 4, 5, 6]);
  });

  test('a batch shared by many subscribers is framed once per format', () => {
    const topic = topicOf(10);
    const batch = topic.publish(2);
    assert.equal(batch.frame('sse'), batch.frame('sse'));
    assert.notEqual(batch.frame('sse'), batch.frame('ndjson'));
  });
});
