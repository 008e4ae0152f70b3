/**
 * JsRpc's page socket frames, as observed (docs/migrating-from-jsrpc.md): their types and the
 * check every frame from a JsRpc page goes through before anything acts on it.
 */
import { checkAction, typeName, type Checked } from '../../protocol/index.js';

/** Bridge → page, once on connect: the client id the page is known by. */
export interface JsrpcRegisterFrame {
  registerId: string;
}

/** Bridge → page: run `action` with `param` (always a string; the page's script JSON-parses it when it can). */
export interface JsrpcInvokeFrame {
  action: string;
  message_id: string;
  param: string;
}

/** The action a page sends its list of handler names under. */
export const REGISTER_ACTIONS = '_registerActions';

/** The page's built-in action that runs a code string; pagecall sends it only for `$eval`, with --allow-eval. */
export const EXECJS_ACTION = '_execjs';

/** A page frame, checked. */
export type JsrpcPageFrame =
  /** `_registerActions`: the names to register, and the ones refused (with why). */
  | { kind: 'actions'; actions: string[]; refused: string[] }
  /** A reply to `message_id`; `data` is `response_data` as sent (undefined when absent). */
  | { kind: 'reply'; id: string; data: unknown };

/**
 * Checks a parsed frame from a JsRpc page. `_registerActions` takes its list as a JSON array
 * encoded in a string (what JsRpc's page script sends) or as an array; names pagecall cannot carry
 * (and `_execjs`, which stays a built-in) are refused one by one, not the whole list; more than
 * `maxActions` names refuse the frame. A reply needs a non-empty string `message_id`.
 */
export function checkJsrpcFrame(frame: unknown, maxActions: number): Checked<JsrpcPageFrame> {
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) return { ok: false, error: `frame: expected an object, got ${typeName(frame)}` };
  const { action, message_id: id, response_data: data } = frame as Record<string, unknown>;
  if (action === REGISTER_ACTIONS) return checkActionList(data, maxActions);
  if (action !== undefined && typeof action !== 'string') return { ok: false, error: `action: expected string, got ${typeName(action)}` };
  if (typeof id !== 'string') return { ok: false, error: `message_id: expected string, got ${typeName(id)}` };
  if (id === '') return { ok: false, error: 'message_id: empty (only _registerActions is sent without one)' };
  return { ok: true, value: { kind: 'reply', id, data } };
}

function checkActionList(data: unknown, maxActions: number): Checked<JsrpcPageFrame> {
  let list: unknown = data;
  if (typeof data === 'string') {
    try {
      list = JSON.parse(data) as unknown;
    } catch {
      return { ok: false, error: 'response_data: expected a JSON array of action names, got text that is not JSON' };
    }
  }
  if (!Array.isArray(list)) return { ok: false, error: `response_data: expected a JSON array of action names, got ${typeName(list)}` };
  if (list.length > maxActions) return { ok: false, error: `response_data: at most ${maxActions} actions, got ${list.length}` };
  const actions: string[] = [];
  const refused: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const name: unknown = list[i];
    if (name === EXECJS_ACTION) continue;
    const problem = checkAction(name, `response_data[${i}]`);
    if (problem) refused.push(problem);
    else if (!seen.has(name as string)) {
      seen.add(name as string);
      actions.push(name as string);
    }
  }
  return { ok: true, value: { kind: 'actions', actions, refused } };
}
