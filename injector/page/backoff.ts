/** First reconnect delay before jitter, in milliseconds. */
export const BACKOFF_BASE_MS = 250;
/** Longest reconnect delay before jitter, in milliseconds. */
export const BACKOFF_MAX_MS = 5000;

/**
 * Delay before reconnect attempt `attempt` (0-based): min(5000, 250·2^attempt) ms scaled by a
 * factor in [0.5, 1] taken from `random` (a number in [0, 1], normally Math.random()).
 */
export function reconnectDelay(attempt: number, random: number): number {
  const n = attempt > 0 ? attempt : 0;
  const grown = BACKOFF_BASE_MS * 2 ** n;
  const capped = grown < BACKOFF_MAX_MS ? grown : BACKOFF_MAX_MS;
  const r = random > 0 ? (random < 1 ? random : 1) : 0;
  return capped * (0.5 + 0.5 * r);
}
