/**
 * Every HTTP route of the bridge, declared once: its methods, its path, who may use it, whether it
 * is a hot route, and its handler. The router derives 404, 405 (with `Allow`) and the access checks
 * from this table. Adding a route is one entry here, its handler, and its row in docs/http-api.md
 * (test/unit/route-table.test.ts keeps the two in step).
 */
import { DASHBOARD_PATHS } from '../dashboard/assets.js';
import type { RouteHandler } from './context.js';
import { dashboardFile, scrapeMetrics, streamEvents } from './observe-routes.js';
import { streamTopic } from '../streams/stream-routes.js';
import { clusterStatus, handleBatchPost, handleCallGet, handleCallPost, handleEval, health, healthPreflight, injector, injectorEsm, kickClient, listClients, pageKey } from './routes.js';

/**
 * Who may use a route:
 * - `api`: the Host and Origin checks (DNS rebinding, cross-site requests) and the token when the bridge has one;
 * - `public-cors`: anyone, from any origin (`Access-Control-Allow-Origin: *`): pages load and probe these;
 * - `asset`: anyone, same-origin files that hold no data (the dashboard).
 */
export type Access = 'api' | 'public-cors' | 'asset';

/** Methods routes are declared with. GET routes answer HEAD too. */
export type Method = 'GET' | 'POST' | 'DELETE' | 'OPTIONS';

/** One route. */
export interface Route {
  readonly methods: readonly Method[];
  /** Literal segments and `:name` parameters (`/v1/clients/:id`). */
  readonly path: string;
  readonly access: Access;
  /**
   * Served straight from node:http, not through express: the call paths, which write every header
   * in one writeHead. Hot routes have no path parameters.
   */
  readonly hot?: boolean;
  readonly handler: RouteHandler;
}

/** The table. */
export const ROUTES: readonly Route[] = [
  { methods: ['POST'], path: '/v1/call', access: 'api', hot: true, handler: handleCallPost },
  { methods: ['GET'], path: '/v1/call', access: 'api', handler: handleCallGet },
  { methods: ['POST'], path: '/v1/batch', access: 'api', hot: true, handler: handleBatchPost },
  { methods: ['POST'], path: '/v1/eval', access: 'api', handler: handleEval },
  { methods: ['GET'], path: '/v1/clients', access: 'api', handler: listClients },
  { methods: ['DELETE'], path: '/v1/clients/:id', access: 'api', handler: kickClient },
  { methods: ['GET'], path: '/v1/cluster', access: 'api', handler: clusterStatus },
  { methods: ['GET'], path: '/v1/page-key', access: 'api', handler: pageKey },
  { methods: ['GET'], path: '/v1/events', access: 'api', handler: streamEvents },
  { methods: ['GET'], path: '/v1/stream', access: 'api', handler: streamTopic },
  { methods: ['GET'], path: '/metrics', access: 'api', handler: scrapeMetrics },
  { methods: ['GET'], path: '/health', access: 'public-cors', handler: health },
  { methods: ['OPTIONS'], path: '/health', access: 'public-cors', handler: healthPreflight },
  { methods: ['GET'], path: '/injector.js', access: 'public-cors', handler: injector },
  { methods: ['GET'], path: '/injector.mjs', access: 'public-cors', handler: injectorEsm },
  ...DASHBOARD_PATHS.map((path): Route => ({ methods: ['GET'], path, access: 'asset', handler: dashboardFile(path) })),
];
