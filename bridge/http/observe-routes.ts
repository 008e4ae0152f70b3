/**
 * Handlers of the routes for watching the bridge: the dashboard's files (GET /, /dashboard/*),
 * GET /metrics and the live event stream GET /v1/events. bridge/http/route-table.ts says who may
 * use them (the files hold no data; the other two pass the API's checks).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PagecallError } from '../../protocol/index.js';
import { DASHBOARD_CSP, dashboardAsset } from '../dashboard/assets.js';
import type { HttpContext, RouteHandler } from './context.js';
import { sendError } from './respond.js';

/** GET /v1/events: server-sent events for the dashboard. */
export function streamEvents(ctx: HttpContext, _req: IncomingMessage, res: ServerResponse): void {
  ctx.live.subscribe(res);
}

/** GET /metrics: the Prometheus text exposition. */
export async function scrapeMetrics(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  let text: string;
  try {
    text = await ctx.metrics.render();
  } catch (error) {
    ctx.log.error({ err: error, requestId }, 'metrics collection failed');
    sendError(res, error);
    return;
  }
  res.statusCode = 200;
  res.setHeader('content-type', ctx.metrics.contentType);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(req.method === 'HEAD' ? undefined : text);
}

/**
 * A handler serving one dashboard file. The files hold no data: everything comes from /v1/events
 * and the API, which check access, so the dashboard loads without a token and asks for one when
 * the bridge needs it.
 */
export function dashboardFile(path: string): RouteHandler {
  return (_ctx, req, res) => {
    let asset;
    try {
      asset = dashboardAsset(path);
    } catch (error) {
      sendError(res, PagecallError.from(error));
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
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };
}
