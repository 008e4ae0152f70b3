/**
 * Validation at the boundary. Every frame from the other side goes through these before anything
 * acts on it; failures name the field (`actions[3]: expected string, got number`).
 */
import type { Json } from './codec.js';
import type {
  BridgeMessage,
  HelloMessage,
  PageErrorPayload,
  PageMessage,
  ResultMessage,
  UpdateMessage,
} from './messages.js';

// Captured at load: in a page, the injector loads before site code that may patch these.
const isArray = Array.isArray;
const stringify = JSON.stringify;

/** Outcome of a check: the typed value, or what was wrong with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Group names: letters, digits and `_ . : -`, 1–64 characters. */
export const GROUP_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;
/** Action names: letters, digits and `_ . : / -`, 1–128 characters; a leading `$` is reserved. */
export const ACTION_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;
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

/** Checks a client id. */
export function checkClientId(value: unknown, field = 'clientId'): string | undefined {
  if (typeof value !== 'string') return expected(field, 'string', value);
  if (!CLIENT_ID_PATTERN.test(value)) return `${field}: ${stringify(value.slice(0, 80))} is not a valid client id (letters, digits, _ -, at most 64)`;
  return undefined;
}

function checkActionList(value: unknown, field: string, maxActions: number): string | undefined {
  if (!isArray(value)) return expected(field, 'array', value);
  if (value.length > maxActions) return `${field}: at most ${maxActions} actions, got ${value.length}`;
  for (let i = 0; i < value.length; i++) {
    const error = checkAction(value[i], `${field}[${i}]`);
    if (error) return error;
  }
  return undefined;
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

function checkHello(m: Record<string, unknown>, limits: PageMessageLimits): Checked<HelloMessage> {
  if (typeof m.v !== 'number') return { ok: false, error: expected('v', 'number', m.v) };
  const groupError = checkGroup(m.group);
  if (groupError) return { ok: false, error: groupError };
  if (m.clientId !== undefined) {
    const error = checkClientId(m.clientId);
    if (error) return { ok: false, error };
  }
  if (m.token !== undefined && typeof m.token !== 'string') return { ok: false, error: expected('token', 'string', m.token) };
  if (typeof m.url !== 'string') return { ok: false, error: expected('url', 'string', m.url) };
  if (typeof m.title !== 'string') return { ok: false, error: expected('title', 'string', m.title) };
  const actionsError = checkActionList(m.actions, 'actions', limits.maxActions);
  if (actionsError) return { ok: false, error: actionsError };
  const hello: HelloMessage = {
    type: 'hello',
    v: m.v,
    group: m.group as string,
    url: cut(m.url, MAX_URL_LENGTH),
    title: cut(m.title, MAX_TITLE_LENGTH),
    actions: m.actions as string[],
  };
  if (m.clientId !== undefined) hello.clientId = m.clientId as string;
  if (m.token !== undefined) hello.token = m.token as string;
  return { ok: true, value: hello };
}

function checkUpdate(m: Record<string, unknown>, limits: PageMessageLimits): Checked<UpdateMessage> {
  const update: UpdateMessage = { type: 'update' };
  if (m.actions !== undefined) {
    const error = checkActionList(m.actions, 'actions', limits.maxActions);
    if (error) return { ok: false, error };
    update.actions = m.actions as string[];
  }
  if (m.url !== undefined) {
    if (typeof m.url !== 'string') return { ok: false, error: expected('url', 'string', m.url) };
    update.url = cut(m.url, MAX_URL_LENGTH);
  }
  if (m.title !== undefined) {
    if (typeof m.title !== 'string') return { ok: false, error: expected('title', 'string', m.title) };
    update.title = cut(m.title, MAX_TITLE_LENGTH);
  }
  return { ok: true, value: update };
}

function checkPageError(value: unknown): Checked<PageErrorPayload> {
  if (!isRecord(value)) return { ok: false, error: expected('error', 'object', value) };
  const { code, name, message, stack } = value;
  if (code !== undefined && typeof code !== 'string') return { ok: false, error: expected('error.code', 'string', code) };
  if (typeof name !== 'string') return { ok: false, error: expected('error.name', 'string', name) };
  if (typeof message !== 'string') return { ok: false, error: expected('error.message', 'string', message) };
  if (stack !== undefined && typeof stack !== 'string') return { ok: false, error: expected('error.stack', 'string', stack) };
  const out: PageErrorPayload = { name, message };
  if (code !== undefined) out.code = code;
  if (stack !== undefined) out.stack = stack;
  return { ok: true, value: out };
}

function checkResult(m: Record<string, unknown>): Checked<ResultMessage> {
  if (typeof m.id !== 'string') return { ok: false, error: expected('id', 'string', m.id) };
  if (m.ok === true) {
    return { ok: true, value: { type: 'result', id: m.id, ok: true, value: (m.value === undefined ? { $undefined: true } : m.value) as Json } };
  }
  if (m.ok === false) {
    const error = checkPageError(m.error);
    if (!error.ok) return error;
    return { ok: true, value: { type: 'result', id: m.id, ok: false, error: error.value } };
  }
  return { ok: false, error: expected('ok', 'boolean', m.ok) };
}

/** Validates one message from a page. */
export function checkPageMessage(value: unknown, limits: PageMessageLimits): Checked<PageMessage> {
  if (!isRecord(value)) return { ok: false, error: expected('message', 'object', value) };
  switch (value.type) {
    case 'result':
      return checkResult(value);
    case 'pong':
      return typeof value.t === 'number' ? { ok: true, value: { type: 'pong', t: value.t } } : { ok: false, error: expected('t', 'number', value.t) };
    case 'hello':
      return checkHello(value, limits);
    case 'update':
      return checkUpdate(value, limits);
    default:
      return { ok: false, error: `type: unknown message type ${stringify(typeName(value.type) === 'string' ? value.type : typeName(value.type))}` };
  }
}

/** Validates one message from the bridge (used by the page). */
export function checkBridgeMessage(value: unknown): Checked<BridgeMessage> {
  if (!isRecord(value)) return { ok: false, error: expected('message', 'object', value) };
  switch (value.type) {
    case 'invoke':
      if (typeof value.id !== 'string') return { ok: false, error: expected('id', 'string', value.id) };
      if (typeof value.action !== 'string') return { ok: false, error: expected('action', 'string', value.action) };
      if (!isArray(value.args)) return { ok: false, error: expected('args', 'array', value.args) };
      if (typeof value.timeoutMs !== 'number') return { ok: false, error: expected('timeoutMs', 'number', value.timeoutMs) };
      return { ok: true, value: value as unknown as BridgeMessage };
    case 'cancel':
      if (typeof value.id !== 'string') return { ok: false, error: expected('id', 'string', value.id) };
      return { ok: true, value: { type: 'cancel', id: value.id, reason: String(value.reason ?? '') } };
    case 'ping':
      return typeof value.t === 'number' ? { ok: true, value: { type: 'ping', t: value.t } } : { ok: false, error: expected('t', 'number', value.t) };
    case 'welcome':
      if (typeof value.clientId !== 'string') return { ok: false, error: expected('clientId', 'string', value.clientId) };
      if (typeof value.heartbeatMs !== 'number') return { ok: false, error: expected('heartbeatMs', 'number', value.heartbeatMs) };
      if (typeof value.maxFrameBytes !== 'number') return { ok: false, error: expected('maxFrameBytes', 'number', value.maxFrameBytes) };
      return { ok: true, value: value as unknown as BridgeMessage };
    case 'error':
      return { ok: true, value: { type: 'error', code: String(value.code), message: String(value.message) } };
    default:
      return { ok: false, error: `type: unknown message type` };
  }
}

/** Splits a frame (one message or an array of messages) into its messages. */
export function frameMessages(parsed: unknown): unknown[] {
  return isArray(parsed) ? parsed : [parsed];
}
