/**
 * Routes for watching the bridge: the dashboard (GET /, /dashboard/*), GET /metrics and the live
 * event stream GET /v1/events. Plain node:http handlers, tried before express; /metrics and
 * /v1/events pass the same access checks as the API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PagecallError } from '../../protocol/index.js';
import { checkApiAccess } from '../access.js';
import type { BridgeConfig } from '../config.js';
import { DASHBOARD_CSP, dashboardAsset, isDashboardPath } from '../dashboard/assets.js';
import type { LiveState } from '../dashboard/live-state.js';
import type { Logger } from '../logger.js';
import type { BridgeMetrics } from '../metrics.js';
import { sendError } from './respond.js';

/** What these routes need from the bridge. */
export interface ObserveContext {
  config: BridgeConfig;
  live: LiveState;
  metrics: BridgeMetrics;
  log: Logger;
}

const queryOf = (url: string): URLSearchParams | null => {
  const q = url.indexOf('?');
  return q < 0 ? null : new URLSearchParams(url.slice(q + 1));
};

/** Answers the request if `path` is one of these routes; returns false to let other routes try. */
export function handleObserveRoute(ctx: ObserveContext, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const isAsset = isDashboardPath(path);
  if (!isAsset && path !== '/metrics' && path !== '/v1/events') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    req.resume();
    sendError(res, new PagecallError('METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${path}`));
    return true;
  }
  if (isAsset) {
    serveAsset(res, path, req.method === 'HEAD');
    return true;
  }
  const denied = checkApiAccess(req, ctx.config, queryOf(req.url ?? ''));
  if (denied) {
    sendError(res, denied);
    return true;
  }
  if (path === '/v1/events') {
    ctx.live.subscribe(res);
    return true;
  }
  ctx.metrics.render().then(
    (text) => {
      res.statusCode = 200;
      res.setHeader('content-type', ctx.metrics.contentType);
      res.setHeader('cache-control', 'no-store');
      res.setHeader('content-length', Buffer.byteLength(text));
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (error: unknown) => {
      ctx.log.error({ err: error, requestId: res.getHeader('x-request-id') }, 'metrics collection failed');
      sendError(res, error);
    },
  );
  return true;
}

// The files hold no data: everything comes from /v1/events and the API, which check access, so
// the dashboard loads without a token and asks for one when the bridge needs it.
function serveAsset(res: ServerResponse, path: string, headOnly: boolean): void {
  let asset;
  try {
    asset = dashboardAsset(path);
  } catch (error) {
    sendError(res, new PagecallError('INTERNAL', (error as Error).message));
    return;
  }
  res.statusCode = 200;
  res.setHeader('content-type', asset.type);
  res.setHeader('content-length', asset.body.length);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  if (path === '/') {
    res.setHeader('content-security-policy', DASHBOARD_CSP);
    res.setHeader('x-frame-options', 'DENY');
  }
  res.end(headOnly ? undefined : asset.body);
}
