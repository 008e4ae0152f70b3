/**
 * How long the page waits before connecting again. Pure functions of the attempt number, a random
 * number and why the last attempt failed, so they can be tested with a table.
 */
import type { FailureReason } from './types.js';

/** First reconnect delay before jitter, in milliseconds. */
export const BACKOFF_BASE_MS = 250;
/** Longest reconnect delay before jitter, in milliseconds. */
export const BACKOFF_MAX_MS = 5000;
/** Delay before jitter while the failure is one retrying cannot fix by itself (see retryCannotFix). */
export const SLOW_RETRY_MS = 60000;

/** `ms` scaled by a factor in [0.5, 1] taken from `random` (clamped to [0, 1]), so pages do not retry in step. */
function jitter(ms: number, random: number): number {
  const r = random > 0 ? (random < 1 ? random : 1) : 0;
  return ms * (0.5 + 0.5 * r);
}

/**
 * Delay before reconnect attempt `attempt` (0-based): min(5000, 250·2^attempt) ms scaled by a
 * factor in [0.5, 1] taken from `random` (a number in [0, 1], normally Math.random()).
 */
export function reconnectDelay(attempt: number, random: number): number {
  const n = attempt > 0 ? attempt : 0;
  const grown = BACKOFF_BASE_MS * 2 ** n;
  return jitter(grown < BACKOFF_MAX_MS ? grown : BACKOFF_MAX_MS, random);
}

/**
 * True for failures that need the user before a retry can succeed: the page's Content-Security-
 * Policy, or Chrome's Local Network Access. Retrying fast only adds a console error each time.
 */
export function retryCannotFix(reason: FailureReason | undefined): boolean {
  return reason === 'csp' || reason === 'local-network-access';
}

/** Delay before attempt `attempt` after a failure for `reason` (undefined: not known yet). */
export function retryDelay(attempt: number, random: number, reason: FailureReason | undefined): number {
  return retryCannotFix(reason) ? jitter(SLOW_RETRY_MS, random) : reconnectDelay(attempt, random);
}
