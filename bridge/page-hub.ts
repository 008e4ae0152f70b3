/**
 * The page side of the bridge: accepts page WebSockets, runs the hello/welcome handshake, validates
 * every frame, feeds results to the pending table and keeps liveness (app-level ping/pong, answered
 * by the page's main thread, so a page frozen in a busy loop is noticed).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { customAlphabet } from 'nanoid';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  checkPageMessage,
  frameMessages,
  type HelloMessage,
  type PageMessage,
} from '../protocol/index.js';
import { originAllowed, tokenMatches } from './access.js';
import type { ClientRegistry } from './client-registry.js';
import type { BridgeConfig } from './config.js';
import type { Logger } from './logger.js';
import { PageClient } from './page-client.js';
import type { PendingCalls } from './pending-calls.js';

const newClientId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);

/** Invalid frames tolerated from one page before it is disconnected. */
const MAX_BAD_FRAMES = 100;

/** Traffic counters, for metrics. */
export interface HubCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  badFrames: number;
  ignoredResults: number;
}

/** Observers of page lifecycle events (logs, metrics, dashboard). */
export interface HubEvents {
  onJoin?(client: PageClient): void;
  onLeave?(client: PageClient, code: number, reason: string): void;
  onChange?(client: PageClient): void;
}

/** Accepts and serves page connections. */
export class PageHub {
  readonly counters: HubCounters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, badFrames: 0, ignoredResults: 0 };
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly config: BridgeConfig,
    private readonly registry: ClientRegistry,
    private readonly pending: PendingCalls,
    private readonly log: Logger,
    private readonly events: HubEvents = {},
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.heartbeat = setInterval(() => this.beat(), config.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Takes over an HTTP upgrade request for the page endpoint. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : null;
    if (!originAllowed(origin, this.config.allowOrigins)) {
      this.log.warn({ origin }, 'page connection refused: origin not in --allow-origins');
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\norigin not allowed\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, origin));
  }

  private accept(ws: WebSocket, req: IncomingMessage, origin: string | null): void {
    this.sockets.add(ws);
    const remoteAddress = req.socket.remoteAddress ?? null;
    let client: PageClient | null = null;
    let badFrames = 0;
    const helloTimer = setTimeout(() => ws.close(CLOSE_CODES.HELLO_TIMEOUT, 'no hello in time'), this.config.helloTimeoutMs);
    helloTimer.unref();

    const refuse = (code: number, errorCode: string, message: string): void => {
      this.log.info({ remoteAddress, origin, code: errorCode }, `page refused: ${message}`);
      ws.send(JSON.stringify({ type: 'error', code: errorCode, message }));
      ws.close(code, closeReason(message));
    };

    const badFrame = (message: string): void => {
      this.counters.badFrames++;
      badFrames++;
      this.log.debug({ clientId: client?.id, error: message }, 'bad frame from page');
      if (badFrames > MAX_BAD_FRAMES) {
        ws.send(JSON.stringify({ type: 'error', code: 'BAD_FRAME', message: `more than ${MAX_BAD_FRAMES} invalid frames` }));
        if (client) client.close(CLOSE_CODES.TOO_MANY_BAD_FRAMES, 'too many invalid frames');
        else ws.close(CLOSE_CODES.TOO_MANY_BAD_FRAMES, 'too many invalid frames');
        return;
      }
      const text = JSON.stringify({ type: 'error', code: 'BAD_FRAME', message });
      if (client) client.send({ type: 'error', code: 'BAD_FRAME', message });
      else ws.send(text);
    };

    const onHello = (hello: HelloMessage): void => {
      clearTimeout(helloTimer);
      if (hello.v !== PROTOCOL_VERSION) {
        refuse(CLOSE_CODES.PROTOCOL_MISMATCH, 'PROTOCOL_MISMATCH', `page speaks protocol ${hello.v}, this bridge speaks ${PROTOCOL_VERSION}; load the injector from this bridge`);
        return;
      }
      if (this.config.token !== undefined && !tokenMatches(hello.token, this.config.token)) {
        refuse(CLOSE_CODES.UNAUTHORIZED, 'UNAUTHORIZED', 'this bridge requires a token; load /injector.js?token=... or pass token to pagecall.connect()');
        return;
      }
      const existing = hello.clientId !== undefined ? this.registry.get(hello.clientId) : undefined;
      if (!existing && this.registry.size >= this.config.maxClients) {
        refuse(CLOSE_CODES.FULL, 'OVERLOADED', `the bridge already has ${this.config.maxClients} pages (--max-clients)`);
        return;
      }
      const id = hello.clientId ?? newClientId();
      client = new PageClient(id, hello.group, ws, { actions: hello.actions, url: hello.url, title: hello.title, origin, remoteAddress }, (messages, bytes) => {
        this.counters.messagesOut += messages;
        this.counters.bytesOut += bytes;
      });
      const replaced = this.registry.add(client);
      if (replaced) {
        this.log.info({ clientId: id }, 'page reconnected with the same client id; closing the old connection');
        replaced.close(CLOSE_CODES.REPLACED, 'replaced by a newer connection with the same client id');
        this.pending.onClientGone(replaced);
        this.events.onLeave?.(replaced, CLOSE_CODES.REPLACED, 'replaced');
      }
      client.send({ type: 'welcome', v: PROTOCOL_VERSION, clientId: id, group: hello.group, heartbeatMs: this.config.heartbeatMs, maxFrameBytes: this.config.maxFrameBytes, allowEval: this.config.allowEval });
      this.log.info({ clientId: id, group: hello.group, url: hello.url, actions: hello.actions.length }, 'page joined');
      this.events.onJoin?.(client);
      this.pending.onClientChanged(client);
    };

    // An invalid hello is final (4400, the page does not reconnect) rather than a bad frame: the
    // page would otherwise sit unregistered until the hello timeout and then retry the same hello.
    const refuseHello = (raw: Record<string, unknown>, error: string): void => {
      clearTimeout(helloTimer);
      if (typeof raw.v === 'number' && raw.v !== PROTOCOL_VERSION) {
        refuse(CLOSE_CODES.PROTOCOL_MISMATCH, 'PROTOCOL_MISMATCH', `page speaks protocol ${raw.v}, this bridge speaks ${PROTOCOL_VERSION}; load the injector from this bridge`);
      } else {
        refuse(CLOSE_CODES.BAD_HELLO, 'BAD_FRAME', `hello refused: ${error}`);
      }
    };

    const onMessage = (message: PageMessage): void => {
      if (!client) {
        if (message.type === 'hello') onHello(message);
        else badFrame(`${message.type}: the first message must be hello`);
        return;
      }
      switch (message.type) {
        case 'result':
          if (!this.pending.onResult(client, message)) this.counters.ignoredResults++;
          return;
        case 'pong':
          return;
        case 'update':
          if (message.actions) this.registry.setActions(client, message.actions);
          if (message.url !== undefined) client.url = message.url;
          if (message.title !== undefined) client.title = message.title;
          this.events.onChange?.(client);
          if (message.actions) this.pending.onClientChanged(client);
          return;
        case 'hello':
          badFrame('hello: already said hello on this connection');
          return;
        default: {
          const never: never = message;
          badFrame(`type: unhandled ${String((never as { type?: unknown }).type)}`);
        }
      }
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const size = rawSize(data);
      this.counters.bytesIn += size;
      if (client) {
        client.lastSeen = Date.now();
        client.stats.bytesIn += size;
      }
      if (isBinary) {
        badFrame('frame: expected a JSON text frame, got binary');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawText(data));
      } catch (error) {
        badFrame(`frame: invalid JSON (${(error as Error).message})`);
        return;
      }
      for (const raw of frameMessages(parsed)) {
        // Once the page is refused or cut off, the rest of its frame is not worth reading: a
        // 32 MiB array of junk would otherwise hold the event loop for seconds.
        if (ws.readyState !== ws.OPEN) break;
        this.counters.messagesIn++;
        if (client) client.stats.messagesIn++;
        const checked = checkPageMessage(raw, { maxActions: this.config.maxActionsPerClient });
        if (!checked.ok) {
          if (!client && isHello(raw)) refuseHello(raw, checked.error);
          else badFrame(checked.error);
          continue;
        }
        onMessage(checked.value);
      }
    });

    ws.on('error', (error) => {
      this.log.debug({ clientId: client?.id, error: error.message }, 'page socket error');
      // ws reports protocol violations (a frame over maxFrameBytes, invalid UTF-8) here and starts
      // the close handshake; a page that never completes it would hold its calls until the
      // heartbeat noticed. Its calls move to other pages (or fail) now.
      // (ws already chose the close code; client.close only arms the terminate fallback.)
      if (client) {
        client.close(CLOSE_CODES.GOING_AWAY, 'protocol error');
        this.drop(client, 1002, error.message);
      }
    });

    ws.on('close', (code, reasonBuffer) => {
      clearTimeout(helloTimer);
      this.sockets.delete(ws);
      if (!client) return;
      client.closed = true;
      const reason = reasonBuffer.toString();
      if (this.registry.remove(client)) {
        this.log.info({ clientId: client.id, group: client.group, code, reason }, 'page left');
        this.pending.onClientGone(client);
        this.events.onLeave?.(client, code, reason);
      }
    });
  }

  /** Drops a page (DELETE /v1/clients/:id): it is told not to reconnect. */
  kick(client: PageClient): void {
    client.close(CLOSE_CODES.KICKED, 'kicked');
    this.drop(client, CLOSE_CODES.KICKED, 'kicked');
  }

  private drop(client: PageClient, code: number, reason: string): void {
    if (this.registry.remove(client)) {
      this.log.info({ clientId: client.id, group: client.group, code, reason }, 'page dropped');
      this.pending.onClientGone(client);
      this.events.onLeave?.(client, code, reason);
    }
  }

  private beat(): void {
    const now = Date.now();
    const deadAfter = this.config.heartbeatMs * 3;
    for (const client of this.registry.list()) {
      if (now - client.lastSeen > deadAfter) {
        this.log.warn({ clientId: client.id, silentMs: now - client.lastSeen }, 'page stopped answering pings; dropping it');
        client.close(CLOSE_CODES.UNRESPONSIVE, 'no pong');
        this.drop(client, CLOSE_CODES.UNRESPONSIVE, 'unresponsive');
      } else {
        client.send({ type: 'ping', t: now });
      }
    }
  }

  /** Closes every page socket (they will reconnect to the next bridge) and stops the heartbeat. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const client of this.registry.list()) {
      client.close(CLOSE_CODES.GOING_AWAY, 'bridge shutting down');
      this.drop(client, CLOSE_CODES.GOING_AWAY, 'shutdown');
    }
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
  }
}

/** A close reason may hold at most 123 bytes (ws throws otherwise); messages can quote page input. */
function closeReason(message: string): string {
  let reason = message.slice(0, 123);
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

function isHello(raw: unknown): raw is Record<string, unknown> {
  return raw !== null && typeof raw === 'object' && (raw as { type?: unknown }).type === 'hello';
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
