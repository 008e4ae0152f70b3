/**
 * Sends arbitrary bytes to an HTTP server over a fresh TCP connection and reads back whatever it
 * answers, so the fuzzer can send requests that no HTTP client library would produce.
 */
import { connect } from 'node:net';

/** What came back on the connection. */
export interface RawResponse {
  /** Status of the first response, or null when the server closed without answering. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** True when nothing came back within the time limit (the server kept the socket open). */
  hung: boolean;
}

/** Writes `request`, half-closes the socket, and collects the answer until the server closes. */
export function sendRaw(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parseResponse(Buffer.concat(chunks)), hung });
    });
    socket.on('connect', () => {
      // Half-closing tells the server no more bytes are coming, so a truncated body ends the
      // request instead of leaving it waiting for the rest.
      socket.end(request);
    });
  });
}

/** Parses the first HTTP/1.x response in `bytes` (content-length or chunked body). */
export function parseResponse(bytes: Buffer): Omit<RawResponse, 'hung'> {
  const text = bytes.toString('latin1');
  const match = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text);
  if (!match) return { status: null, headers: {}, body: '' };
  const end = text.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of text.slice(match[0].length, end < 0 ? text.length : end).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = end < 0 ? Buffer.alloc(0) : bytes.subarray(end + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(match[1]), headers, body: body.toString('utf8') };
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (let guard = 0; guard < 1_000_000 && at < body.length; guard++) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
