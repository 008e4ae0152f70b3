/** The one response envelope: `{ok: true, ...}` or `{ok: false, error: {code, message, data?}}`. */
import type { ServerResponse } from 'node:http';
import { PagecallError } from '../../protocol/index.js';

/**
 * Sends a JSON body with an exact length. `headers` are more name/value pairs, flat; a response
 * with no headers set before takes node's fast path (no header map).
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: readonly string[]): void {
  sendJsonParts(res, status, [JSON.stringify(body)], headers);
}

/**
 * Sends a JSON body made of pieces: text, and JSON already serialised as bytes (a result that
 * passed through from a page, bridge/result-frame.ts), written as they are.
 */
export function sendJsonParts(res: ServerResponse, status: number, parts: ReadonlyArray<string | Buffer>, headers?: readonly string[]): void {
  // One text part (the common small answer) is written as it is; else the pieces are joined as bytes.
  const body = parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
  const head: Array<string | number> = ['content-type', 'application/json; charset=utf-8', 'content-length', Buffer.byteLength(body)];
  if (headers) for (const h of headers) head.push(h);
  res.writeHead(status, head as string[]);
  res.end(body);
}

/**
 * A successful call's answer, `{"ok": true, "result": …, "clientId": …, "durationMs": …}`, as
 * pieces for sendJsonParts: the result's own bytes when it passed through, else serialised here.
 */
export function resultParts(call: { value: unknown; raw: Buffer | undefined; clientId: string | null; durationMs: number }): Array<string | Buffer> {
  const tail = `,"clientId":${JSON.stringify(call.clientId)},"durationMs":${JSON.stringify(call.durationMs)}}`;
  if (call.raw !== undefined) return ['{"ok":true,"result":', call.raw, tail];
  return [`{"ok":true,"result":${JSON.stringify(call.value) ?? 'null'}${tail}`];
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
