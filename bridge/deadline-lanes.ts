/**
 * Deadlines without a timer per call. Entries sit in a linked lane per timeout value, so each lane
 * is in deadline order (an entry added later with the same timeout expires later), and one timer
 * is armed for the earliest head. Adding and removing are O(1); a sweep looks at lane heads only.
 */
import { performance } from 'node:perf_hooks';

/** An entry's links in its lane; held by the entry itself so removal needs no search. */
export interface LaneLinks<E> {
  /** When the entry expires, on the lanes' clock. */
  readonly deadline: number;
  /** The timeout it was added with (its lane). */
  readonly timeoutMs: number;
  lane: Lane<E> | null;
  prev: E | null;
  next: E | null;
}

/** Entries with the same timeout, oldest first. */
export interface Lane<E> {
  head: E | null;
  tail: E | null;
}

/** Time and one-shot timers; tests pass a manual clock. */
export interface LaneClock {
  now(): number;
  /** Calls `fn` after about `ms` milliseconds; returns a handle for cancel(). */
  schedule(fn: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
}

/** performance.now() and unref'd timers: a pending deadline never keeps the process alive. */
export const realClock: LaneClock = {
  now: () => performance.now(),
  schedule: (fn, ms) => setTimeout(fn, ms).unref(),
  cancel: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Whether `timeoutMs` can be a deadline: a finite number above zero. */
export function isValidTimeout(timeoutMs: unknown): timeoutMs is number {
  return typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0;
}

/** Keeps deadlines and calls `onExpired` for each entry whose deadline passed (in deadline order within a lane). */
export class DeadlineLanes<E extends LaneLinks<E>> {
  private readonly lanes = new Map<number, Lane<E>>();
  private timer: unknown = undefined;
  private armedFor = Infinity;
  private count = 0;

  constructor(
    /** Receives each expired entry, already removed from its lane. */
    private readonly onExpired: (entry: E) => void,
    private readonly clock: LaneClock = realClock,
  ) {}

  /** Entries holding a deadline. */
  get size(): number {
    return this.count;
  }

  /** The deadline the timer is armed for (Infinity when none is). */
  get nextWake(): number {
    return this.armedFor;
  }

  /**
   * Links an entry into its lane and arms the timer if it is now the earliest. Throws a RangeError
   * for a timeout that is not a finite number above zero: such a deadline would never fire and,
   * compared with the others, would stop the timer from being re-armed for anyone.
   */
  add(entry: E): void {
    if (!isValidTimeout(entry.timeoutMs) || !Number.isFinite(entry.deadline)) {
      throw new RangeError(`deadline: timeout must be a finite number above 0, got ${String(entry.timeoutMs)}`);
    }
    let lane = this.lanes.get(entry.timeoutMs);
    if (!lane) {
      lane = { head: null, tail: null };
      this.lanes.set(entry.timeoutMs, lane);
    }
    entry.lane = lane;
    entry.prev = lane.tail;
    entry.next = null;
    if (lane.tail) lane.tail.next = entry;
    else lane.head = entry;
    lane.tail = entry;
    this.count++;
    if (entry.deadline < this.armedFor) this.arm(entry.deadline);
  }

  /** Unlinks an entry; a no-op for one not in a lane. The timer stays armed (a sweep finding nothing is cheap). */
  remove(entry: E): void {
    const lane = entry.lane;
    if (!lane) return;
    if (entry.prev) entry.prev.next = entry.next;
    else lane.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else lane.tail = entry.prev;
    entry.lane = entry.prev = entry.next = null;
    this.count--;
  }

  /**
   * Expires every entry whose deadline is at or before `now` and returns the earliest deadline
   * left (Infinity when none). Emptied lanes are dropped. Called by the timer; public for tests.
   */
  sweep(now: number = this.clock.now()): number {
    let earliest = Infinity;
    for (const [timeoutMs, lane] of this.lanes) {
      // Unlinked before it expires, so the loop moves on whatever onExpired does.
      for (let entry = lane.head; entry !== null && entry.deadline <= now; entry = lane.head) {
        this.remove(entry);
        this.onExpired(entry);
      }
      if (lane.head) earliest = Math.min(earliest, lane.head.deadline);
      else this.lanes.delete(timeoutMs);
    }
    return earliest;
  }

  /** Stops the timer; entries stay (shutdown settles them itself). */
  stop(): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) this.clock.cancel(this.timer);
    this.armedFor = at;
    this.timer = this.clock.schedule(this.onTimer, Math.max(1, Math.ceil(at - this.clock.now())));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    const earliest = this.sweep();
    // onExpired may have added entries (and armed the timer) while the sweep ran.
    if (earliest < this.armedFor) this.arm(earliest);
  };
}
