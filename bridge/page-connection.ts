/**
 * One page socket from upgrade to close: the hello/welcome handshake (admission and client id),
 * validation of every frame, results handed to the pending table, and one teardown path (leave)
 * whatever ends the connection. Before its welcome a socket is a stranger: its one frame (at most
 * MAX_HELLO_BYTES, enforced by ws on the frame header) must be an admissible hello, or it is closed.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
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
import { admit, claimId } from './admission.js';
import type { ClientRegistry } from './client-registry.js';
import type { BridgeConfig } from './config.js';
import { raiseFrameLimit } from './frame-limit.js';
import { MAX_ENVELOPE_DEPTH, MAX_WIRE_DEPTH, scanDepth } from './json-depth.js';
import { passThroughResult } from './result-frame.js';
import type { Logger } from './logger.js';
import { PageClient } from './page-client.js';
import type { PageKeys } from './page-key.js';
import type { PendingCalls } from './pending-calls.js';
import type { GateTicket, SourceCounts } from './source-limits.js';

const newClientId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);

/** Invalid frames tolerated from one page before it is disconnected. */
const MAX_BAD_FRAMES = 100;

/** A socket that was refused gets this long to close before it is cut off. */
const REFUSED_CLOSE_MS = 2_000;

/** Traffic counters, for metrics. */
export interface HubCounters {
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  badFrames: number;
  ignoredResults: number;
  /** Results whose value went to the caller as the page sent it (bridge/result-frame.ts). */
  passedThrough: number;
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
  /** The page key and what is derived from it. */
  readonly keys: PageKeys;
  /** Pages admitted without a key (--open-pages), per source. */
  readonly openPages: SourceCounts;
  /** The largest frame a stranger may send (MAX_HELLO_BYTES, or maxFrameBytes when smaller). */
  readonly helloFrameBytes: number;
  /** The connection of a registered page (to close the one a reconnecting page replaces). */
  connectionOf(client: PageClient): HubConnection | undefined;
  /** The page said hello and was registered. */
  joined(connection: HubConnection): void;
  /** The page left (once per joined connection). */
  left(connection: HubConnection): void;
  /** The socket closed (every connection, joined or not). */
  closed(connection: HubConnection): void;
}

/** What a frame's update messages changed, acted on once at the end of the frame. */
interface FrameEffects {
  changed: boolean;
  actionsChanged: boolean;
}

/** A page socket and, once it said hello, the page it carries. */
export class PageConnection implements HubConnection {
  /** The registered page; null until the hello is accepted. */
  client: PageClient | null = null;
  private badFrames = 0;
  private hasLeft = false;
  /** Its hello was refused (or never came): anything more it sends cuts it off. */
  private refused = false;
  /** Counted among the --open-pages pages of its sources. */
  private countedOpen = false;
  private readonly helloTimer: NodeJS.Timeout;
  private readonly remoteAddress: string | null;

  constructor(
    private readonly ctx: ConnectionContext,
    readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly origin: string | null,
    /** The sources it counts against (its origin, its address beyond loopback). */
    private readonly sources: readonly string[],
    /** Its handshake slot, given back once it is welcomed or gone. */
    private readonly handshake: GateTicket,
    /** The TCP socket under `ws`, to stop reading from a stranger that broke the protocol. */
    private readonly socket: Duplex,
  ) {
    this.remoteAddress = req.socket.remoteAddress ?? null;
    this.helloTimer = setTimeout(() => this.refuseStranger(CLOSE_CODES.HELLO_TIMEOUT, 'no hello in time'), ctx.config.helloTimeoutMs);
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
      this.refuseStranger(code, reason);
      return;
    }
    if (this.hasLeft) return;
    this.hasLeft = true;
    if (this.countedOpen) this.ctx.openPages.remove(this.sources);
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
    if (ws.readyState !== ws.OPEN) {
      // A stranger that keeps sending after it was refused is not worth another byte.
      if (!this.client) ws.terminate();
      return;
    }
    const size = rawSize(data);
    ctx.counters.bytesIn += size;
    const client = this.client;
    if (client) {
      client.lastSeen = Date.now();
      client.stats.bytesIn += size;
    }
    if (isBinary) {
      if (client) this.badFrame('frame: expected a JSON text frame, got binary');
      else this.refuseFirstFrame('frame: the first frame must be a JSON hello, got binary');
      return;
    }
    const bytes = rawBuffer(data);
    if (client) {
      // A large result in a frame of its own: its value goes to the caller as it came (result-frame.ts).
      const passing = passThroughResult(bytes);
      if (passing) {
        ctx.counters.messagesIn++;
        client.stats.messagesIn++;
        if (ctx.pending.onPassingResult(client, passing.id, passing.value)) ctx.counters.passedThrough++;
        else ctx.counters.ignoredResults++;
        return;
      }
    }
    // Counted on the bytes before JSON.parse sees them: parsing deep nesting is what costs.
    const depth = scanDepth(bytes, MAX_ENVELOPE_DEPTH);
    if (depth > MAX_ENVELOPE_DEPTH) {
      const message = `frame: nested deeper than ${MAX_ENVELOPE_DEPTH} levels; not read`;
      this.sendError('BAD_FRAME', message);
      this.leave(CLOSE_CODES.TOO_DEEP, message);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      if (client) this.badFrame(`frame: invalid JSON (${(error as Error).message})`);
      else this.refuseFirstFrame(`frame: invalid JSON (${(error as Error).message})`);
      return;
    }
    if (!client) {
      this.onFirstFrame(parsed);
      return;
    }
    // No value in a frame this shallow can pass the wire limit: results skip their own depth walk.
    const shallow = depth <= MAX_WIRE_DEPTH;
    const effects: FrameEffects = { changed: false, actionsChanged: false };
    for (const raw of frameMessages(parsed)) {
      // Once the page is cut off, the rest of its frame is not worth reading: a 32 MiB array of
      // junk would otherwise hold the event loop for seconds.
      if (ws.readyState !== ws.OPEN) break;
      ctx.counters.messagesIn++;
      client.stats.messagesIn++;
      const checked = checkPageMessage(raw, { maxActions: ctx.config.maxActionsPerClient });
      if (!checked.ok) {
        this.badFrame(checked.error);
        continue;
      }
      this.onMessage(client, checked.value, shallow, effects);
    }
    // However many updates the frame held, the queue is pumped and observers told once.
    if (effects.changed && !this.hasLeft) {
      ctx.events.onChange?.(client);
      if (effects.actionsChanged) ctx.pending.onClientChanged(client);
    }
  };

  /** A stranger's one frame: exactly one hello, or the socket is closed. */
  private onFirstFrame(parsed: unknown): void {
    const messages = frameMessages(parsed);
    const raw = messages[0];
    this.ctx.counters.messagesIn += messages.length;
    if (messages.length !== 1) {
      this.refuseFirstFrame(`frame: the first frame must hold one hello message, got ${messages.length} messages`);
      return;
    }
    const checked = checkPageMessage(raw, { maxActions: this.ctx.config.maxActionsPerClient });
    if (!checked.ok) {
      if (isHello(raw)) this.refuseHello(raw, checked.error);
      else this.refuseFirstFrame(checked.error);
      return;
    }
    if (checked.value.type !== 'hello') {
      this.refuseFirstFrame(`${checked.value.type}: the first message must be hello`);
      return;
    }
    this.onHello(checked.value);
  }

  private onMessage(client: PageClient, message: PageMessage, shallow: boolean, effects: FrameEffects): void {
    const { ctx } = this;
    switch (message.type) {
      case 'result':
        if (!ctx.pending.onResult(client, message, !shallow)) ctx.counters.ignoredResults++;
        return;
      case 'pong':
        return;
      case 'events':
        ctx.events.onEvents?.(client, message);
        return;
      case 'update':
        // State is updated now (later messages of the frame see it); reactions wait for the frame's end.
        if (message.actions) {
          ctx.registry.setActions(client, message.actions);
          effects.actionsChanged = true;
        }
        if (message.url !== undefined) client.url = message.url;
        if (message.title !== undefined) client.title = message.title;
        effects.changed = true;
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
    const { config, registry, keys } = ctx;
    if (hello.v !== PROTOCOL_VERSION) {
      this.refuse(CLOSE_CODES.PROTOCOL_MISMATCH, 'PROTOCOL_MISMATCH', mismatch(hello.v));
      return;
    }
    const admission = admit(hello, keys, config);
    if (!admission.ok) {
      this.refuse(admission.closeCode, admission.errorCode, admission.message);
      return;
    }
    if (admission.by === 'open' && !ctx.openPages.fits(this.sources, config.maxOpenPagesPerOrigin)) {
      this.refuse(CLOSE_CODES.CROWDED, 'OVERLOADED', `already ${config.maxOpenPagesPerOrigin} pages without a key from ${this.origin ?? this.remoteAddress ?? 'this source'} (--max-open-pages-per-origin); pages that carry the page key are not limited`);
      return;
    }
    const claim = claimId(hello, (id) => registry.get(id), keys, newClientId);
    if (!claim.replaces && registry.size >= config.maxClients) {
      this.refuse(CLOSE_CODES.FULL, 'OVERLOADED', `the bridge already has ${config.maxClients} pages (--max-clients)`);
      return;
    }
    const id = claim.id;
    if (claim.refused) ctx.log.info({ asked: hello.clientId, clientId: id, origin: this.origin }, 'a page asked for a client id that is in use, without its resume secret; it gets a new id');
    // Admitted: from now on it may send frames up to the configured limit.
    const maxFrameBytes = raiseFrameLimit(this.ws, config.maxFrameBytes, ctx.helloFrameBytes);
    const client = new PageClient(
      id,
      hello.group,
      this.ws,
      { actions: hello.actions, url: hello.url, title: hello.title, origin: this.origin, remoteAddress: this.remoteAddress, context: hello.context ?? 'top', admission: admission.by },
      (messages, bytes) => {
        ctx.counters.messagesOut += messages;
        ctx.counters.bytesOut += bytes;
      },
    );
    this.client = client;
    this.handshake.release();
    if (admission.by === 'open') {
      ctx.openPages.add(this.sources);
      this.countedOpen = true;
    }
    // Registered before the old connection leaves, so the calls it hands back can move to this one.
    const replaced = registry.add(client);
    ctx.joined(this);
    if (replaced) {
      ctx.log.info({ clientId: id }, 'page reconnected with the same client id; closing the old connection');
      ctx.connectionOf(replaced)?.leave(CLOSE_CODES.REPLACED, 'replaced by a newer connection with the same client id');
    }
    client.send({ type: 'welcome', v: PROTOCOL_VERSION, clientId: id, group: hello.group, heartbeatMs: config.heartbeatMs, maxFrameBytes, allowEval: config.allowEval, resume: keys.resumeFor(id) });
    ctx.log.info({ clientId: id, group: hello.group, url: hello.url, origin: this.origin, admission: admission.by, actions: hello.actions.length }, 'page joined');
    ctx.events.onJoin?.(client);
    ctx.pending.onClientChanged(client);
  }

  /** Refuses the hello: says why in an error frame, then closes with `code`. */
  private refuse(code: number, errorCode: ErrorCode, message: string): void {
    this.ctx.log.info({ remoteAddress: this.remoteAddress, origin: this.origin, code: errorCode }, `page refused: ${message}`);
    this.sendError(errorCode, message);
    this.leave(code, message);
  }

  /** The first frame was not a hello at all: said, then closed (a page must open with its hello). */
  private refuseFirstFrame(error: string): void {
    clearTimeout(this.helloTimer);
    this.refuse(CLOSE_CODES.BAD_HELLO, 'BAD_FRAME', `hello refused: ${error}`);
  }

  /**
   * Closes a socket that carries no page. It gets REFUSED_CLOSE_MS to finish the close handshake;
   * whatever it sends meanwhile cuts it off (see onFrame).
   */
  private refuseStranger(code: number, reason: string): void {
    clearTimeout(this.helloTimer);
    if (this.refused) return;
    this.refused = true;
    if (this.ws.readyState === this.ws.CLOSED) return;
    closeSocket(this.ws, code, reason);
    setTimeout(() => this.ws.terminate(), REFUSED_CLOSE_MS).unref();
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
    if (!this.client) {
      // A stranger that broke the protocol (a frame over the 64 KiB it may send): ws has written
      // its close frame and would go on reading (and dropping) whatever else it sends for as long
      // as it keeps the connection. The connection is cut instead; the close code still reaches a
      // peer that stopped sending, one still pushing a payload sees the connection reset.
      this.socket.destroy();
    }
    // ws reports protocol violations (a frame over maxFrameBytes, invalid UTF-8) here and starts
    // the close handshake itself; a page that never completes it would hold its calls until the
    // heartbeat noticed. Its calls move to other pages (or fail) now.
    this.leave(CLOSE_CODES.PROTOCOL_ERROR, error.message);
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    this.handshake.release();
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

function rawBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}
