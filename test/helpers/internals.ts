/** Test-only access to a bridge's parts, for checks that have no public surface (leaks, queues). */
import { bridgeParts, type BridgeParts } from '../../bridge/bridge-parts.js';
import type { Bridge } from '../../bridge/index.js';

/** The bridge's registry, pending-call table and page hub. */
export type BridgeInternals = BridgeParts;

/** Reaches into a running bridge. */
export function internals(bridge: Bridge): BridgeInternals {
  return bridgeParts(bridge);
}

/** What a bridge holds once every call has settled and every page has left: all zero when nothing leaked. */
export function leftovers(bridge: Bridge): { inFlight: number; waiting: number; deadlines: number; clients: number; groups: number; queues: number } {
  const { pending, registry } = internals(bridge);
  return {
    inFlight: pending.inFlight,
    waiting: pending.waiting,
    deadlines: pending.withDeadline,
    clients: registry.size,
    groups: registry.groupCount,
    queues: pending.queuedGroups,
  };
}
