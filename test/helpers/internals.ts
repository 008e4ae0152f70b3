/** Test-only access to a bridge's private state, for checks that have no public surface (leaks, queues). */
import type { Bridge } from '../../bridge/index.js';
import type { ClientRegistry } from '../../bridge/client-registry.js';
import type { PageHub } from '../../bridge/page-hub.js';
import type { PendingCalls } from '../../bridge/pending-calls.js';

/** The bridge's registry, pending-call table and page hub. */
export interface BridgeInternals {
  registry: ClientRegistry;
  pending: PendingCalls;
  hub: PageHub;
}

/** Reaches into a running bridge. */
export function internals(bridge: Bridge): BridgeInternals {
  return bridge as unknown as BridgeInternals;
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
