/**
 * Validation at the boundary. Every frame from the other side goes through these before anything
 * acts on it; failures name the field (`actions[3]: expected string, got number`).
 */
import type { Json } from './codec.js';
import { isErrorCode } from './errors.js';
import { CLIENT_CONTEXTS } from './messages.js';
import type {
  BridgeMessage,
  CancelMessage,
  ClientContext,
  ErrorMessage,
  EventError,
  EventsMessage,
  HelloMessage,
  InvokeMessage,
  PageErrorPayload,
  PageMessage,
  PingMessage,
  PongMessage,
  ResultMessage,
  UpdateMessage,
  WelcomeMessage,
} from './messages.js';

// Captured at load: in a page, the injector loads before site code that may patch these.
const isArray = Array.isArray;
const stringify = JSON.stringify;
const hasOwn = Object.prototype.hasOwnProperty;

/** Outcome of a check: the typed value, or what was wrong with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Group names: letters, digits and `_ . : -`, 1–64 characters. */
export const GROUP_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
/** Action names: letters, digits and `_ . : / -`, 1–128 characters; a leading `$` is reserved. */
export const ACTION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
/** Topic names: letters, digits and `_ . : / -`, 1–128 characters, as action names. */
export const TOPIC_PATTERN = ACTION_PATTERN;
/** Client ids: letters, digits, `_` and `-`, 1–64 characters. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest page URL and title kept; longer ones are cut, not refused. */
export const MAX_URL_LENGTH = 2048;
export const MAX_TITLE_LENGTH = 512;

/** Describes a value's type for messages: `array`, `null`, `object`, `string`... */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (isArray(value)) return 'array';
  return typeof value;
}

function expected(field: string, what: string, value: unknown): string {
  return `${field}: expected ${what}, got ${typeName(value)}`;
}

/** Checks a group name. */
export function checkGroup(value: unknown, field = 'group'): string | undefined {
  if (typeof value !== 'string') return expected(field, 'string', value);
  if (!GROUP_PATTERN.test(value)) return `${field}: ${stringify(value.slice(0, 80))} is not a valid group name (letters, digits, _ . : -, at most 64)`;
  return undefined;
}

/** Checks an action name. */
export function checkAction(value: unknown, field = 'action'): string | undefined {
  if (typeof value !== 'string') return expected(field, 'string', value);
  if (!ACTION_PATTERN.test(value)) return `${field}: ${stringify(value.slice(0, 80))} is not a valid action name (letters, digits, _ . : / -, at most 128, not starting with $)`;
  return undefined;
}

/** Checks a topic name. */
export function checkTopic(value: unknown, field = 'topic'): string | undefined {
  if (typeof value !== 'string') return expected(field, 'string', value);
  if (!TOPIC_PATTERN.test(value)) return `${field}: ${stringify(value.slice(0, 80))} is not a valid topic name (letters, digits, _ . : / -, at most 128, not starting with $)`;
  return undefined;
}

/** Checks a client id. */
export function checkClientId(value: unknown, field = 'clientId'): string | undefined {
  if (typeof value !== 'string') return expected(field, 'string', value);
  if (!CLIENT_ID_PATTERN.test(value)) return `${field}: ${stringify(value.slice(0, 80))} is not a valid client id (letters, digits, _ -, at most 64)`;
  return undefined;
}

function checkActionList(value: unknown, field: string, maxActions: number): Checked<string[]> {
  if (!isArray(value)) return { ok: false, error: expected(field, 'array', value) };
  if (value.length > maxActions) return { ok: false, error: `${field}: at most ${maxActions} actions, got ${value.length}` };
  const actions: string[] = value;
  for (let i = 0; i < actions.length; i++) {
    const error = checkAction(actions[i], `${field}[${i}]`);
    if (error) return { ok: false, error };
  }
  return { ok: true, value: actions };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !isArray(value);
}

function cut(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

/** Limits the page-side checks enforce. */
export interface PageMessageLimits {
  /** Most actions one page may register. */
  maxActions: number;
}

/** Checks one message type: gets the message as an object whose `type` already matched. */
export type Guard<M, L = void> = (m: Record<string, unknown>, limits: L) => Checked<M>;

/** One guard per message type of a union: a type without a guard does not compile. */
export type GuardTable<U extends { type: string }, L = void> = { readonly [K in U['type']]: Guard<Extract<U, { type: K }>, L> };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

function checkHello(m: Record<string, unknown>, limits: PageMessageLimits): Checked<HelloMessage> {
  const { v, group, clientId, token, key, resume, context, url, title, actions } = m;
  if (typeof v !== 'number') return fail(expected('v', 'number', v));
  if (typeof group !== 'string') return fail(expected('group', 'string', group));
  const groupError = checkGroup(group);
  if (groupError) return fail(groupError);
  if (clientId !== undefined) {
    const error = checkClientId(clientId);
    if (error) return fail(error);
  }
  if (token !== undefined && typeof token !== 'string') return fail(expected('token', 'string', token));
  if (key !== undefined && typeof key !== 'string') return fail(expected('key', 'string', key));
  if (resume !== undefined && typeof resume !== 'string') return fail(expected('resume', 'string', resume));
  if (context !== undefined && !CLIENT_CONTEXTS.includes(context as ClientContext)) {
    return fail(`context: expected one of ${CLIENT_CONTEXTS.join(', ')}, got ${stringify(typeName(context) === 'string' ? context : typeName(context))}`);
  }
  if (typeof url !== 'string') return fail(expected('url', 'string', url));
  if (typeof title !== 'string') return fail(expected('title', 'string', title));
  const checkedActions = checkActionList(actions, 'actions', limits.maxActions);
  if (!checkedActions.ok) return checkedActions;
  const hello: HelloMessage = {
    type: 'hello',
    v,
    group,
    url: cut(url, MAX_URL_LENGTH),
    title: cut(title, MAX_TITLE_LENGTH),
    actions: checkedActions.value,
  };
  if (typeof clientId === 'string') hello.clientId = clientId;
  if (typeof token === 'string') hello.token = token;
  if (typeof key === 'string') hello.key = key;
  if (typeof resume === 'string') hello.resume = resume;
  if (context !== undefined) hello.context = context as ClientContext;
  return { ok: true, value: hello };
}

function checkUpdate(m: Record<string, unknown>, limits: PageMessageLimits): Checked<UpdateMessage> {
  const update: UpdateMessage = { type: 'update' };
  if (m.actions !== undefined) {
    const checked = checkActionList(m.actions, 'actions', limits.maxActions);
    if (!checked.ok) return checked;
    update.actions = checked.value;
  }
  if (m.url !== undefined) {
    if (typeof m.url !== 'string') return fail(expected('url', 'string', m.url));
    update.url = cut(m.url, MAX_URL_LENGTH);
  }
  if (m.title !== undefined) {
    if (typeof m.title !== 'string') return fail(expected('title', 'string', m.title));
    update.title = cut(m.title, MAX_TITLE_LENGTH);
  }
  return { ok: true, value: update };
}

function checkPageError(value: unknown): Checked<PageErrorPayload> {
  if (!isRecord(value)) return fail(expected('error', 'object', value));
  const { code, name, message, stack } = value;
  if (code !== undefined && typeof code !== 'string') return fail(expected('error.code', 'string', code));
  if (typeof name !== 'string') return fail(expected('error.name', 'string', name));
  if (typeof message !== 'string') return fail(expected('error.message', 'string', message));
  if (stack !== undefined && typeof stack !== 'string') return fail(expected('error.stack', 'string', stack));
  const out: PageErrorPayload = { name, message };
  // A code outside the catalogue says nothing the bridge can act on: the failure is the page's own.
  if (isErrorCode(code)) out.code = code;
  if (stack !== undefined) out.stack = stack;
  return { ok: true, value: out };
}

function checkResult(m: Record<string, unknown>): Checked<ResultMessage> {
  const { id } = m;
  if (typeof id !== 'string') return fail(expected('id', 'string', id));
  if (m.ok === true) {
    return { ok: true, value: { type: 'result', id, ok: true, value: m.value === undefined ? { $undefined: true } : (m.value as Json) } };
  }
  if (m.ok === false) {
    const error = checkPageError(m.error);
    if (!error.ok) return error;
    return { ok: true, value: { type: 'result', id, ok: false, error: error.value } };
  }
  return fail(expected('ok', 'boolean', m.ok));
}

/** Most items (values and errors) one events message may carry. */
export const MAX_EVENTS_PER_MESSAGE = 100_000;

function checkEventErrors(value: unknown, items: number): Checked<EventError[]> {
  if (!isArray(value)) return fail(expected('errors', 'array', value));
  if (value.length + items > MAX_EVENTS_PER_MESSAGE) return fail(`errors: at most ${MAX_EVENTS_PER_MESSAGE} items and errors in one message, got ${value.length + items}`);
  const out: EventError[] = [];
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    const entry: unknown = value[i];
    if (!isRecord(entry)) return fail(expected(`errors[${i}]`, 'object', entry));
    const at = entry.at;
    if (typeof at !== 'number' || !Number.isInteger(at) || at < last || at > items) {
      return fail(`errors[${i}].at: expected a whole number from ${last} to ${items}, got ${typeof at === 'number' ? at : typeName(at)}`);
    }
    last = at;
    const error = checkPageError(entry.error);
    if (!error.ok) return fail(`errors[${i}].${error.error}`);
    out.push({ at, error: error.value });
  }
  return { ok: true, value: out };
}

function checkEvents(m: Record<string, unknown>): Checked<EventsMessage> {
  const { topic, items, errors, dropped } = m;
  const topicError = checkTopic(topic);
  if (topicError) return fail(topicError);
  if (!isArray(items)) return fail(expected('items', 'array', items));
  if (items.length > MAX_EVENTS_PER_MESSAGE) return fail(`items: at most ${MAX_EVENTS_PER_MESSAGE} in one message, got ${items.length}`);
  // Parsed JSON holds only JSON values: the items are Json by construction.
  const events: EventsMessage = { type: 'events', topic: topic as string, items: items as Json[] };
  if (errors !== undefined) {
    const checked = checkEventErrors(errors, items.length);
    if (!checked.ok) return checked;
    if (checked.value.length > 0) events.errors = checked.value;
  }
  if (dropped !== undefined) {
    if (typeof dropped !== 'number' || !Number.isSafeInteger(dropped) || dropped < 0) return fail(`dropped: expected a whole number of at least 0, got ${typeof dropped === 'number' ? dropped : typeName(dropped)}`);
    if (dropped > 0) events.dropped = dropped;
  }
  return { ok: true, value: events };
}

function checkPong(m: Record<string, unknown>): Checked<PongMessage> {
  return typeof m.t === 'number' ? { ok: true, value: { type: 'pong', t: m.t } } : fail(expected('t', 'number', m.t));
}

/** The guards of every message a page sends. */
const PAGE_GUARDS: GuardTable<PageMessage, PageMessageLimits> = {
  hello: checkHello,
  update: checkUpdate,
  result: checkResult,
  pong: checkPong,
  events: checkEvents,
};

function checkWelcome(m: Record<string, unknown>): Checked<WelcomeMessage> {
  const { v, clientId, group, heartbeatMs, maxFrameBytes, allowEval, resume } = m;
  if (typeof v !== 'number') return fail(expected('v', 'number', v));
  if (typeof clientId !== 'string') return fail(expected('clientId', 'string', clientId));
  if (typeof group !== 'string') return fail(expected('group', 'string', group));
  if (typeof heartbeatMs !== 'number') return fail(expected('heartbeatMs', 'number', heartbeatMs));
  if (typeof maxFrameBytes !== 'number') return fail(expected('maxFrameBytes', 'number', maxFrameBytes));
  if (allowEval !== undefined && typeof allowEval !== 'boolean') return fail(expected('allowEval', 'boolean', allowEval));
  if (resume !== undefined && typeof resume !== 'string') return fail(expected('resume', 'string', resume));
  // Built as one literal: in a page, assigning `resume` to an object would call a setter the site
  // may have put on Object.prototype, handing it the secret.
  const welcome: WelcomeMessage = {
    type: 'welcome',
    v,
    clientId,
    group,
    heartbeatMs,
    maxFrameBytes,
    ...(allowEval !== undefined ? { allowEval } : {}),
    ...(resume !== undefined ? { resume } : {}),
  };
  return { ok: true, value: welcome };
}

function checkInvoke(m: Record<string, unknown>): Checked<InvokeMessage> {
  const { id, action, args, timeoutMs } = m;
  if (typeof id !== 'string') return fail(expected('id', 'string', id));
  if (typeof action !== 'string') return fail(expected('action', 'string', action));
  if (!isArray(args)) return fail(expected('args', 'array', args));
  if (typeof timeoutMs !== 'number') return fail(expected('timeoutMs', 'number', timeoutMs));
  // Parsed JSON holds only JSON values: the array's items are Json by construction.
  return { ok: true, value: { type: 'invoke', id, action, args: args as Json[], timeoutMs } };
}

function checkCancel(m: Record<string, unknown>): Checked<CancelMessage> {
  if (typeof m.id !== 'string') return fail(expected('id', 'string', m.id));
  // A cancel must get through whatever its reason says: one outside the catalogue reads as CANCELLED.
  return { ok: true, value: { type: 'cancel', id: m.id, reason: isErrorCode(m.reason) ? m.reason : 'CANCELLED' } };
}

function checkPing(m: Record<string, unknown>): Checked<PingMessage> {
  return typeof m.t === 'number' ? { ok: true, value: { type: 'ping', t: m.t } } : fail(expected('t', 'number', m.t));
}

function checkError(m: Record<string, unknown>): Checked<ErrorMessage> {
  if (!isErrorCode(m.code)) return fail(`code: ${stringify(typeName(m.code) === 'string' ? m.code : typeName(m.code))} is not an error code`);
  if (typeof m.message !== 'string') return fail(expected('message', 'string', m.message));
  return { ok: true, value: { type: 'error', code: m.code, message: m.message } };
}

/** The guards of every message the bridge sends. */
const BRIDGE_GUARDS: GuardTable<BridgeMessage> = {
  welcome: checkWelcome,
  invoke: checkInvoke,
  cancel: checkCancel,
  ping: checkPing,
  error: checkError,
};

/** Checks `value` with the guard its `type` names in `table`; a value without one is refused. */
function checkWith<U extends { type: string }, L>(table: GuardTable<U, L>, value: unknown, limits: L): Checked<U> {
  if (!isRecord(value)) return fail(expected('message', 'object', value));
  const type = value.type;
  if (typeof type !== 'string' || !hasOwn.call(table, type)) {
    return fail(`type: unknown message type ${stringify(typeof type === 'string' ? type : typeName(type))}`);
  }
  // The key was checked above; each entry guards exactly the member of U with that type.
  const guard = table[type as U['type']] as Guard<U, L>;
  return guard(value, limits);
}

/** Validates one message from a page. */
export function checkPageMessage(value: unknown, limits: PageMessageLimits): Checked<PageMessage> {
  return checkWith(PAGE_GUARDS, value, limits);
}

/** Validates one message from the bridge (used by the page). */
export function checkBridgeMessage(value: unknown): Checked<BridgeMessage> {
  return checkWith(BRIDGE_GUARDS, value, undefined);
}

/** Splits a frame (one message or an array of messages) into its messages. */
export function frameMessages(parsed: unknown): unknown[] {
  return isArray(parsed) ? parsed : [parsed];
}
