/**
 * Routes requests by the route table: unknown paths get 404, known paths with another method 405
 * with an `Allow` header, then the route's access policy applies, then its handler runs. Hot
 * routes run straight from node:http; the others go through express, which matches the same
 * paths and decodes their parameters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { PagecallError } from '../../protocol/index.js';
import { checkApiAccess } from '../access.js';
import type { HttpContext, RouteHandler, RouteParams } from './context.js';
import { discardBody } from './read-body.js';
import { sendError } from './respond.js';
import type { Method, Route } from './route-table.js';

/** What the index needs of a route (the compat listener's tables have their own handler types). */
export type IndexedRoute = Pick<Route, 'methods' | 'path' | 'hot'>;

/** The routes that share one path, by method. */
export interface PathRoutes<R extends IndexedRoute = Route> {
  /** The path as the table declares it. */
  readonly path: string;
  /** Method → route; HEAD is served by the GET route. */
  readonly byMethod: ReadonlyMap<string, R>;
  /** The `Allow` header for this path (`GET, HEAD, POST`). */
  readonly allow: string;
}

interface Pattern<R extends IndexedRoute> {
  /** Lower-cased literal segments; null where a parameter goes. */
  readonly segments: ReadonlyArray<string | null>;
  readonly routes: PathRoutes<R>;
}

/**
 * Finds the routes of a URL path. Paths match as express matches them (case-insensitively, with
 * an optional trailing slash), so the router and express agree on which requests a route gets.
 */
export class RouteIndex<R extends IndexedRoute = Route> {
  private readonly exact = new Map<string, PathRoutes<R>>();
  private readonly patterns: Array<Pattern<R>> = [];

  constructor(routes: readonly R[]) {
    const byPath = new Map<string, Map<string, R>>();
    for (const route of routes) {
      if (route.hot && route.path.includes(':')) throw new Error(`route table: hot route ${route.path} has a path parameter`);
      let methods = byPath.get(route.path);
      if (!methods) {
        methods = new Map();
        byPath.set(route.path, methods);
      }
      for (const method of route.methods) {
        if (methods.has(method)) throw new Error(`route table: ${method} ${route.path} is declared twice`);
        methods.set(method, route);
      }
    }
    for (const [path, methods] of byPath) {
      const get = methods.get('GET');
      if (get && !methods.has('HEAD')) methods.set('HEAD', get);
      const routes: PathRoutes<R> = { path, byMethod: methods, allow: [...methods.keys()].sort().join(', ') };
      const key = path.toLowerCase();
      if (path.includes(':')) this.patterns.push({ segments: key.split('/').map((s) => (s.startsWith(':') ? null : s)), routes });
      else this.exact.set(key, routes);
    }
  }

  /** The routes at `path` (a URL path without its query), or undefined when no route has it. */
  lookup(path: string): PathRoutes<R> | undefined {
    const hit = this.exact.get(path);
    if (hit) return hit;
    let key = path.toLowerCase();
    if (key.length > 1 && key.endsWith('/')) key = key.slice(0, -1);
    const found = this.exact.get(key);
    if (found || this.patterns.length === 0) return found;
    const segments = key.split('/');
    for (const pattern of this.patterns) {
      if (pattern.segments.length === segments.length && pattern.segments.every((s, i) => (s === null ? segments[i] !== '' : s === segments[i]))) return pattern.routes;
    }
    return undefined;
  }
}

/** A request id as callers may send it (`x-request-id`); the compat listener checks it the same way. */
export const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const NO_PARAMS: RouteParams = Object.freeze({});

/** A request matched against a route table: its route, or why it is refused (and the headers to send with that). */
export type Resolved<R> = { requestId: string; route: R; error?: undefined; headers?: undefined } | { requestId: string; route?: undefined; error: PagecallError; headers: string[] };

/**
 * What both listeners (this one and the JsRpc-compatible one) do first with a request: its request
 * id (the caller's when valid, else a new one), then 404 for an unknown path (`notFound` adds to the
 * message), 405 with `Allow` for a method the path lacks, and the route's `api` access check.
 */
export function resolveRequest<R extends IndexedRoute & { access: string }>(index: RouteIndex<R>, req: IncomingMessage, config: HttpContext['config'], newRequestId: () => string, notFound = ''): Resolved<R> {
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? '';
  const at = index.lookup(path);
  if (!at) return { requestId, error: new PagecallError('NOT_FOUND', `no route ${method} ${path}${notFound}`), headers: ['x-request-id', requestId] };
  const route = at.byMethod.get(method);
  if (!route) return { requestId, error: new PagecallError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${at.allow})`), headers: ['x-request-id', requestId, 'allow', at.allow] };
  if (route.access === 'api') {
    const denied = checkApiAccess(req, config, q < 0 ? null : new URLSearchParams(url.slice(q + 1)));
    if (denied) return { requestId, error: denied, headers: ['x-request-id', requestId] };
  }
  return { requestId, route };
}

/** Answers every HTTP request of the bridge. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Builds the bridge's request listener from the route table. `newRequestId` makes the id of a
 * request that did not bring a valid one of its own.
 */
export function createRouter(ctx: HttpContext, routes: readonly Route[], newRequestId: () => string): RequestListener {
  const index = new RouteIndex(routes);
  const app = expressApp(ctx, routes.filter((route) => !route.hot));
  const refuse = (req: IncomingMessage, res: ServerResponse, error: PagecallError, headers: string[]): void => {
    // The body, if any, is not wanted: it is read (so the connection serves the next request), but
    // only so far: a huge one cuts the connection.
    discardBody(req);
    sendError(res, error, headers);
  };
  return (req, res) => {
    const { requestId, route, error, headers } = resolveRequest(index, req, ctx.config, newRequestId);
    if (!route) {
      refuse(req, res, error, headers);
      return;
    }
    if (route.hot) {
      // The hot routes write every header in one writeHead (node's fast path), x-request-id included.
      const done = route.handler(ctx, req, res, requestId, NO_PARAMS);
      if (done instanceof Promise) {
        done.catch((error: unknown) => {
          ctx.log.error({ requestId, err: error }, 'internal error');
          sendError(res, error, ['x-request-id', requestId]);
        });
      }
      return;
    }
    res.setHeader('x-request-id', requestId);
    if (route.access === 'public-cors') res.setHeader('access-control-allow-origin', '*');
    app(req, res);
  };
}

/** The express app serving the routes that are not hot. */
function expressApp(ctx: HttpContext, routes: readonly Route[]): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const serve = (handler: RouteHandler) => (req: Request, res: Response) => handler(ctx, req, res, String(res.getHeader('x-request-id')), paramsOf(req));
  const register: Record<Method, (path: string, handler: RouteHandler) => void> = {
    GET: (path, handler) => app.get(path, serve(handler)),
    POST: (path, handler) => app.post(path, serve(handler)),
    DELETE: (path, handler) => app.delete(path, serve(handler)),
    OPTIONS: (path, handler) => app.options(path, serve(handler)),
  };
  for (const route of routes) for (const method of route.methods) register[method](route.path, route.handler);
  // Not reached while express and RouteIndex agree on paths; kept so a disagreement is a coded 404.
  app.use((req: Request, res: Response) => {
    sendError(res, new PagecallError('NOT_FOUND', `no route ${req.method} ${req.path}`));
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    // Express reports bad client input (a path parameter that is not valid percent-encoding) as an
    // error with a 4xx status: that is the caller's mistake, not an INTERNAL one.
    const status = (error as { status?: unknown } | null)?.status;
    const coded = typeof status === 'number' && status >= 400 && status < 500 && !(error instanceof PagecallError)
      ? PagecallError.from(error, { code: 'BAD_REQUEST', prefix: `${req.method} ${req.path}` })
      : PagecallError.from(error);
    const requestId = String(res.getHeader('x-request-id'));
    if (coded.code === 'INTERNAL') ctx.log.error({ requestId, err: error }, 'internal error');
    sendError(res, coded, ['x-request-id', requestId]);
  });
  return app;
}

/** Express's parameters as the table's handlers take them (a `:name` parameter is always one string). */
function paramsOf(req: Request): RouteParams {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.params)) params[name] = Array.isArray(value) ? value.join('/') : value;
  return params;
}
