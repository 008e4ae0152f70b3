/**
 * Handlers of the API routes (calls, batches, eval, pages) and the public ones (health, injector).
 * They parse, call and shape; errors all go through sendError. bridge/http/route-table.ts says
 * which path and method each serves and who may use it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROTOCOL_VERSION, PagecallError, checkClientId, checkGroup } from '../../protocol/index.js';
import { requestToken, tokenMatches } from '../access.js';
import type { BridgeConfig } from '../config.js';
import { injectorScript } from '../injector-script.js';
import type { CallRequest, CallTicket, SettledCall } from '../pending-calls.js';
import { parseBatchBody, parseCallBody, parseCallQuery, parseEvalBody } from './call-schema.js';
import { queryOf, type HttpContext, type RouteParams } from './context.js';
import { readJsonBody } from './read-body.js';
import { sendError, sendJson } from './respond.js';

function reportError(ctx: HttpContext, res: ServerResponse, error: unknown, requestId: string): void {
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
function respondToCall(ctx: HttpContext, res: ServerResponse, request: CallRequest, requestId: string): void {
  request.requestId = requestId;
  let gone = false;
  const ticket = ctx.pending.start(
    request,
    (call: SettledCall) => {
      if (gone) return;
      if (call.error) reportError(ctx, res, call.error, requestId);
      else if (call.node === null) sendJson(res, 200, { ok: true, result: call.value, clientId: call.clientId, durationMs: call.durationMs }, ['x-request-id', requestId, 'x-pagecall-client', call.clientId!]);
      else sendJson(res, 200, { ok: true, result: call.value, clientId: call.clientId, durationMs: call.durationMs }, ['x-request-id', requestId, 'x-pagecall-client', call.clientId!, 'x-pagecall-node', call.node]);
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
  ctx: HttpContext,
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
export function handleCallPost(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  return callFromBody(ctx, req, res, requestId, parseCallBody);
}

/** POST /v1/batch: results in request order, each `{ok, result}` or `{ok: false, error}`. */
export async function handleBatchPost(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
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

/** GET /v1/call?group=&action=&args=[...] */
export function handleCallGet(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, requestId: string): void {
  let request: CallRequest;
  try {
    request = parseCallQuery(queryOf(req), ctx.config);
  } catch (error) {
    reportError(ctx, res, error, requestId);
    return;
  }
  respondToCall(ctx, res, request, requestId);
}

/** POST /v1/eval: EVAL_DISABLED unless the bridge runs with --allow-eval. */
export async function handleEval(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  if (!ctx.config.allowEval) {
    req.resume();
    sendError(res, new PagecallError('EVAL_DISABLED', 'running code strings in pages is off; start the bridge with --allow-eval (or PAGECALL_ALLOW_EVAL=true) to enable POST /v1/eval'));
    return;
  }
  await callFromBody(ctx, req, res, requestId, parseEvalBody);
}

/** GET /v1/clients?group=: in a cluster, every node's pages, each with its `node`. */
export async function listClients(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const group = queryOf(req).get('group') ?? undefined;
  const local = ctx.registry.list(group).map((c) => c.info());
  if (!ctx.cluster) {
    sendJson(res, 200, { ok: true, clients: local });
    return;
  }
  const { items, missing } = await ctx.cluster.listClients(local, group);
  const status = ctx.cluster.status();
  sendJson(res, 200, { ok: true, clients: items, cluster: { node: status.node, nats: status.nats, nodes: status.nodes.map((n) => n.node), missing } });
}

/** DELETE /v1/clients/:id: a page of any node of the cluster. */
export async function kickClient(ctx: HttpContext, _req: IncomingMessage, res: ServerResponse, _requestId: string, params: RouteParams): Promise<void> {
  const id = params.id ?? '';
  const client = ctx.registry.get(id);
  if (client) ctx.hub.kick(client);
  else if (!(await ctx.cluster?.kick(id))) {
    sendError(res, new PagecallError('CLIENT_NOT_FOUND', `no page with client id ${JSON.stringify(id)} is connected${ctx.cluster ? ' to any node' : ''}`, { clientId: id }));
    return;
  }
  sendJson(res, 200, { ok: true, clientId: id });
}

/** GET /v1/cluster: this node's view of its cluster (NATS state, nodes); 404 NOT_FOUND on a single bridge. */
export function clusterStatus(ctx: HttpContext, _req: IncomingMessage, res: ServerResponse): void {
  if (!ctx.cluster) {
    sendError(res, new PagecallError('NOT_FOUND', 'this bridge is not in a cluster; start it with --nats <url> to join one'));
    return;
  }
  sendJson(res, 200, { ok: true, cluster: ctx.cluster.status() });
}

// Pages probe /health before connecting (Chrome's Local Network Access prompt is triggered by a
// fetch, not by a WebSocket), so it is readable from any origin and answers LNA preflights.
function healthHeaders(res: ServerResponse): void {
  res.setHeader('access-control-allow-private-network', 'true');
  res.setHeader('access-control-allow-local-network', 'true');
  res.setHeader('cache-control', 'no-store');
}

/** OPTIONS /health: the Local Network Access preflight. */
export function healthPreflight(_ctx: HttpContext, _req: IncomingMessage, res: ServerResponse): void {
  healthHeaders(res);
  res.setHeader('access-control-allow-methods', 'GET');
  res.setHeader('access-control-max-age', '600');
  res.statusCode = 204;
  res.end();
}

/** GET /health */
export function health(ctx: HttpContext, _req: IncomingMessage, res: ServerResponse): void {
  healthHeaders(res);
  const body: Record<string, unknown> = { ok: true, name: 'pagecall', version: ctx.version, protocol: PROTOCOL_VERSION, clients: ctx.registry.size, tokenRequired: ctx.config.token !== undefined };
  if (ctx.cluster) {
    // Public (pages probe it): the state only, not the NATS server or the other nodes' addresses.
    const status = ctx.cluster.status();
    body.cluster = {
      node: status.node,
      nats: status.nats,
      nodes: status.nodes.length,
      ...(status.nats === 'connected' ? {} : { note: "NATS is not reachable: this node serves its own pages only, and keeps trying to rejoin" }),
    };
  }
  sendJson(res, 200, body);
}

/** GET /injector.js?group=&clientId=&token=: the page client, preconfigured to connect back here. */
export function injector(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): void {
  const query = queryOf(req);
  const group = query.get('group') ?? 'default';
  const clientId = query.get('clientId') ?? undefined;
  const problem = checkGroup(group) ?? (clientId !== undefined ? checkClientId(clientId) : undefined);
  if (problem) {
    sendError(res, new PagecallError('BAD_REQUEST', problem));
    return;
  }
  if (ctx.config.token !== undefined && !tokenMatches(requestToken(req, query), ctx.config.token)) {
    sendError(res, new PagecallError('UNAUTHORIZED', 'this bridge requires a token: load /injector.js?group=...&token=<token>'));
    return;
  }
  // The bridge serves plain HTTP; the URL pages connect back to is the one they loaded this from.
  const bridgeUrl = `http://${req.headers.host ?? `${ctx.config.host}:${ctx.config.port}`}`;
  const settings: Parameters<typeof injectorScript>[0] = { bridgeUrl, group };
  if (ctx.config.token !== undefined) settings.token = ctx.config.token;
  if (clientId !== undefined) settings.clientId = clientId;
  const script = injectorScript(settings);
  res.statusCode = 200;
  res.setHeader('content-type', 'text/javascript; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(script));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('cross-origin-resource-policy', 'cross-origin');
  res.end(script);
}
