import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClientFailure } from '../../clients/node/errors.js';
import { Attempts, DEFAULT_RETRY, NO_RETRY, type RetryPolicy } from '../../clients/node/retry.js';
import { PagecallError } from '../../protocol/index.js';

const refused = (): ClientFailure => new ClientFailure('BRIDGE_UNAVAILABLE', 'refused', { sent: false, reason: 'refused' });
const broken = (): ClientFailure => new ClientFailure('BRIDGE_UNAVAILABLE', 'broken', { sent: true, reason: 'broken' });
const overloaded = (seconds?: number): PagecallError => new PagecallError('OVERLOADED', 'busy', seconds === undefined ? undefined : { retryAfterSeconds: seconds });
const noClient = (): PagecallError => new PagecallError('NO_CLIENT', 'nobody');
// Jitter fixed at its midpoint so delays are exact.
const half = (): number => 0.5;

describe('client retry policy', () => {
  const cases: Array<{ name: string; policy?: RetryPolicy; idempotent?: boolean; steps: Array<[error: PagecallError | ClientFailure, at: number, delay: number | undefined]> }> = [
    { name: 'a refused connection backs off from 37.5 ms, doubling to 750 ms', steps: [[refused(), 0, 37.5], [refused(), 40, 75], [refused(), 120, 150], [refused(), 300, 300], [refused(), 700, 600], [refused(), 1400, 750], [refused(), 2200, 750]] },
    { name: 'refused connections stop being retried after restartWaitMs', policy: { ...DEFAULT_RETRY, restartWaitMs: 150 }, steps: [[refused(), 0, 37.5], [refused(), 40, 75], [refused(), 120, undefined]] },
    { name: 'a connection that broke after sending is not retried for calls', steps: [[broken(), 0, undefined]] },
    { name: 'a connection that broke after sending is retried for GETs', idempotent: true, steps: [[broken(), 0, 37.5]] },
    { name: 'OVERLOADED waits Retry-After (plus up to 10 %) three times', steps: [[overloaded(1), 0, 1050], [overloaded(2), 1100, 2100], [overloaded(), 3300, 1050], [overloaded(1), 4400, undefined]] },
    { name: 'a Retry-After longer than maxRetryAfterMs is not waited', steps: [[overloaded(60), 0, undefined]] },
    { name: 'NO_CLIENT is thrown at once by default', steps: [[noClient(), 0, undefined]] },
    { name: 'NO_CLIENT is retried after the bridge was found down (pages reconnecting)', steps: [[refused(), 0, 37.5], [noClient(), 50, 75]] },
    { name: 'NO_CLIENT is retried for noClientWaitMs when asked', policy: { ...DEFAULT_RETRY, noClientWaitMs: 200 }, steps: [[noClient(), 0, 37.5], [noClient(), 40, 75], [noClient(), 120, undefined]] },
    { name: 'NO_RETRY retries nothing', policy: NO_RETRY, steps: [[refused(), 0, undefined], [overloaded(1), 0, undefined], [noClient(), 0, undefined]] },
    { name: 'errors that may have run in the page are never retried', steps: [[new PagecallError('TIMEOUT', 't'), 0, undefined], [new PagecallError('CLIENT_DISCONNECTED', 'c'), 0, undefined], [new PagecallError('SHUTTING_DOWN', 's'), 0, undefined], [new PagecallError('INTERNAL', 'i'), 0, undefined]] },
    { name: 'a response that is not a bridge is not retried', steps: [[new ClientFailure('BAD_RESPONSE', 'html', { retryable: false }), 0, undefined]] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const attempts = new Attempts(c.policy ?? DEFAULT_RETRY, c.idempotent ?? false, half);
      c.steps.forEach(([error, at, delay], i) => assert.equal(attempts.delayAfter(error, at), delay, `step ${i}`));
    });
  }
});
