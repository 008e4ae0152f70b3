/**
 * HTTP to one bridge over keep-alive connections (node:http's Agent: sockets are reused, and an
 * idle one is dropped a second before the bridge's keep-alive timeout would close it).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PagecallError } from '../../protocol/index.js';
import { ClientFailure, errorFromWire } from './errors.js';

/** A resolved bridge address, the headers every request carries, and its connection pool. */
export interface Endpoint {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:12180`. */
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  /** Path prefix when the bridge sits behind a proxy at a sub-path (`/pagecall`), else ``. */
  readonly basePath: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly agent: HttpAgent;
  readonly request: typeof httpRequest;
}

/** One HTTP request to make. */
export interface Outgoing {
  method: 'GET' | 'POST' | 'DELETE';
  /** Route with query, e.g. `/v1/clients?group=g`. */
  path: string;
  body?: string;
  /** Milliseconds to wait for the answer. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** More headers for this request (a stream's Accept and Last-Event-ID). */
  headers?: Record<string, string>;
}

/** An HTTP answer with its whole body. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Where the bridge listens unless PAGECALL_URL or `url` says otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:12180';

/** Resolves the address and opens a connection pool; `maxSockets` caps the connections open at once. */
export function openEndpoint(url: string, token: string | undefined, headers: Record<string, string>, maxSockets: number, userAgent: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`url: expected http://host:port, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError(`url: expected http:// or https://, got ${JSON.stringify(url)}`);
  if (parsed.search || parsed.hash) throw new TypeError(`url: expected no query or fragment, got ${JSON.stringify(url)}`);
  const tls = parsed.protocol === 'https:';
  const merged: Record<string, string> = { 'user-agent': userAgent };
  if (token) merged.authorization = `Bearer ${token}`;
  for (const [name, value] of Object.entries(headers)) merged[name.toLowerCase()] = value;
  // `timeout` only matters for idle sockets: each request sets its own. Any value makes node honour
  // the bridge's `Keep-Alive: timeout=5` hint, closing idle sockets after 4 s instead of racing the
  // bridge's own close with a new request.
  const options = { keepAlive: true, maxSockets, maxFreeSockets: Math.min(maxSockets, 256), scheduling: 'lifo' as const, timeout: 60_000 };
  const basePath = parsed.pathname.replace(/\/+$/, '');
  return {
    url: `${parsed.protocol}//${parsed.host}${basePath}`,
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : tls ? 443 : 80,
    basePath,
    headers: merged,
    agent: tls ? new HttpsAgent(options) : new HttpAgent(options),
    request: tls ? (httpsRequest as unknown as typeof httpRequest) : httpRequest,
  };
}

/** The rejection for a call cancelled through its AbortSignal. */
export function cancelled(signal: AbortSignal): PagecallError {
  const error = new PagecallError('CANCELLED', 'the call was cancelled by its AbortSignal');
  (error as { cause?: unknown }).cause = signal.reason;
  return error;
}

/** A response whose head has arrived; call `finish()` once its body is read or abandoned. */
export interface Opened {
  res: IncomingMessage;
  finish(): void;
}

/**
 * Sends a request and resolves with the response head; the body is still to be read. Everything
 * that reads answers goes through here: `exchange` reads whole bodies, `stream()` (stream.ts)
 * reads them as they arrive.
 */
export function open(endpoint: Endpoint, outgoing: Outgoing): Promise<Opened> {
  const { signal } = outgoing;
  if (signal?.aborted) return Promise.reject(cancelled(signal));
  return new Promise<Opened>((resolve, reject) => {
    const headers: Record<string, string | number> = { ...endpoint.headers, ...outgoing.headers };
    if (outgoing.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(outgoing.body);
    }
    const req = endpoint.request({
      hostname: endpoint.hostname,
      port: endpoint.port,
      method: outgoing.method,
      path: endpoint.basePath + outgoing.path,
      headers,
      agent: endpoint.agent,
      timeout: outgoing.timeoutMs,
    });
    let connected = false;
    let failure: PagecallError | undefined;
    // Destroying the request closes its connection, so the bridge sees the caller leave and cancels
    // the call in the page (CANCELLED there too).
    const onAbort = (): void => {
      failure = cancelled(signal!);
      req.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => signal?.removeEventListener('abort', onAbort);
    req.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('timeout', () => {
      failure = new PagecallError('TIMEOUT', `no answer from the bridge at ${endpoint.url} within ${outgoing.timeoutMs} ms`, { source: 'client' });
      req.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      finish();
      if (failure) reject(failure);
      else if (!connected) {
        const refused = error.code === 'ECONNREFUSED';
        reject(new ClientFailure('BRIDGE_UNAVAILABLE', `cannot connect to the bridge at ${endpoint.url}: ${error.message} (is it running? start it with: npx pagecall serve)`, { sent: false, reason: refused ? 'refused' : 'connect', cause: error }));
      } else {
        reject(new ClientFailure('BRIDGE_UNAVAILABLE', `the connection to the bridge at ${endpoint.url} broke before it answered: ${error.message}`, { sent: true, reason: 'broken', cause: error }));
      }
    });
    req.on('response', (res) => resolve({ res, finish }));
    req.end(outgoing.body);
  });
}

/** Sends a request and reads the whole answer. */
export async function exchange(endpoint: Endpoint, outgoing: Outgoing): Promise<Answer> {
  const { res, finish } = await open(endpoint, outgoing);
  return new Promise<Answer>((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => {
      finish();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
    });
    res.on('error', () => {});
    res.on('close', () => {
      if (res.complete) return;
      finish();
      const { signal } = outgoing;
      if (signal?.aborted) reject(cancelled(signal));
      else reject(new ClientFailure('BRIDGE_UNAVAILABLE', `the connection to the bridge at ${endpoint.url} broke while it answered`, { sent: true, reason: 'broken' }));
    });
  });
}

/** Reads an answer: the `{ok: true, ...}` envelope, or throws the coded error it carries. */
export function parseEnvelope(answer: Answer): Record<string, unknown> {
  let envelope: unknown;
  try {
    envelope = JSON.parse(answer.text);
  } catch {
    envelope = undefined;
  }
  if (envelope === null || typeof envelope !== 'object' || typeof (envelope as { ok?: unknown }).ok !== 'boolean') {
    throw new ClientFailure('BAD_RESPONSE', `HTTP ${answer.status} from something that is not a pagecall bridge (is the URL right?): ${JSON.stringify(answer.text.slice(0, 200))}`, { status: answer.status, retryable: false, data: { status: answer.status } });
  }
  const record = envelope as Record<string, unknown>;
  if (record.ok) return record;
  const header = answer.headers['retry-after'];
  const retryAfter = typeof header === 'string' && /^\d+(\.\d+)?$/.test(header) ? Number(header) : undefined;
  throw errorFromWire(record.error, answer.status, retryAfter);
}
