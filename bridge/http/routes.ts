/**
 * HTTP routes. The hot ones (POST /v1/call, POST /v1/batch) are plain node:http handlers; the rest
 * go through express. Routes parse, call and shape; errors all go through sendError.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { PROTOCOL_VERSION, PagecallError, checkClientId, checkGroup } from '../../protocol/index.js';
import { checkApiAccess, requestToken, tokenMatches } from '../access.js';
import type { ClientRegistry } from '../client-registry.js';
import type { BridgeConfig } from '../config.js';
import { injectorScript } from '../injector-script.js';
import type { Logger } from '../logger.js';
import type { PageHub } from '../page-hub.js';
import type { CallRequest, CallTicket, PendingCalls, SettledCall } from '../pending-calls.js';
import { parseBatchBody, parseCallBody, parseCallQuery, parseEvalBody } from './call-schema.js';
import { readJsonBody } from './read-body.js';
import { sendError, sendJson } from './respond.js';

/** What the routes need from the bridge. */
export interface RouteContext {
  config: BridgeConfig;
  registry: ClientRegistry;
  pending: PendingCalls;
  hub: PageHub;
  log: Logger;
  version: string;
}

function reportError(ctx: RouteContext, res: ServerResponse, error: unknown, requestId: string): void {
  const e = sendError(res, error, ['x-request-id', requestId]);
  if (e.code === 'INTERNAL') ctx.log.error({ requestId, err: error }, 'internal error');
}

/** Runs `onGone` if the HTTP caller disconnects before its response is written. */
function onCallerGone(res: ServerResponse, onGone: () => void): void {
  res.once('close', () => {
    if (!res.writableFinished) onGone();
  });
}

/**
 * Runs one call for an HTTP caller and answers with its outcome; cancels it (and tells the page)
 * if the caller disconnects first.
 */
function respondToCall(ctx: RouteContext, res: ServerResponse, request: CallRequest, requestId: string): void {
  request.requestId = requestId;
  let gone = false;
  const ticket = ctx.pending.start(
    request,
    (call: SettledCall) => {
      if (gone) return;
      if (call.error) reportError(ctx, res, call.error, requestId);
      else sendJson(res, 200, { ok: true, result: call.value, clientId: call.clientId, durationMs: call.durationMs }, ['x-request-id', requestId, 'x-pagecall-client', call.clientId!]);
    },
    undefined,
  );
  onCallerGone(res, () => {
    gone = true;
    ctx.pending.abandon(ticket);
  });
}

/** Reads a JSON body, turns it into a call with `parse`, and answers with the call's outcome. */
async function callFromBody(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  parse: (body: unknown, config: BridgeConfig) => CallRequest,
): Promise<void> {
  let request: CallRequest;
  try {
    request = parse(await readJsonBody(req, ctx.config.maxBodyBytes), ctx.config);
  } catch (error) {
    reportError(ctx, res, error, requestId);
    return;
  }
  respondToCall(ctx, res, request, requestId);
}

/** POST /v1/call */
export function handleCallPost(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  return callFromBody(ctx, req, res, requestId, parseCallBody);
}

/** POST /v1/batch: results in request order, each `{ok, result}` or `{ok: false, error}`. */
export async function handleBatchPost(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  let items;
  try {
    items = parseBatchBody(await readJsonBody(req, ctx.config.maxBodyBytes), ctx.config);
  } catch (error) {
    reportError(ctx, res, error, requestId);
    return;
  }
  // One callback for the whole batch, told each item's index: no promise or closure per item.
  const results: unknown[] = new Array(items.length);
  const tickets: CallTicket[] = [];
  let left = 1;
  let gone = false;
  const answer = (): void => {
    if (!gone) sendJson(res, 200, { ok: true, results }, ['x-request-id', requestId]);
  };
  const onItem = (call: SettledCall, i: number): void => {
    const error = call.error;
    results[i] = error ? { ok: false, error: error.toWire() } : { ok: true, result: call.value, clientId: call.clientId, durationMs: call.durationMs };
    if (--left === 0) answer();
  };
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (!item.ok) {
      results[i] = { ok: false, error: item.error.toWire() };
      continue;
    }
    item.request.requestId = requestId;
    left++;
    tickets.push(ctx.pending.start(item.request, onItem, i));
  }
  onCallerGone(res, () => {
    gone = true;
    for (const ticket of tickets) ctx.pending.abandon(ticket);
  });
  if (--left === 0) answer();
}

const queryOf = (req: Request): URLSearchParams => new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');

/** The express app serving everything but the hot routes. */
export function createApp(ctx: RouteContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const api = express.Router();
  api.use((req: Request, res: Response, next: NextFunction) => {
    const denied = checkApiAccess(req, ctx.config, queryOf(req));
    if (denied) sendError(res, denied);
    else next();
  });

  api.get('/call', (req: Request, res: Response) => {
    let request: CallRequest;
    try {
      request = parseCallQuery(queryOf(req), ctx.config);
    } catch (error) {
      reportError(ctx, res, error, String(res.getHeader('x-request-id')));
      return;
    }
    return respondToCall(ctx, res, request, String(res.getHeader('x-request-id')));
  });

  api.post('/eval', async (req: Request, res: Response) => {
    const requestId = String(res.getHeader('x-request-id'));
    if (!ctx.config.allowEval) {
      req.resume();
      sendError(res, new PagecallError('EVAL_DISABLED', 'running code strings in pages is off; start the bridge with --allow-eval (or PAGECALL_ALLOW_EVAL=true) to enable POST /v1/eval'));
      return;
    }
    await callFromBody(ctx, req, res, requestId, parseEvalBody);
  });

  api.get('/clients', (req: Request, res: Response) => {
    const group = queryOf(req).get('group') ?? undefined;
    const clients = ctx.registry.list(group).map((c) => c.info());
    sendJson(res, 200, { ok: true, clients });
  });

  api.delete('/clients/:id', (req: Request, res: Response) => {
    const id = String(req.params.id);
    const client = ctx.registry.get(id);
    if (!client) {
      sendError(res, new PagecallError('CLIENT_NOT_FOUND', `no page with client id ${JSON.stringify(id)} is connected`, { clientId: id }));
      return;
    }
    ctx.hub.kick(client);
    sendJson(res, 200, { ok: true, clientId: id });
  });

  api.all(['/call', '/batch', '/eval', '/clients', '/clients/:id'], (req: Request, res: Response) => {
    sendError(res, new PagecallError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path === '/' ? '' : '/v1'}${req.path}`));
  });

  app.use('/v1', api);

  // Pages probe this before connecting (Chrome's Local Network Access prompt is triggered by a
  // fetch, not by a WebSocket), so it is readable from any origin and answers LNA preflights.
  const healthHeaders = (res: Response): void => {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-private-network', 'true');
    res.setHeader('access-control-allow-local-network', 'true');
    res.setHeader('cache-control', 'no-store');
  };
  app.options('/health', (_req: Request, res: Response) => {
    healthHeaders(res);
    res.setHeader('access-control-allow-methods', 'GET');
    res.setHeader('access-control-max-age', '600');
    res.status(204).end();
  });
  app.get('/health', (_req: Request, res: Response) => {
    healthHeaders(res);
    sendJson(res, 200, { ok: true, name: 'pagecall', version: ctx.version, protocol: PROTOCOL_VERSION, clients: ctx.registry.size, tokenRequired: ctx.config.token !== undefined });
  });

  app.get('/injector.js', (req: Request, res: Response) => {
    const query = queryOf(req);
    const group = query.get('group') ?? 'default';
    const clientId = query.get('clientId') ?? undefined;
    const problem = checkGroup(group) ?? (clientId !== undefined ? checkClientId(clientId) : undefined);
    if (problem) {
      sendError(res, new PagecallError('BAD_REQUEST', problem));
      return;
    }
    const token = requestToken(req, query);
    if (ctx.config.token !== undefined && !tokenMatches(token, ctx.config.token)) {
      sendError(res, new PagecallError('UNAUTHORIZED', 'this bridge requires a token: load /injector.js?group=...&token=<token>'));
      return;
    }
    const bridgeUrl = `${req.protocol}://${req.headers.host ?? `${ctx.config.host}:${ctx.config.port}`}`;
    const settings: Parameters<typeof injectorScript>[0] = { bridgeUrl, group };
    if (ctx.config.token !== undefined) settings.token = ctx.config.token;
    if (clientId !== undefined) settings.clientId = clientId;
    res.setHeader('content-type', 'text/javascript; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('cross-origin-resource-policy', 'cross-origin');
    res.send(injectorScript(settings));
  });

  app.use((req: Request, res: Response) => {
    sendError(res, new PagecallError('NOT_FOUND', `no route ${req.method} ${req.path}`));
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    // Express reports bad client input (a path parameter that is not valid percent-encoding) as an
    // error with a 4xx status: that is the caller's mistake, not an INTERNAL one.
    const status = (error as { status?: unknown } | null)?.status;
    const coded = typeof status === 'number' && status >= 400 && status < 500 && !(error instanceof PagecallError)
      ? new PagecallError('BAD_REQUEST', `${req.method} ${req.path}: ${(error as Error).message}`)
      : error;
    reportError(ctx, res, coded, String(res.getHeader('x-request-id')));
  });
  return app;
}
