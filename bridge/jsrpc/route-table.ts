/**
 * Every HTTP route of the JsRpc-compatible listener, declared once like the bridge's own
 * (bridge/http/route-table.ts): the router derives 404, 405 (with `Allow`) and the access checks
 * from it, and docs/migrating-from-jsrpc.md lists the same rows (a test keeps them in step).
 * The page socket (`GET /ws` with an upgrade) is taken before routing, by the listener.
 */
import type { Method } from '../http/route-table.js';
import { dashboardRedirect, details, execjs, go, kick, list, pageCookie, pageHtml, socketOnly, type JsrpcHandler } from './routes.js';

/**
 * Who may use a compat route:
 * - `api`: the bridge API's Host and Origin checks, then its token when it has one;
 * - `public`: anyone (answers that hold no data: where the dashboard is, what /ws is for).
 */
export type JsrpcAccess = 'api' | 'public';

/** One compat route. */
export interface JsrpcRoute {
  readonly methods: readonly Method[];
  readonly path: string;
  readonly access: JsrpcAccess;
  readonly handler: JsrpcHandler;
}

/** The table. */
export const JSRPC_ROUTES: readonly JsrpcRoute[] = [
  { methods: ['GET', 'POST'], path: '/go', access: 'api', handler: go },
  { methods: ['GET', 'POST'], path: '/execjs', access: 'api', handler: execjs },
  { methods: ['GET', 'POST'], path: '/page/cookie', access: 'api', handler: pageCookie },
  { methods: ['GET', 'POST'], path: '/page/html', access: 'api', handler: pageHtml },
  { methods: ['GET'], path: '/list', access: 'api', handler: list },
  { methods: ['GET'], path: '/details', access: 'api', handler: details },
  { methods: ['DELETE'], path: '/kick', access: 'api', handler: kick },
  { methods: ['GET'], path: '/ws', access: 'public', handler: socketOnly },
  { methods: ['GET'], path: '/', access: 'public', handler: dashboardRedirect },
];
