/** The one response envelope: `{ok: true, ...}` or `{ok: false, error: {code, message, data?}}`. */
import type { ServerResponse } from 'node:http';
import { PagecallError } from '../../protocol/index.js';

/**
 * Sends a JSON body with an exact length. `headers` are more name/value pairs, flat; a response
 * with no headers set before takes node's fast path (no header map).
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: readonly string[]): void {
  const text = JSON.stringify(body);
  const head: Array<string | number> = ['content-type', 'application/json; charset=utf-8', 'content-length', Buffer.byteLength(text)];
  if (headers) for (const h of headers) head.push(h);
  res.writeHead(status, head as string[]);
  res.end(text);
}

/** Maps any error to its coded response; unknown errors are INTERNAL and get logged by the caller. */
export function sendError(res: ServerResponse, error: unknown, headers?: readonly string[]): PagecallError {
  const e = PagecallError.from(error);
  if (res.headersSent) {
    res.destroy();
    return e;
  }
  const retryAfter = (e.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  const extra = typeof retryAfter === 'number' ? [...(headers ?? []), 'retry-after', String(retryAfter)] : headers;
  sendJson(res, e.status, { ok: false, error: e.toWire() }, extra);
  return e;
}
