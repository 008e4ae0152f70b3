/**
 * Routes the compat listener's requests by its table, as the bridge's router does its own: an
 * unknown path is 404, a known path with another method 405 with `Allow`, then the route's access
 * policy, then its handler — every refusal in JsRpc's shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PagecallError } from '../../protocol/index.js';
import { checkApiAccess } from '../access.js';
import { REQUEST_ID, RouteIndex } from '../http/router.js';
import { sendCompatError } from './respond.js';
import type { JsrpcRoute } from './route-table.js';
import type { JsrpcContext } from './routes.js';

/** Answers every HTTP request of the compat listener. */
export type JsrpcRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Builds the compat listener's request handler from its route table. */
export function createJsrpcRouter(ctx: JsrpcContext, routes: readonly JsrpcRoute[], newRequestId: () => string): JsrpcRequestListener {
  const index = new RouteIndex(routes);
  const refuse = (req: IncomingMessage, res: ServerResponse, error: PagecallError, headers: string[]): void => {
    // The body is not wanted; reading it keeps the connection usable for the next request.
    req.resume();
    sendCompatError(res, error, 'number', headers);
  };
  return (req, res) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? '';
    const at = index.lookup(path);
    if (!at) {
      refuse(req, res, new PagecallError('NOT_FOUND', `no route ${method} ${path} (JsRpc-compatible listener: /go, /execjs, /page/cookie, /page/html, /list, /details, /kick, /ws)`), ['x-request-id', requestId]);
      return;
    }
    const route = at.byMethod.get(method);
    if (!route) {
      refuse(req, res, new PagecallError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${at.allow})`), ['x-request-id', requestId, 'allow', at.allow]);
      return;
    }
    if (route.access === 'api') {
      const denied = checkApiAccess(req, ctx.config, q < 0 ? null : new URLSearchParams(url.slice(q + 1)));
      if (denied) {
        refuse(req, res, denied, ['x-request-id', requestId]);
        return;
      }
    }
    let done: void | Promise<void>;
    try {
      done = route.handler(ctx, req, res, requestId);
    } catch (error) {
      done = Promise.reject(error);
    }
    if (done instanceof Promise) {
      done.catch((error: unknown) => {
        ctx.log.error({ requestId, err: error }, 'internal error');
        sendCompatError(res, error, 'number', ['x-request-id', requestId]);
      });
    }
  };
}
