/**
 * JsRpc's response shapes: `{"status": S, ..., "data": D}` with the HTTP status repeated in
 * `status` (a string on the /execjs family, as JsRpc writes it there), errors as text in `data`.
 * Errors also carry pagecall's `code`, which JsRpc scrapers ignore and new code can branch on.
 */
import type { ServerResponse } from 'node:http';
import { PagecallError, type ErrorCode } from '../../protocol/index.js';

/** How a route writes `status` in its bodies. */
export type StatusStyle = 'number' | 'string';

/** JsRpc's words for a call that ran out of time; scrapers test `data` for them, so they lead the text. */
export const TIMEOUT_TEXT = '获取结果超时 timeout';

/** JsRpc's words for a request without a group. */
export const NO_GROUP_TEXT = '需要传入group';

/** Codes answered 400 as JsRpc answers requests it cannot route: the caller must change something. */
const CALLER_CODES: ReadonlySet<ErrorCode> = new Set(['BAD_REQUEST', 'NO_CLIENT', 'CLIENT_NOT_FOUND', 'ACTION_NOT_FOUND']);

/**
 * The HTTP status and `data` text of an error: TIMEOUT is 200 with JsRpc's timeout words first,
 * what the caller must change is 400, everything else keeps pagecall's status (docs/errors.md).
 */
export function compatError(error: PagecallError): { status: number; text: string } {
  if (error.code === 'TIMEOUT') return { status: 200, text: `${TIMEOUT_TEXT}: ${error.message}` };
  if (CALLER_CODES.has(error.code)) return { status: 400, text: error.message };
  return { status: error.status, text: error.message };
}

/** Sends a JsRpc-shaped body; `status` goes into the body as the route writes it. */
export function sendShaped(res: ServerResponse, status: number, style: StatusStyle, fields: Record<string, unknown>, headers: readonly string[] = []): void {
  const body = JSON.stringify({ status: style === 'string' ? String(status) : status, ...fields });
  res.writeHead(status, ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), ...headers]);
  res.end(body);
}

/**
 * Answers with an error: `{status, data: text, code}`, and `extra` fields (a timed-out /go keeps
 * its group and client id, as JsRpc's timeout answer does). A response already under way is cut.
 */
export function sendCompatError(res: ServerResponse, error: unknown, style: StatusStyle, headers: readonly string[] = [], extra: Record<string, unknown> = {}): PagecallError {
  const e = PagecallError.from(error);
  if (res.headersSent) {
    res.destroy();
    return e;
  }
  const { status, text } = compatError(e);
  const retryAfter = (e.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  const more = typeof retryAfter === 'number' ? [...headers, 'retry-after', String(retryAfter)] : headers;
  sendShaped(res, status, style, { ...extra, data: text, code: e.code }, more);
  return e;
}
