/** The one response envelope: `{ok: true, ...}` or `{ok: false, error: {code, message, data?}}`. */
import type { ServerResponse } from 'node:http';
import { PagecallError } from '../../protocol/index.js';

/** Sends a JSON body with an exact length. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/** Maps any error to its coded response; unknown errors are INTERNAL and get logged by the caller. */
export function sendError(res: ServerResponse, error: unknown): PagecallError {
  const e = error instanceof PagecallError ? error : new PagecallError('INTERNAL', error instanceof Error ? error.message : String(error));
  if (res.headersSent) {
    res.destroy();
    return e;
  }
  const retryAfter = (e.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (typeof retryAfter === 'number') res.setHeader('retry-after', String(retryAfter));
  sendJson(res, e.status, { ok: false, error: e.toWire() });
  return e;
}
