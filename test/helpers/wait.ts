/** Test fixture: every wait in a test ends, with an error that says what did not happen. */

/** Default for waits on events that should come at once (a message, a welcome, a socket opening). */
export const WAIT_MS = 10_000;

/**
 * Resolves or rejects as `promise` does, or rejects after `ms` with "timed out after N ms waiting
 * for <what>". The timer never keeps the process alive.
 */
export function withTimeout<T>(promise: Promise<T>, what: string, ms: number = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
