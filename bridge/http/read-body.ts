/**
 * Reads a JSON request body under a size limit and a nesting limit, both checked before JSON.parse.
 * A body that is refused is drained only so far (discardBody), so nobody can make the bridge read
 * (and throw away) gigabytes after refusing them.
 */
import type { IncomingMessage } from 'node:http';
import { PagecallError } from '../../protocol/index.js';
import { MAX_ENVELOPE_DEPTH, MAX_WIRE_DEPTH, scanDepth } from '../json-depth.js';

/**
 * After refusing a body, the bridge still reads (and drops) up to this much of it, so a client that
 * sends its whole request before reading the answer sees the refusal instead of a broken pipe.
 * Past it the connection is cut: nobody can make the bridge read gigabytes it already refused.
 */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
/** And for at most this long. */
export const DRAIN_LIMIT_MS = 10_000;
/** How often a drain is checked against those limits. */
const DRAIN_CHECK_MS = 50;

/**
 * Lets go of a request's body that will not be used: it is read and dropped, so the connection can
 * serve the next request, but the connection is cut once more than DRAIN_LIMIT_BYTES arrived on it
 * or DRAIN_LIMIT_MS passed. Counted on the socket, because Node's own draining (after the response)
 * drops every `data` listener.
 */
export function discardBody(req: IncomingMessage): void {
  if (req.complete) return;
  const socket = req.socket;
  const start = socket.bytesRead;
  const until = Date.now() + DRAIN_LIMIT_MS;
  const watch = setInterval(() => {
    if (req.complete || socket.destroyed) clearInterval(watch);
    else if (socket.bytesRead - start > DRAIN_LIMIT_BYTES || Date.now() > until) {
      clearInterval(watch);
      socket.destroy();
    }
  }, DRAIN_CHECK_MS);
  watch.unref();
  req.resume();
}

/** Reads and parses the body; PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE or BAD_REQUEST on failure. */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type.trim())) {
    discardBody(req);
    return Promise.reject(new PagecallError('UNSUPPORTED_MEDIA_TYPE', `content-type: expected application/json, got ${type ? JSON.stringify(type) : 'none'} (curl: add -H 'content-type: application/json')`));
  }
  return readBodyBytes(req, limit).then(parseJsonBytes);
}

/**
 * Reads the body's bytes, at most `limit` of them: PAYLOAD_TOO_LARGE past it (declared or sent),
 * and what is left of a refused body goes to discardBody.
 */
export function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    discardBody(req);
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        discardBody(req);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (!failed) reject(new PagecallError('BAD_REQUEST', `body: ${error.message}`));
      failed = true;
    });
  });
}

/** Parses a JSON body, its nesting counted on the bytes first; BAD_REQUEST for what does not parse. */
export function parseJsonBytes(bytes: Buffer): unknown {
  if (scanDepth(bytes, MAX_ENVELOPE_DEPTH) > MAX_ENVELOPE_DEPTH) {
    throw new PagecallError('BAD_REQUEST', `body: nested deeper than ${MAX_ENVELOPE_DEPTH} levels (arguments may nest at most ${MAX_WIRE_DEPTH}); not parsed`, { limit: MAX_WIRE_DEPTH });
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw new PagecallError('BAD_REQUEST', 'body: expected a JSON object, got an empty body');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PagecallError('BAD_REQUEST', `body: invalid JSON (${(error as Error).message})`);
  }
}

function tooLarge(limit: number): PagecallError {
  return new PagecallError('PAYLOAD_TOO_LARGE', `body is larger than ${limit} bytes (--max-body-bytes)`, { limit });
}
