/** What HTTP route handlers get: the bridge's parts, and the handler signature every route shares. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientRegistry } from '../client-registry.js';
import type { Cluster } from '../cluster/cluster.js';
import type { BridgeConfig } from '../config.js';
import type { LiveState } from '../dashboard/live-state.js';
import type { Logger } from '../logger.js';
import type { BridgeMetrics } from '../metrics.js';
import type { PageHub } from '../page-hub.js';
import type { PageKeys } from '../page-key.js';
import type { PendingCalls } from '../pending-calls.js';
import type { StreamHub } from '../streams/stream-hub.js';

/** The bridge as route handlers see it. */
export interface HttpContext {
  readonly config: BridgeConfig;
  readonly registry: ClientRegistry;
  readonly pending: PendingCalls;
  readonly hub: PageHub;
  readonly live: LiveState;
  readonly streams: StreamHub;
  readonly metrics: BridgeMetrics;
  readonly log: Logger;
  readonly version: string;
  /** The cluster membership, or null for a single bridge. */
  readonly cluster: Cluster | null;
  /** The page key's derived secrets (group keys for snippets). */
  readonly keys: PageKeys;
}

/** Path parameters by name (`:id` → `params.id`), percent-decoded. */
export type RouteParams = Readonly<Record<string, string>>;

/**
 * Answers one request that matched its route and passed the route's access policy. `requestId`
 * is already chosen (the hot routes write it in their single writeHead; others find it set).
 */
export type RouteHandler = (ctx: HttpContext, req: IncomingMessage, res: ServerResponse, requestId: string, params: RouteParams) => void | Promise<void>;

/** The query string of a request (empty when it has none). */
export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}
