/**
 * One page socket from upgrade to close: the hello/welcome handshake, validation of every frame,
 * results handed to the pending table, and one teardown path (leave) whatever ends the connection.
 */
import type { IncomingMessage } from 'node:http';
import { customAlphabet } from 'nanoid';
import type { RawData, WebSocket } from 'ws';
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  checkPageMessage,
  frameMessages,
  type ErrorCode,
  type ErrorMessage,
  type EventsMessage,
  type HelloMessage,
  type PageMessage,
} from '../protocol/index.js';
import { tokenMatches } from './access.js';
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
  /** The page published events (docs/streams.md). */
  onEvents?(client: PageClient, message: EventsMessage): void;
}

/**
 * What the hub needs of a connection, whatever protocol its page speaks: pagecall's own
 * (PageConnection) or an adapter for another one (bridge/jsrpc/connection.ts).
 */
export interface HubConnection {
  /** The registered page; null until the page is admitted. */
  readonly client: PageClient | null;
  readonly ws: WebSocket;
  /** The one way the connection ends (see PageConnection.leave). */
  leave(code: number, reason: string): void;
}

/** Builds the connection that serves a socket the hub accepted; PageConnection unless told otherwise. */
export type ConnectionFactory = (ctx: ConnectionContext, ws: WebSocket, req: IncomingMessage, origin: string | null) => HubConnection;

/** What a connection shares with the hub that accepted it. */
export interface ConnectionContext {
  readonly config: BridgeConfig;
  readonly registry: ClientRegistry;
  readonly pending: PendingCalls;
  readonly log: Logger;
  readonly events: HubEvents;
  readonly counters: HubCounters;
  /** The connection of a registered page (to close the one a reconnecting page replaces). */
  connectionOf(client: PageClient): HubConnection | undefined;
  /** The page said hello and was registered. */
  joined(connection: HubConnection): void;
  /** The page left (once per joined connection). */
  left(connection: HubConnection): void;
  /** The socket closed (every connection, joined or not). */
  closed(connection: HubConnection): void;
}

/** A page socket and, once it said hello, the page it carries. */
export class PageConnection implements HubConnection {
  /** The registered page; null until the hello is accepted. */
  client: PageClient | null = null;
  private badFrames = 0;
  private hasLeft = false;
  private readonly helloTimer: NodeJS.Timeout;
  private readonly remoteAddress: string | null;

  constructor(
    private readonly ctx: ConnectionContext,
    readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly origin: string | null,
  ) {
    this.remoteAddress = req.socket.remoteAddress ?? null;
    this.helloTimer = setTimeout(() => this.leave(CLOSE_CODES.HELLO_TIMEOUT, 'no hello in time'), ctx.config.helloTimeoutMs);
    this.helloTimer.unref();
    ws.on('message', this.onFrame);
    ws.on('error', this.onSocketError);
    ws.on('close', this.onClose);
  }

  /**
   * The one way a connection ends: closes the socket with `code` (frames already queued go first)
   * and, for a page that joined, removes it from the registry, hands its running calls back to the
   * pending table (they move to other pages or fail) and tells the observers — exactly once,
   * whether the page closed, was kicked, replaced, went silent or the bridge shuts down.
   */
  leave(code: number, reason: string): void {
    clearTimeout(this.helloTimer);
    const client = this.client;
    if (!client) {
      closeSocket(this.ws, code, reason);
      return;
    }
    if (this.hasLeft) return;
    this.hasLeft = true;
    client.close(code, closeReason(reason));
    // A replaced page is no longer registered (its successor holds the id): nothing to remove.
    this.ctx.registry.remove(client);
    this.ctx.left(this);
    this.ctx.log.info({ clientId: client.id, group: client.group, code, reason }, 'page left');
    this.ctx.pending.onClientGone(client);
    this.ctx.events.onLeave?.(client, code, reason);
  }

  private readonly onFrame = (data: RawData, isBinary: boolean): void => {
    const { ws, ctx } = this;
    const size = rawSize(data);
    ctx.counters.bytesIn += size;
    if (this.client) {
      this.client.lastSeen = Date.now();
      this.client.stats.bytesIn += size;
    }
    if (isBinary) {
      this.badFrame('frame: expected a JSON text frame, got binary');
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawText(data));
    } catch (error) {
      this.badFrame(`frame: invalid JSON (${(error as Error).message})`);
      return;
    }
    for (const raw of frameMessages(parsed)) {
      // Once the page is refused or cut off, the rest of its frame is not worth reading: a
      // 32 MiB array of junk would otherwise hold the event loop for seconds.
      if (ws.readyState !== ws.OPEN) break;
      ctx.counters.messagesIn++;
      if (this.client) this.client.stats.messagesIn++;
      const checked = checkPageMessage(raw, { maxActions: ctx.config.maxActionsPerClient });
      if (!checked.ok) {
        if (!this.client && isHello(raw)) this.refuseHello(raw, checked.error);
        else this.badFrame(checked.error);
        continue;
      }
      this.onMessage(checked.value);
    }
  };

  private onMessage(message: PageMessage): void {
    const client = this.client;
    if (!client) {
      if (message.type === 'hello') this.onHello(message);
      else this.badFrame(`${message.type}: the first message must be hello`);
      return;
    }
    const { ctx } = this;
    switch (message.type) {
      case 'result':
        if (!ctx.pending.onResult(client, message)) ctx.counters.ignoredResults++;
        return;
      case 'pong':
        return;
      case 'events':
        ctx.events.onEvents?.(client, message);
        return;
      case 'update':
        if (message.actions) ctx.registry.setActions(client, message.actions);
        if (message.url !== undefined) client.url = message.url;
        if (message.title !== undefined) client.title = message.title;
        ctx.events.onChange?.(client);
        if (message.actions) ctx.pending.onClientChanged(client);
        return;
      case 'hello':
        this.badFrame('hello: already said hello on this connection');
        return;
      default: {
        const never: never = message;
        this.badFrame(`type: unhandled ${String((never as { type?: unknown }).type)}`);
      }
    }
  }

  private onHello(hello: HelloMessage): void {
    clearTimeout(this.helloTimer);
    const { ctx } = this;
    const { config, registry } = ctx;
    if (hello.v !== PROTOCOL_VERSION) {
      this.refuse(CLOSE_CODES.PROTOCOL_MISMATCH, 'PROTOCOL_MISMATCH', mismatch(hello.v));
      return;
    }
    if (config.token !== undefined && !tokenMatches(hello.token, config.token)) {
      this.refuse(CLOSE_CODES.UNAUTHORIZED, 'UNAUTHORIZED', 'this bridge requires a token; load /injector.js?token=... or pass token to pagecall.connect()');
      return;
    }
    const existing = hello.clientId !== undefined ? registry.get(hello.clientId) : undefined;
    if (!existing && registry.size >= config.maxClients) {
      this.refuse(CLOSE_CODES.FULL, 'OVERLOADED', `the bridge already has ${config.maxClients} pages (--max-clients)`);
      return;
    }
    const id = hello.clientId ?? newClientId();
    const client = new PageClient(id, hello.group, this.ws, { actions: hello.actions, url: hello.url, title: hello.title, origin: this.origin, remoteAddress: this.remoteAddress, context: hello.context ?? 'top' }, (messages, bytes) => {
      ctx.counters.messagesOut += messages;
      ctx.counters.bytesOut += bytes;
    });
    this.client = client;
    // Registered before the old connection leaves, so the calls it hands back can move to this one.
    const replaced = registry.add(client);
    ctx.joined(this);
    if (replaced) {
      ctx.log.info({ clientId: id }, 'page reconnected with the same client id; closing the old connection');
      ctx.connectionOf(replaced)?.leave(CLOSE_CODES.REPLACED, 'replaced by a newer connection with the same client id');
    }
    client.send({ type: 'welcome', v: PROTOCOL_VERSION, clientId: id, group: hello.group, heartbeatMs: config.heartbeatMs, maxFrameBytes: config.maxFrameBytes, allowEval: config.allowEval });
    ctx.log.info({ clientId: id, group: hello.group, url: hello.url, actions: hello.actions.length }, 'page joined');
    ctx.events.onJoin?.(client);
    ctx.pending.onClientChanged(client);
  }

  /** Refuses the hello: says why in an error frame, then closes with `code`. */
  private refuse(code: number, errorCode: ErrorCode, message: string): void {
    this.ctx.log.info({ remoteAddress: this.remoteAddress, origin: this.origin, code: errorCode }, `page refused: ${message}`);
    this.sendError(errorCode, message);
    this.leave(code, message);
  }

  // An invalid hello is final (4400, the page does not reconnect) rather than a bad frame: the
  // page would otherwise sit unregistered until the hello timeout and then retry the same hello.
  private refuseHello(raw: Record<string, unknown>, error: string): void {
    clearTimeout(this.helloTimer);
    if (typeof raw.v === 'number' && raw.v !== PROTOCOL_VERSION) this.refuse(CLOSE_CODES.PROTOCOL_MISMATCH, 'PROTOCOL_MISMATCH', mismatch(raw.v));
    else this.refuse(CLOSE_CODES.BAD_HELLO, 'BAD_FRAME', `hello refused: ${error}`);
  }

  private badFrame(message: string): void {
    this.ctx.counters.badFrames++;
    this.badFrames++;
    this.ctx.log.debug({ clientId: this.client?.id, error: message }, 'bad frame from page');
    if (this.badFrames > MAX_BAD_FRAMES) {
      this.sendError('BAD_FRAME', `more than ${MAX_BAD_FRAMES} invalid frames`);
      this.leave(CLOSE_CODES.TOO_MANY_BAD_FRAMES, 'too many invalid frames');
      return;
    }
    this.sendError('BAD_FRAME', message);
  }

  /** An error frame: through the page's outbox once it joined (ordered with its calls), else straight out. */
  private sendError(code: ErrorCode, message: string): void {
    const frame: ErrorMessage = { type: 'error', code, message };
    if (this.client) this.client.send(frame);
    else if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private readonly onSocketError = (error: Error): void => {
    this.ctx.log.debug({ clientId: this.client?.id, error: error.message }, 'page socket error');
    // ws reports protocol violations (a frame over maxFrameBytes, invalid UTF-8) here and starts
    // the close handshake itself; a page that never completes it would hold its calls until the
    // heartbeat noticed. Its calls move to other pages (or fail) now.
    this.leave(CLOSE_CODES.PROTOCOL_ERROR, error.message);
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    this.leave(code, reason.toString());
    this.ctx.closed(this);
  };
}

function mismatch(v: number): string {
  return `page speaks protocol ${v}, this bridge speaks ${PROTOCOL_VERSION}; load the injector from this bridge`;
}

/** Closes a socket that carries no page yet; a code ws refuses to send ends it at once. */
function closeSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState !== ws.OPEN) return;
  try {
    ws.close(code, closeReason(reason));
  } catch {
    ws.terminate();
  }
}

/** A close reason may hold at most 123 bytes (ws throws otherwise); messages can quote page input. */
function closeReason(message: string): string {
  if (message.length <= 41) return message; // 41 characters are at most 123 UTF-8 bytes
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
