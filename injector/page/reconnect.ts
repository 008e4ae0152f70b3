/**
 * The next connection attempt: when it happens (backoff.ts) and the one timer that starts it. Fast
 * backoff while a retry can succeed by itself (the bridge restarting), a slow pace while the
 * failure needs the user (CSP, Local Network Access).
 */
import { retryCannotFix, retryDelay } from './backoff.js';
import { clearTimer, now, random, setTimer } from './builtins.js';
import type { FailureReason } from './types.js';

/** Plans connection attempts; `attempt` is called when one is due. */
export class Reconnect {
  private failures = 0;
  private timer: number | undefined;
  private dueAt = 0;
  private slow = false;
  private readonly attempt: () => void;

  /** Plans attempts that call `attempt`. */
  constructor(attempt: () => void) {
    this.attempt = attempt;
  }

  /** An attempt is planned and has not started yet. */
  get waiting(): boolean {
    return this.timer !== undefined;
  }

  /** Page-clock time of the planned attempt, when one is planned. */
  get nextAt(): number | undefined {
    return this.timer === undefined ? undefined : this.dueAt;
  }

  /** Plans the next attempt after a failure whose known (or last known) reason is `reason`. */
  afterFailure(reason: FailureReason | undefined): void {
    this.plan(retryDelay(this.failures++, random(), reason), retryCannotFix(reason));
  }

  /** Plans an attempt right away, outside the backoff (a replaced client id). */
  soon(): void {
    this.plan(0, false);
  }

  /** A diagnosis found `reason` while an attempt waits: re-plans it when the pace should change. */
  diagnosed(reason: FailureReason): void {
    if (this.timer === undefined || retryCannotFix(reason) === this.slow) return;
    this.plan(retryDelay(this.failures, random(), reason), retryCannotFix(reason));
  }

  /** Connects now instead of at the planned time; false when no attempt was waiting. */
  hurry(): boolean {
    if (this.timer === undefined) return false;
    this.cancel();
    this.attempt();
    return true;
  }

  /** A connection was welcomed: the next failure starts again from the shortest delay. */
  reset(): void {
    this.failures = 0;
  }

  /** Drops the planned attempt. */
  cancel(): void {
    if (this.timer !== undefined) clearTimer(this.timer);
    this.timer = undefined;
  }

  private plan(delay: number, slow: boolean): void {
    this.cancel();
    this.slow = slow;
    // Whole milliseconds, so status().retryAt is a plain epoch time.
    this.dueAt = now() + (delay | 0);
    this.timer = setTimer(() => {
      this.timer = undefined;
      this.attempt();
    }, delay);
  }
}
