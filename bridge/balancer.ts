/** Choosing a page for a call: pure policy, tested with tables of cases. */

/** How calls spread over the pages that have the action. */
export type BalancePolicy = 'least-in-flight' | 'round-robin';

/** What the balancer needs to know about a page. */
export interface Candidate {
  readonly inFlight: number;
}

/**
 * Picks the index of the page to use among `candidates`, or -1 when every page is at `maxInFlight`.
 * `cursor` rotates the starting point so ties (and round-robin) spread evenly.
 */
export function pickCandidate(candidates: readonly Candidate[], policy: BalancePolicy, cursor: number, maxInFlight: number): number {
  const n = candidates.length;
  if (n === 0) return -1;
  const start = ((cursor % n) + n) % n;
  if (policy === 'round-robin') {
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (candidates[i]!.inFlight < maxInFlight) return i;
    }
    return -1;
  }
  let best = -1;
  let bestLoad = maxInFlight;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    const load = candidates[i]!.inFlight;
    if (load < bestLoad) {
      best = i;
      bestLoad = load;
      if (load === 0) break;
    }
  }
  return best;
}
