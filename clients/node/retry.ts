/**
 * When the client sends a request again by itself. Only failures where the call cannot have reached
 * a page are retried: OVERLOADED (it waited in the bridge's queue and never started) and connections
 * the bridge refused (it is restarting). Timeouts, page errors and broken connections are never
 * retried for calls, because the page may have run the function. The Python client has the same
 * policy (clients/python/src/pagecall/_core.py).
 */
import type { ClientFailure } from './errors.js';
import { PagecallError } from '../../protocol/index.js';

/** What is retried, and for how long. */
export interface RetryPolicy {
  /** Milliseconds to keep retrying while the bridge refuses connections (a restart); 0 turns it off. After such an outage NO_CLIENT is retried within the same window, while pages reconnect. */
  restartWaitMs: number;
  /** How many times to resend after OVERLOADED, each after the bridge's Retry-After. */
  overloaded: number;
  /** Longest Retry-After honoured; a longer one is thrown at once. */
  maxRetryAfterMs: number;
  /** Milliseconds to keep retrying NO_CLIENT (wait for a page to join); 0 throws at once. */
  noClientWaitMs: number;
}

/** The default policy: 10 s across a bridge restart, OVERLOADED three times. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({ restartWaitMs: 10_000, overloaded: 3, maxRetryAfterMs: 30_000, noClientWaitMs: 0 });

/** A policy that never retries. */
export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ restartWaitMs: 0, overloaded: 0, maxRetryAfterMs: 0, noClientWaitMs: 0 });

/** The retry state of one request: asked after each failure how long to wait, or undefined to throw. */
export class Attempts {
  private overloadedSoFar = 0;
  private downSince: number | undefined;
  private noClientSince: number | undefined;
  private backoffMs = 50;

  constructor(
    private readonly policy: RetryPolicy,
    /** True when sending the request twice is harmless (GET), so a broken connection may be retried. */
    private readonly idempotent: boolean,
    private readonly random: () => number = Math.random,
  ) {}

  private nextBackoff(): number {
    // Exponential from 50 ms to 1 s, jittered so many callers do not come back in step.
    const delay = this.backoffMs * (0.5 + this.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, 1_000);
    return delay;
  }

  /** Milliseconds to wait before sending again, or undefined when `error` must be thrown. */
  delayAfter(error: PagecallError | ClientFailure, now: number): number | undefined {
    const { policy } = this;
    if (!(error instanceof PagecallError)) {
      if (error.code !== 'BRIDGE_UNAVAILABLE') return undefined;
      const refused = error.reason === 'refused';
      // A request that may have reached the bridge is resent only when resending is harmless.
      if (!refused && !(error.sent && this.idempotent)) return undefined;
      if (policy.restartWaitMs <= 0) return undefined;
      this.downSince ??= now;
      const delay = this.nextBackoff();
      return now + delay - this.downSince <= policy.restartWaitMs ? delay : undefined;
    }
    switch (error.code) {
      case 'OVERLOADED': {
        const seconds = (error.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
        const waitMs = typeof seconds === 'number' && seconds >= 0 ? seconds * 1000 : 1000;
        if (this.overloadedSoFar >= policy.overloaded || waitMs > policy.maxRetryAfterMs) return undefined;
        this.overloadedSoFar++;
        return waitMs * (1 + this.random() / 10);
      }
      case 'NO_CLIENT': {
        // Never reached a page, so always safe; worth it while pages come back after a restart.
        const delay = this.nextBackoff();
        if (this.downSince !== undefined && now + delay - this.downSince <= policy.restartWaitMs) return delay;
        if (policy.noClientWaitMs > 0) {
          this.noClientSince ??= now;
          if (now + delay - this.noClientSince <= policy.noClientWaitMs) return delay;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}
