/**
 * Handlers of the JsRpc-compatible routes. They read JsRpc's fields, make ordinary pagecall calls
 * (so routing, deadlines, fast failure, limits, metrics and logs are pagecall's) and answer in
 * JsRpc's shapes. bridge/jsrpc/route-table.ts says which path and method each serves.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EVAL_ACTION, PagecallError, checkAction, checkClientId, checkGroup, type Json } from '../../protocol/index.js';
import type { ClientRegistry } from '../client-registry.js';
import type { BridgeConfig } from '../config.js';
import { checkArgs } from '../http/call-schema.js';
import { queryOf } from '../http/context.js';
import type { Logger } from '../logger.js';
import type { PageHub } from '../page-hub.js';
import type { CallRequest, PendingCalls, SettledCall } from '../pending-calls.js';
import type { JsrpcLink } from './connection.js';
import { EXECJS_ACTION } from './frames.js';
import { flagField, readFields, stringField, type Fields } from './request-fields.js';
import { NO_GROUP_TEXT, sendCompatError, sendShaped, type StatusStyle } from './respond.js';
import { argFromParam, dataText, replyText } from './values.js';

/** The bridge as the compat routes see it. */
export interface JsrpcContext {
  readonly config: BridgeConfig;
  readonly registry: ClientRegistry;
  readonly pending: PendingCalls;
  readonly hub: PageHub;
  readonly log: Logger;
  readonly link: JsrpcLink;
  /** The bridge's own base URL (dashboard and native API). */
  mainUrl(): string;
}

/** Answers one request that matched its route and passed the route's access policy. */
export type JsrpcHandler = (ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string) => void | Promise<void>;

/** Code /page/cookie runs in the page. */
export const COOKIE_CODE = 'document.cookie';
/** Code /page/html runs in the page. */
export const HTML_CODE = 'document.documentElement.outerHTML';

/** How a call route answers: its status style and the fields around `data`. */
interface CallShape {
  readonly style: StatusStyle;
  /** Fields of the answer besides status and data, for the page that ran the call (null: none did). */
  fields(clientId: string | null): Record<string, unknown>;
}

const goShape = (group: string): CallShape => ({ style: 'number', fields: (clientId) => ({ group, clientId: clientId ?? '' }) });
const execShape = (group: string): CallShape => ({ style: 'string', fields: (clientId) => ({ group, name: clientId ?? '' }) });

/** GET|POST /go: runs `action` with `param` in a page of `group`. */
export async function go(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const fields = await fieldsOr(ctx, req, res, requestId, 'number');
  if (!fields) return;
  let request: CallRequest;
  let group: string;
  try {
    group = groupOf(fields);
    const action = required(fields, 'action');
    // JsRpc runs code when a caller names the page's built-in as the action: the same as /execjs here.
    if (action === EXECJS_ACTION) {
      evalRoute(ctx, req, res, requestId, fields, goShape(group), (f) => required(f, 'param'));
      return;
    }
    const actionProblem = checkAction(action);
    if (actionProblem) throw new PagecallError('BAD_REQUEST', actionProblem);
    request = { group, action, args: argsOf(ctx, fields), ...target(ctx.registry, fields, group, action), ...timeoutOf(fields, ctx.config) };
  } catch (error) {
    reply(ctx, res, requestId, error, 'number');
    return;
  }
  runCall(ctx, res, requestId, request, goShape(group));
}

/** GET|POST /execjs: runs `code` in a page of `group` (only with --allow-eval). */
export async function execjs(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  await evalFields(ctx, req, res, requestId, (f) => required(f, 'code'));
}

/** GET|POST /page/cookie: the page's `document.cookie` (only with --allow-eval). */
export async function pageCookie(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  await evalFields(ctx, req, res, requestId, () => COOKIE_CODE);
}

/** GET|POST /page/html: the page's whole HTML, `<html>` included (only with --allow-eval). */
export async function pageHtml(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  await evalFields(ctx, req, res, requestId, () => HTML_CODE);
}

/** GET /list: `{group: [clientId, ...]}` of every group, pagecall and JsRpc pages alike. */
export function list(ctx: JsrpcContext, _req: IncomingMessage, res: ServerResponse, requestId: string): void {
  const data: Record<string, string[]> = {};
  for (const group of ctx.registry.groupNames().sort()) data[group] = ctx.registry.list(group).map((c) => c.id);
  sendShaped(res, 200, 'number', { data }, ['x-request-id', requestId]);
}

/** GET /details: per group, each page's id, address, health, failed calls and actions. */
export function details(ctx: JsrpcContext, _req: IncomingMessage, res: ServerResponse, requestId: string): void {
  const now = Date.now();
  // A page is healthy while it answers the heartbeat: silent for two intervals is not (at three it is dropped).
  const healthyWithin = ctx.config.heartbeatMs * 2;
  const data: Record<string, unknown[]> = {};
  for (const group of ctx.registry.groupNames().sort()) {
    data[group] = ctx.registry.list(group).map((c) => ({
      clientId: c.id,
      clientIp: c.remoteAddress ?? '',
      isHealthy: !c.closed && now - c.lastSeen <= healthyWithin,
      failCount: c.stats.failed,
      actions: [...c.actions].sort(),
    }));
  }
  sendShaped(res, 200, 'number', { data }, ['x-request-id', requestId]);
}

/** DELETE /kick?group=&clientId=: disconnects one page. */
export async function kick(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  const fields = await fieldsOr(ctx, req, res, requestId, 'number');
  if (!fields) return;
  try {
    const group = groupOf(fields);
    const clientId = required(fields, 'clientId');
    const client = ctx.registry.get(clientId);
    if (!client || client.group !== group) throw new PagecallError('NO_CLIENT', `no page with client id ${JSON.stringify(clientId)} is connected in group ${JSON.stringify(group)}`, { group, clientId });
    ctx.hub.kick(client);
    sendShaped(res, 200, 'number', { group, clientId, data: `disconnected ${clientId} from ${group}` }, ['x-request-id', requestId]);
  } catch (error) {
    reply(ctx, res, requestId, error, 'number');
  }
}

/** GET /ws without an upgrade: says what the endpoint is for. */
export function socketOnly(_ctx: JsrpcContext, _req: IncomingMessage, res: ServerResponse, requestId: string): void {
  sendShaped(res, 426, 'number', { data: 'this is the JsRpc page socket: open it with new WebSocket("ws://…/ws?group=…&key=…") (or new HlClient(...))', code: 'BAD_REQUEST' }, ['x-request-id', requestId, 'upgrade', 'websocket']);
}

/** GET /: JsRpc serves its dashboard here; pagecall's is on the bridge's own port. */
export function dashboardRedirect(ctx: JsrpcContext, _req: IncomingMessage, res: ServerResponse, requestId: string): void {
  const location = `${ctx.mainUrl()}/`;
  sendShaped(res, 302, 'number', { data: `the dashboard is at ${location}` }, ['x-request-id', requestId, 'location', location]);
}

/** Reads the request's fields, or answers with why they cannot be read and returns null. */
async function fieldsOr(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string, style: StatusStyle): Promise<Fields | null> {
  try {
    return await readFields(req, queryOf(req), ctx.config.maxBodyBytes);
  } catch (error) {
    reply(ctx, res, requestId, error, style);
    return null;
  }
}

/** The eval routes: refused without --allow-eval before anything is read. */
async function evalFields(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string, codeOf: (fields: Fields) => string): Promise<void> {
  if (!ctx.config.allowEval) {
    req.resume();
    reply(ctx, res, requestId, evalDisabled(), 'string');
    return;
  }
  const fields = await fieldsOr(ctx, req, res, requestId, 'string');
  if (!fields) return;
  let group: string;
  try {
    group = groupOf(fields);
  } catch (error) {
    reply(ctx, res, requestId, error, 'string');
    return;
  }
  evalRoute(ctx, req, res, requestId, fields, execShape(group), codeOf);
}

/** Runs a code string through the built-in `$eval` (which a JsRpc page serves as `_execjs`); never retried. */
function evalRoute(ctx: JsrpcContext, req: IncomingMessage, res: ServerResponse, requestId: string, fields: Fields, shape: CallShape, codeOf: (fields: Fields) => string): void {
  if (!ctx.config.allowEval) {
    req.resume();
    reply(ctx, res, requestId, evalDisabled(), shape.style);
    return;
  }
  let request: CallRequest;
  try {
    const group = groupOf(fields);
    const code = codeOf(fields);
    request = { group, action: EVAL_ACTION, args: [code], retry: false, ...target(ctx.registry, fields, group, EVAL_ACTION), ...timeoutOf(fields, ctx.config) };
  } catch (error) {
    reply(ctx, res, requestId, error, shape.style);
    return;
  }
  runCall(ctx, res, requestId, request, shape);
}

function evalDisabled(): PagecallError {
  return new PagecallError('EVAL_DISABLED', 'running code in pages is off: start pagecall with --allow-eval to enable /execjs, /page/cookie, /page/html and /go?action=_execjs');
}

/**
 * Runs a call and answers with its outcome in the route's shape; cancels it (and tells the page,
 * where the page can hear it) if the caller disconnects first.
 */
function runCall(ctx: JsrpcContext, res: ServerResponse, requestId: string, request: CallRequest, shape: CallShape): void {
  request.requestId = requestId;
  let gone = false;
  const ticket = ctx.pending.start(
    request,
    (call: SettledCall) => {
      if (gone) return;
      const error = call.error;
      if (error) {
        const clientId = call.clientId ?? ((error.data as { clientId?: unknown } | undefined)?.clientId as string | undefined) ?? null;
        const e = sendCompatError(res, error, shape.style, ['x-request-id', requestId], shape.fields(typeof clientId === 'string' ? clientId : null));
        if (e.code === 'INTERNAL') ctx.log.error({ requestId, err: error }, 'internal error');
        return;
      }
      sendShaped(res, 200, shape.style, { ...shape.fields(call.clientId), data: dataOf(ctx, call) }, ['x-request-id', requestId, 'x-pagecall-client', call.clientId ?? '']);
    },
    undefined,
  );
  res.once('close', () => {
    if (res.writableFinished) return;
    gone = true;
    ctx.pending.abandon(ticket);
  });
}

/**
 * `data` of a finished call: a JsRpc page's reply exactly as it sent it (the call settles while
 * its connection holds the reply in `link.settling`), a pagecall page's result as JsRpc text.
 */
function dataOf(ctx: JsrpcContext, call: SettledCall): string {
  const settling = ctx.link.settling;
  if (settling && settling.callId === call.id) return replyText(settling.data);
  return dataText(call.value as Json);
}

function reply(ctx: JsrpcContext, res: ServerResponse, requestId: string, error: unknown, style: StatusStyle): void {
  const e = sendCompatError(res, error, style, ['x-request-id', requestId]);
  if (e.code === 'INTERNAL') ctx.log.error({ requestId, err: error }, 'internal error');
}

/** A field the route needs. */
function required(fields: Fields, name: string): string {
  const value = stringField(fields, name);
  if (value === undefined || value === '') throw new PagecallError('BAD_REQUEST', `${name}: required`);
  return value;
}

/** The group: JsRpc's words when it is missing, pagecall's rule when it is malformed. */
function groupOf(fields: Fields): string {
  const group = stringField(fields, 'group');
  if (group === undefined || group === '') throw new PagecallError('BAD_REQUEST', `${NO_GROUP_TEXT} (group: required)`);
  const problem = checkGroup(group);
  if (problem) throw new PagecallError('BAD_REQUEST', problem);
  return group;
}

/** The call's arguments: none without `param`, else the one argument it stands for (see values.ts). */
function argsOf(ctx: JsrpcContext, fields: Fields): Json[] {
  if (!fields.has('param')) return [];
  const param = fields.get('param');
  let args: Json[];
  try {
    args = [argFromParam(param)];
  } catch (error) {
    throw PagecallError.from(error, { code: 'BAD_REQUEST' });
  }
  checkArgs(args);
  // A JsRpc page gets the text as sent; the list is only ever read by the page client it reaches.
  if (typeof param === 'string') ctx.link.rawParams.set(args, param);
  return args;
}

/**
 * The page a call must go to: none named (the balancer picks among the pages with the action), an
 * exact client id, or with `fuzzy` any page of the group whose id contains the text — preferring
 * one that has the action, then the least busy.
 */
function target(registry: ClientRegistry, fields: Fields, group: string, action: string): { clientId?: string } {
  const wanted = stringField(fields, 'clientId');
  if (wanted === undefined || wanted === '') return {};
  if (!flagField(fields, 'fuzzy')) {
    const problem = checkClientId(wanted);
    if (problem) throw new PagecallError('BAD_REQUEST', problem);
    return { clientId: wanted };
  }
  const matches = registry.list(group).filter((c) => c.id.includes(wanted));
  if (matches.length === 0) throw new PagecallError('NO_CLIENT', `no page in group ${JSON.stringify(group)} has a client id containing ${JSON.stringify(wanted)}`, { group, clientId: wanted });
  const able = matches.filter((c) => action.startsWith('$') || c.actions.has(action));
  const pool = able.length > 0 ? able : matches;
  let best = pool[0]!;
  for (const c of pool) if (c.inFlight < best.inFlight) best = c;
  return { clientId: best.id };
}

/** pagecall's own `timeoutMs`, accepted here too (JsRpc has one fixed deadline). */
function timeoutOf(fields: Fields, config: BridgeConfig): { timeoutMs?: number } {
  const value = fields.get('timeoutMs');
  if (value === undefined || value === null || value === '') return {};
  const ms = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms <= 0) throw new PagecallError('BAD_REQUEST', `timeoutMs: expected a whole number of milliseconds above 0, got ${JSON.stringify(value)}`);
  if (ms > config.maxTimeoutMs) throw new PagecallError('BAD_REQUEST', `timeoutMs: at most ${config.maxTimeoutMs}, got ${ms}`);
  return { timeoutMs: ms };
}
