import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeadlineLanes, isValidTimeout, type Lane, type LaneClock, type LaneLinks } from '../../bridge/deadline-lanes.js';

class Entry implements LaneLinks<Entry> {
  readonly deadline: number;
  lane: Lane<Entry> | null = null;
  prev: Entry | null = null;
  next: Entry | null = null;
  constructor(
    readonly name: string,
    readonly timeoutMs: number,
    startedAt: number,
  ) {
    this.deadline = startedAt + timeoutMs;
  }
}

/** A clock the test moves by hand; schedule() records the one armed timer. */
class ManualClock implements LaneClock {
  time = 0;
  armed: { fn: () => void; at: number } | null = null;
  armings = 0;
  now(): number {
    return this.time;
  }
  schedule(fn: () => void, ms: number): unknown {
    this.armings++;
    this.armed = { fn, at: this.time + ms };
    return this.armed;
  }
  cancel(handle: unknown): void {
    if (this.armed === handle) this.armed = null;
  }
  /** Moves time to `t` and fires the timer if it is due. */
  advance(t: number): void {
    this.time = t;
    const armed = this.armed;
    if (armed && armed.at <= t) {
      this.armed = null;
      armed.fn();
    }
  }
}

type Step =
  | { add: [name: string, timeoutMs: number, at: number] }
  | { remove: string }
  | { sweep: number; expires: string[]; earliest: number };

describe('deadline lanes', () => {
  const cases: Array<[string, Step[]]> = [
    ['an empty table expires nothing', [{ sweep: 100, expires: [], earliest: Infinity }]],
    ['one entry expires at its deadline, not before', [
      { add: ['a', 50, 0] },
      { sweep: 49, expires: [], earliest: 50 },
      { sweep: 50, expires: ['a'], earliest: Infinity },
    ]],
    ['a lane expires its entries in the order they were added', [
      { add: ['a', 10, 0] },
      { add: ['b', 10, 1] },
      { add: ['c', 10, 2] },
      { sweep: 11, expires: ['a', 'b'], earliest: 12 },
      { sweep: 12, expires: ['c'], earliest: Infinity },
    ]],
    ['lanes are independent: a long timeout added first does not hold back a short one', [
      { add: ['long', 1000, 0] },
      { add: ['short', 5, 1] },
      { sweep: 6, expires: ['short'], earliest: 1000 },
    ]],
    ['a removed entry never expires, from the head, middle or tail of its lane', [
      { add: ['a', 10, 0] },
      { add: ['b', 10, 1] },
      { add: ['c', 10, 2] },
      { add: ['d', 10, 3] },
      { remove: 'a' },
      { remove: 'c' },
      { remove: 'd' },
      { sweep: 100, expires: ['b'], earliest: Infinity },
    ]],
    ['removing twice is harmless', [
      { add: ['a', 10, 0] },
      { remove: 'a' },
      { remove: 'a' },
      { sweep: 100, expires: [], earliest: Infinity },
    ]],
    ['the earliest left is the smallest lane head', [
      { add: ['a', 30, 0] },
      { add: ['b', 20, 5] },
      { add: ['c', 40, 1] },
      { sweep: 1, expires: [], earliest: 25 },
    ]],
  ];
  for (const [name, steps] of cases) {
    test(name, () => {
      const expired: string[] = [];
      const clock = new ManualClock();
      const lanes = new DeadlineLanes<Entry>((e) => expired.push(e.name), clock);
      const entries = new Map<string, Entry>();
      for (const step of steps) {
        if ('add' in step) {
          const [entryName, timeoutMs, at] = step.add;
          const entry = new Entry(entryName, timeoutMs, at);
          entries.set(entryName, entry);
          lanes.add(entry);
        } else if ('remove' in step) {
          lanes.remove(entries.get(step.remove)!);
        } else {
          expired.length = 0;
          assert.equal(lanes.sweep(step.sweep), step.earliest, `earliest after sweeping at ${step.sweep}`);
          assert.deepEqual(expired, step.expires, `expired at ${step.sweep}`);
        }
      }
      assert.equal(lanes.size, [...entries.values()].filter((e) => e.lane !== null).length, 'size counts the entries still linked');
    });
  }

  const badTimeouts: Array<[string, number]> = [['NaN', Number.NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['zero', 0], ['a negative number', -5]];
  for (const [name, timeoutMs] of badTimeouts) {
    test(`refuses a timeout of ${name}, and the timer keeps serving the others`, () => {
      const expired: string[] = [];
      const clock = new ManualClock();
      const lanes = new DeadlineLanes<Entry>((e) => expired.push(e.name), clock);
      assert.equal(isValidTimeout(timeoutMs), false);
      assert.throws(() => lanes.add(new Entry('bad', timeoutMs, 0)), RangeError);
      assert.equal(lanes.size, 0);
      lanes.add(new Entry('good', 10, 0));
      clock.advance(10);
      assert.deepEqual(expired, ['good']);
    });
  }

  test('the timer is armed for the earliest deadline and re-armed for the next one after each sweep', () => {
    const expired: string[] = [];
    const clock = new ManualClock();
    const lanes = new DeadlineLanes<Entry>((e) => expired.push(e.name), clock);
    lanes.add(new Entry('late', 100, 0));
    assert.equal(lanes.nextWake, 100);
    lanes.add(new Entry('early', 10, 0));
    assert.equal(lanes.nextWake, 10, 'an earlier deadline re-arms the timer');
    lanes.add(new Entry('middle', 50, 0));
    assert.equal(lanes.nextWake, 10, 'a later one does not');
    clock.advance(10);
    assert.deepEqual(expired, ['early']);
    assert.equal(lanes.nextWake, 50);
    clock.advance(60);
    assert.deepEqual(expired, ['early', 'middle']);
    assert.equal(lanes.nextWake, 100);
    clock.advance(100);
    assert.deepEqual(expired, ['early', 'middle', 'late']);
    assert.equal(lanes.nextWake, Infinity);
    assert.equal(clock.armed, null, 'no timer is left armed when nothing waits');
  });

  test('an entry added while expiring another is timed too', () => {
    const clock = new ManualClock();
    const expired: string[] = [];
    const lanes: DeadlineLanes<Entry> = new DeadlineLanes<Entry>((e) => {
      expired.push(e.name);
      if (e.name === 'first') lanes.add(new Entry('second', 5, clock.now()));
    }, clock);
    lanes.add(new Entry('first', 10, 0));
    clock.advance(10);
    assert.equal(lanes.nextWake, 15);
    clock.advance(15);
    assert.deepEqual(expired, ['first', 'second']);
  });

  test('stop() disarms the timer and keeps the entries', () => {
    const clock = new ManualClock();
    const lanes = new DeadlineLanes<Entry>(() => assert.fail('nothing expires after stop'), clock);
    lanes.add(new Entry('a', 10, 0));
    lanes.stop();
    assert.equal(clock.armed, null);
    assert.equal(lanes.size, 1);
  });
});
