/** Reads a JSON request body under a size limit. */
import type { IncomingMessage } from 'node:http';
import { PagecallError } from '../../protocol/index.js';

/** Reads and parses the body; PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE or BAD_REQUEST on failure. */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type.trim())) {
    req.resume();
    return Promise.reject(new PagecallError('UNSUPPORTED_MEDIA_TYPE', `content-type: expected application/json, got ${type ? JSON.stringify(type) : 'none'} (curl: add -H 'content-type: application/json')`));
  }
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
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
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        reject(new PagecallError('BAD_REQUEST', 'body: expected a JSON object, got an empty body'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new PagecallError('BAD_REQUEST', `body: invalid JSON (${(error as Error).message})`));
      }
    });
    req.on('error', (error) => {
      if (!failed) reject(new PagecallError('BAD_REQUEST', `body: ${error.message}`));
      failed = true;
    });
  });
}

function tooLarge(limit: number): PagecallError {
  return new PagecallError('PAYLOAD_TOO_LARGE', `body is larger than ${limit} bytes (--max-body-bytes)`, { limit });
}
