/** The last connection failure, and the console kept quiet: each distinct message is logged once. */
import type { LastError } from './types.js';

/** Keeps the last failure for `status()` and logs each distinct message once until `clear`. */
export class FailureLog {
  /** The last failure since the last clear. */
  last: LastError | undefined;
  private readonly logged = new Set<string>();

  /** Keeps `error` as the last failure and logs it with `log` unless that exact message was logged since the last clear. */
  report(error: LastError, log: (message: string) => void): void {
    this.last = error;
    if (this.logged.has(error.message)) return;
    this.logged.add(error.message);
    log(error.message);
  }

  /** Forgets the last failure and what was logged (a connection was welcomed, or the settings changed). */
  clear(): void {
    this.last = undefined;
    this.logged.clear();
  }
}
