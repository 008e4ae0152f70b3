/**
 * Handlers of the API routes (calls, batches, eval, pages) and the public ones (health, injector).
 * They parse, call and shape; errors all go through sendError. bridge/http/route-table.ts says
 * which path and method each serves and who may use it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROTOCOL_VERSION, PagecallError, checkClientId, checkGroup } from '../../protocol/index.js';
import type { BridgeConfig } from '../config.js';
import { injectorBundle, injectorModule, injectorScript, keylessInjectorScript, loaderSnippet, wsUrlFor, type InjectorSettings } from '../injector-script.js';
import type { CallRequest, CallTicket, SettledCall } from '../pending-calls.js';
import { parseBatchBody, parseCallBody, parseCallQuery, parseEvalBody } from './call-schema.js';
import { queryOf, type HttpContext, type RouteParams } from './context.js';
import { discardBody, readJsonBody } from './read-body.js';
import { resultParts, sendError, sendJson, sendJsonParts } from './respond.js';

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
      if (call.error) {
        reportError(ctx, res, call.error, requestId);
        return;
      }
      const headers = ['x-request-id', requestId, 'x-pagecall-client', call.clientId!];
      if (call.node !== null) headers.push('x-pagecall-node', call.node);
      sendJsonParts(res, 200, resultParts(call), headers);
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
  // Results that passed through from pages, as pieces of the answer (respond.ts), by index.
  let passed: Map<number, Array<string | Buffer>> | undefined;
  const tickets: CallTicket[] = [];
  let left = 1;
  let gone = false;
  const answer = (): void => {
    if (gone) return;
    if (passed === undefined) {
      sendJson(res, 200, { ok: true, results }, ['x-request-id', requestId]);
      return;
    }
    const parts: Array<string | Buffer> = ['{"ok":true,"results":['];
    for (let i = 0; i < results.length; i++) {
      if (i > 0) parts.push(',');
      const own = passed.get(i);
      if (own) parts.push(...own);
      else parts.push(JSON.stringify(results[i]));
    }
    parts.push(']}');
    sendJsonParts(res, 200, parts, ['x-request-id', requestId]);
  };
  const onItem = (call: SettledCall, i: number): void => {
    const error = call.error;
    if (!error && call.raw !== undefined) (passed ??= new Map()).set(i, resultParts(call));
    else results[i] = error ? { ok: false, error: error.toWire() } : { ok: true, result: call.value, clientId: call.clientId, durationMs: call.durationMs };
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
    discardBody(req);
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
  const body: Record<string, unknown> = {
    ok: true,
    name: 'pagecall',
    version: ctx.version,
    protocol: PROTOCOL_VERSION,
    clients: ctx.registry.size,
    tokenRequired: ctx.config.token !== undefined,
    // Pages admitted without the page key (--open-pages): said here so nobody runs that way unknowingly.
    openPages: ctx.config.openPages && ctx.config.token === undefined,
  };
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

/**
 * The bridge's base URL as the requester reached it (the bridge serves plain HTTP): pages connect
 * back to the address they loaded the injector from.
 */
function bridgeUrlOf(ctx: HttpContext, req: IncomingMessage): string {
  const fallback = `http://${ctx.config.host.includes(':') ? `[${ctx.config.host}]` : ctx.config.host}:${ctx.config.port}`;
  try {
    return new URL(`http://${req.headers.host ?? ''}`).origin;
  } catch {
    return fallback;
  }
}

function sendScript(res: ServerResponse, script: string): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/javascript; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(script));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('cross-origin-resource-policy', 'cross-origin');
  res.end(script);
}

/**
 * GET /injector.js: the page client. Bare, it only installs `pagecall` (the page then calls
 * pagecall.connect({url, group, key})). With `?group=` (the old way to connect from a script tag)
 * it connects only to a bridge running with --open-pages; otherwise it says in the console how to
 * get a snippet that carries the key. It never holds a secret, so anyone may load it.
 */
export function injector(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): void {
  const query = queryOf(req);
  const asked = ['group', 'clientId', 'token', 'key'].some((name) => query.has(name));
  if (!asked) {
    sendScript(res, injectorBundle());
    return;
  }
  const group = query.get('group') ?? 'default';
  const clientId = query.get('clientId') ?? undefined;
  const problem = checkGroup(group) ?? (clientId !== undefined ? checkClientId(clientId) : undefined);
  if (problem) {
    sendError(res, new PagecallError('BAD_REQUEST', problem));
    return;
  }
  const bridgeUrl = bridgeUrlOf(ctx, req);
  if (query.has('token') || query.has('key')) {
    sendScript(res, keylessInjectorScript(bridgeUrl, group, 'secret'));
    return;
  }
  if (!ctx.config.openPages || ctx.config.token !== undefined) {
    sendScript(res, keylessInjectorScript(bridgeUrl, group, 'group'));
    return;
  }
  const settings: InjectorSettings = { bridgeUrl, group };
  if (clientId !== undefined) settings.clientId = clientId;
  sendScript(res, injectorScript(settings));
}

/** GET /injector.mjs: the page client as an ES module that installs itself (what the console snippet imports). */
export function injectorEsm(_ctx: HttpContext, _req: IncomingMessage, res: ServerResponse): void {
  sendScript(res, injectorModule());
}

/**
 * GET /v1/page-key?group=G: what a page of group G needs, for whoever may use the API (the
 * dashboard's snippet, the launcher joining a running bridge, `pagecall injector`): the key that
 * admits group G only, the WebSocket URL and the console snippet.
 */
export function pageKey(ctx: HttpContext, req: IncomingMessage, res: ServerResponse): void {
  const group = queryOf(req).get('group');
  const problem = group === null ? 'group: required (the key admits pages to this group only)' : checkGroup(group);
  if (problem || group === null) {
    sendError(res, new PagecallError('BAD_REQUEST', problem ?? 'group: required'));
    return;
  }
  const bridgeUrl = bridgeUrlOf(ctx, req);
  const key = ctx.keys.groupKey(group);
  res.setHeader('cache-control', 'no-store');
  sendJson(res, 200, { ok: true, group, key, url: wsUrlFor(bridgeUrl), snippet: loaderSnippet(bridgeUrl, group, key) });
}
