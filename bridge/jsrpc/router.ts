/**
 * Routes the compat listener's requests by its table, as the bridge's router does its own: an
 * unknown path is 404, a known path with another method 405 with `Allow`, then the route's access
 * policy, then its handler — every refusal in JsRpc's shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PagecallError } from '../../protocol/index.js';
import { discardBody } from '../http/read-body.js';
import { resolveRequest, RouteIndex } from '../http/router.js';
import { sendCompatError } from './respond.js';
import type { JsrpcRoute } from './route-table.js';
import type { JsrpcContext } from './routes.js';

/** Answers every HTTP request of the compat listener. */
export type JsrpcRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Builds the compat listener's request handler from its route table. */
export function createJsrpcRouter(ctx: JsrpcContext, routes: readonly JsrpcRoute[], newRequestId: () => string): JsrpcRequestListener {
  const index = new RouteIndex(routes);
  const refuse = (req: IncomingMessage, res: ServerResponse, error: PagecallError, headers: string[]): void => {
    // The body is not wanted: it is read (so the connection serves the next request), but only so
    // far: a huge one cuts the connection.
    discardBody(req);
    sendCompatError(res, error, 'number', headers);
  };
  return (req, res) => {
    const { requestId, route, error, headers } = resolveRequest(index, req, ctx.config, newRequestId, ' (JsRpc-compatible listener: /go, /execjs, /page/cookie, /page/html, /list, /details, /kick, /ws)');
    if (!route) {
      refuse(req, res, error, headers);
      return;
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
