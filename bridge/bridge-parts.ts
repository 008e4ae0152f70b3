/**
 * A running bridge's parts, for code inside this package that must look past the Node API (the
 * test suite's leak checks, the soak runner). Not exported from the package: the Bridge type
 * stays as small as its API.
 */
import type { ClientRegistry } from './client-registry.js';
import type { Cluster } from './cluster/cluster.js';
import type { PageHub } from './page-hub.js';
import type { PendingCalls } from './pending-calls.js';
import type { StreamHub } from './streams/stream-hub.js';

/** The registry, pending-call table, page hub and stream topics of one bridge. */
export interface BridgeParts {
  readonly registry: ClientRegistry;
  readonly pending: PendingCalls;
  readonly hub: PageHub;
  /** The cluster membership, when the bridge is in one. */
  readonly cluster: Cluster | null;
  readonly streams: StreamHub;
}

const byBridge = new WeakMap<object, BridgeParts>();

/** Called by the Bridge constructor. */
export function registerBridgeParts(bridge: object, parts: BridgeParts): void {
  byBridge.set(bridge, parts);
}

/** The parts of a bridge made by this package's Bridge class. */
export function bridgeParts(bridge: object): BridgeParts {
  const parts = byBridge.get(bridge);
  if (!parts) throw new Error('not a pagecall Bridge');
  return parts;
}
