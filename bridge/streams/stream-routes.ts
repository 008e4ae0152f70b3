/**
 * GET /v1/stream: one topic of one group as server-sent events (default) or NDJSON
 * (`Accept: application/x-ndjson` or `format=ndjson`), and the same path upgraded to a WebSocket.
 * Both pass the API's checks (token, Host, Origin) before anything is subscribed.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { PagecallError, checkClientId, checkGroup, checkTopic } from '../../protocol/index.js';
import { checkApiAccess } from '../access.js';
import type { BridgeConfig } from '../config.js';
import { queryOf, type HttpContext } from '../http/context.js';
import { sendError } from '../http/respond.js';
import type { Logger } from '../logger.js';
import { parseEventId, type StreamFormat } from './format.js';
import { ResponseSink, SocketSink } from './sinks.js';
import type { StreamHub } from './stream-hub.js';

/** Path of the stream endpoint, for GET and for WebSocket upgrades. */
export const STREAM_PATH = '/v1/stream';

/** Query parameters the endpoint takes (`token` is read by the access check). */
const PARAMETERS = new Set(['group', 'topic', 'clientId', 'lastEventId', 'format', 'token']);

/** A checked subscription request. */
export interface StreamRequest {
  group: string;
  topic: string;
  clientId: string | null;
  /** Where to resume: the Last-Event-ID header, else `lastEventId=`. */
  resume: string | null;
  /** `sse` or `ndjson`, from `format=` or the Accept header. */
  format: Extract<StreamFormat, 'sse' | 'ndjson'>;
}

/** Checks the query (and headers) of a stream request; throws BAD_REQUEST naming the parameter. */
export function parseStreamRequest(query: URLSearchParams, headers: IncomingMessage['headers']): StreamRequest {
  for (const key of new Set(query.keys())) {
    if (!PARAMETERS.has(key)) throw new PagecallError('BAD_REQUEST', `${JSON.stringify(key)}: unknown parameter (GET /v1/stream takes group, topic, clientId, lastEventId, format)`);
    if (query.getAll(key).length > 1) throw new PagecallError('BAD_REQUEST', `${key}: given more than once`);
  }
  const group = query.get('group');
  const topic = query.get('topic');
  const clientId = query.get('clientId');
  const problem = (group === null ? 'group: required' : checkGroup(group)) ?? (topic === null ? 'topic: required' : checkTopic(topic)) ?? (clientId === null ? undefined : checkClientId(clientId));
  if (problem) throw new PagecallError('BAD_REQUEST', problem);
  const header = headers['last-event-id'];
  const resume = typeof header === 'string' && header !== '' ? header : query.get('lastEventId');
  if (resume !== null && !parseEventId(resume)) {
    throw new PagecallError('BAD_REQUEST', `${typeof header === 'string' && header !== '' ? 'Last-Event-ID' : 'lastEventId'}: ${JSON.stringify(resume.slice(0, 80))} is not an event id (the "id" of an event, like k3j9x0a1-57, or a sequence number)`);
  }
  const format = query.get('format');
  if (format !== null && format !== 'sse' && format !== 'ndjson') throw new PagecallError('BAD_REQUEST', `format: expected sse or ndjson, got ${JSON.stringify(format.slice(0, 40))}`);
  const accept = String(headers.accept ?? '');
  const ndjson = format === 'ndjson' || (format === null && /application\/(?:x-ndjson|jsonl|x-jsonlines)/i.test(accept));
  return { group: group!, topic: topic!, clientId, resume, format: ndjson ? 'ndjson' : 'sse' };
}

/**
 * GET /v1/stream: subscribes the response to a topic until the caller goes away. On a cluster node
 * the response starts once every node sends the topic's entries here (StreamHub.prepare).
 */
export async function streamTopic(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  let request: StreamRequest;
  try {
    request = parseStreamRequest(queryOf(req), req.headers);
  } catch (error) {
    sendError(res, error, ['x-request-id', requestId]);
    return;
  }
  const hold = ctx.streams.prepare(request.group, request.topic);
  res.once('close', hold.release);
  await hold.ready;
  if (res.destroyed) {
    hold.release();
    return;
  }
  res.off('close', hold.release);
  res.writeHead(200, {
    'content-type': request.format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  if (req.method === 'HEAD') {
    hold.release();
    res.end();
    return;
  }
  res.socket?.setNoDelay(true);
  // The status line goes out now: a caller waiting for the first event knows it is subscribed.
  if (request.format === 'sse') res.write('retry: 2000\n\n');
  else res.flushHeaders();
  const subscriber = ctx.streams.subscribe(request.group, request.topic, new ResponseSink(request.format, res), { clientId: request.clientId, resume: request.resume, hold });
  res.once('close', () => subscriber.detached());
  ctx.log.debug({ requestId, group: request.group, topic: request.topic, format: request.format }, 'stream subscriber joined');
}

/** The WebSocket side of /v1/stream. */
export class StreamSockets {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false, clientTracking: true });

  constructor(
    private readonly config: BridgeConfig,
    private readonly streams: StreamHub,
    private readonly log: Logger,
  ) {}

  /** Takes over an upgrade of /v1/stream: the API's checks, the query's, then (once the topic is ready, see streamTopic) a subscription. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const query = queryOf(req);
    let request: StreamRequest;
    try {
      const denied = checkApiAccess(req, this.config, query);
      if (denied) throw denied;
      request = parseStreamRequest(query, req.headers);
    } catch (error) {
      refuseUpgrade(socket, PagecallError.from(error));
      return;
    }
    const hold = this.streams.prepare(request.group, request.topic);
    socket.once('close', hold.release);
    await hold.ready;
    socket.off('close', hold.release);
    if (socket.destroyed) {
      hold.release();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', (error) => this.log.debug({ error: error.message }, 'stream socket error'));
      const subscriber = this.streams.subscribe(request.group, request.topic, new SocketSink(ws), { clientId: request.clientId, resume: request.resume, hold });
      ws.once('close', () => subscriber.detached());
    });
  }

  /** Closes the server side (subscriptions are ended by the hub). */
  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}

/** Answers a refused upgrade with the API's error envelope and closes the socket. */
function refuseUpgrade(socket: Duplex, error: PagecallError): void {
  const body = JSON.stringify({ ok: false, error: error.toWire() });
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
