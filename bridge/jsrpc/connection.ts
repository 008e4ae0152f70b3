/**
 * One JsRpc page socket from upgrade to close, the JsRpc counterpart of PageConnection: the page
 * was admitted by its socket URL (bridge/jsrpc/listener.ts), so it joins at once; its frames are
 * checked and turned into what the hub expects (action lists into the registry, replies into
 * ResultMessages for the pending table); one teardown path, leave(), whatever ends it.
 */
import { raiseFrameLimit } from '../frame-limit.js';
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import { CLOSE_CODES, type ResultMessage } from '../../protocol/index.js';
import type { ConnectionContext, HubConnection } from '../page-connection.js';
import { checkJsrpcFrame } from './frames.js';
import { JsrpcPageClient, type JsrpcClientLink } from './page-client.js';
import { replyValue } from './values.js';

/** Invalid frames tolerated from one page before it is disconnected (as for pagecall pages). */
const MAX_BAD_FRAMES = 100;

/** The reply the pending table is settling right now, for routes that answer with its text as sent. */
export interface SettlingReply {
  readonly callId: string;
  /** `response_data` as the page sent it. */
  readonly data: unknown;
}

/** What JsRpc connections share with their listener. */
export interface JsrpcLink extends JsrpcClientLink {
  /**
   * Set while a JsRpc reply is handed to the pending table: calls settle synchronously, so a
   * route's settle callback can read the reply's exact text (see routes' dataOf).
   */
  settling: SettlingReply | null;
}

/** Where an admitted page joins. */
export interface JsrpcAdmission {
  readonly group: string;
  readonly clientId: string;
}

/** A JsRpc page socket and the page it carries. */
export class JsrpcConnection implements HubConnection {
  /** The registered page; null when the bridge was full and refused it. */
  client: JsrpcPageClient | null = null;
  private badFrames = 0;
  private hasLeft = false;

  constructor(
    private readonly ctx: ConnectionContext,
    readonly ws: WebSocket,
    req: IncomingMessage,
    origin: string | null,
    admission: JsrpcAdmission,
    private readonly link: JsrpcLink,
  ) {
    ws.on('message', this.onFrame);
    ws.on('pong', this.onPong);
    ws.on('error', this.onSocketError);
    ws.on('close', this.onClose);
    this.join(admission, origin, req.socket.remoteAddress ?? null);
  }

  /**
   * The one way the connection ends: closes the socket with `code`, removes the page from the
   * registry, hands its running calls back to the pending table (they move to another page or
   * fail at once) and tells the observers — exactly once.
   */
  leave(code: number, reason: string): void {
    const client = this.client;
    if (!client) {
      if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, reason);
      return;
    }
    if (this.hasLeft) return;
    this.hasLeft = true;
    client.close(code, shortReason(reason));
    this.ctx.registry.remove(client);
    this.ctx.left(this);
    this.ctx.log.info({ clientId: client.id, group: client.group, code, reason, protocol: 'jsrpc' }, 'page left');
    this.ctx.pending.onClientGone(client);
    this.ctx.events.onLeave?.(client, code, reason);
  }

  private join(admission: JsrpcAdmission, origin: string | null, remoteAddress: string | null): void {
    const { ctx } = this;
    const { registry, config } = ctx;
    // The listener checked both before the upgrade; another page may have joined since.
    if (registry.get(admission.clientId)) {
      ctx.log.info({ remoteAddress, origin, group: admission.group, clientId: admission.clientId }, 'JsRpc page refused: its client id is already connected');
      this.leave(CLOSE_CODES.BAD_HELLO, 'client id already connected');
      return;
    }
    if (registry.size >= config.maxClients) {
      ctx.log.info({ remoteAddress, origin, group: admission.group }, `JsRpc page refused: the bridge already has ${config.maxClients} pages (--max-clients)`);
      this.leave(CLOSE_CODES.FULL, 'bridge full');
      return;
    }
    const client = new JsrpcPageClient(
      admission.clientId,
      admission.group,
      this.ws,
      { url: origin ?? '', origin, remoteAddress },
      this.link,
      (result) => queueMicrotask(() => this.settle(result, undefined)),
      (messages, bytes) => {
        ctx.counters.messagesOut += messages;
        ctx.counters.bytesOut += bytes;
      },
    );
    this.client = client;
    // Admitted at upgrade (key checked by the listener): the socket leaves the stranger's frame limit.
    raiseFrameLimit(this.ws, config.maxFrameBytes, ctx.helloFrameBytes);
    registry.add(client);
    ctx.joined(this);
    client.sendRegisterId();
    ctx.log.info({ clientId: client.id, group: client.group, origin, protocol: 'jsrpc' }, 'page joined');
    ctx.events.onJoin?.(client);
    ctx.pending.onClientChanged(client);
  }

  private readonly onFrame = (data: RawData, isBinary: boolean): void => {
    const client = this.client;
    if (!client || this.hasLeft) return;
    const { ctx } = this;
    const size = rawSize(data);
    ctx.counters.bytesIn += size;
    client.stats.bytesIn += size;
    client.lastSeen = Date.now();
    ctx.counters.messagesIn++;
    client.stats.messagesIn++;
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
    const checked = checkJsrpcFrame(parsed, ctx.config.maxActionsPerClient);
    if (!checked.ok) {
      this.badFrame(checked.error);
      return;
    }
    const frame = checked.value;
    if (frame.kind === 'actions') {
      if (frame.refused.length > 0) ctx.log.warn({ clientId: client.id, group: client.group, refused: frame.refused }, 'JsRpc page registered action names pagecall cannot serve; they are left out');
      ctx.registry.setActions(client, frame.actions);
      ctx.events.onChange?.(client);
      ctx.pending.onClientChanged(client);
      return;
    }
    let result: ResultMessage;
    try {
      result = { type: 'result', id: frame.id, ok: true, value: replyValue(frame.data) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result = { type: 'result', id: frame.id, ok: false, error: { code: 'RESULT_NOT_SERIALIZABLE', name: 'CodecError', message } };
    }
    this.settle(result, frame.data);
  };

  /** Hands a result to the pending table, with the reply's text visible to the settling route. */
  private settle(result: ResultMessage, data: unknown): void {
    const client = this.client;
    if (!client) return;
    this.link.settling = { callId: result.id, data };
    try {
      if (!this.ctx.pending.onResult(client, result)) this.ctx.counters.ignoredResults++;
    } finally {
      this.link.settling = null;
    }
  }

  private readonly onPong = (): void => {
    if (this.client) this.client.lastSeen = Date.now();
  };

  private badFrame(message: string): void {
    this.ctx.counters.badFrames++;
    this.badFrames++;
    // JsRpc pages read no error frames: the reason goes to the log.
    this.ctx.log.debug({ clientId: this.client?.id, error: message, protocol: 'jsrpc' }, 'bad frame from page');
    if (this.badFrames > MAX_BAD_FRAMES) {
      this.ctx.log.warn({ clientId: this.client?.id, protocol: 'jsrpc' }, `JsRpc page sent more than ${MAX_BAD_FRAMES} invalid frames; disconnecting it`);
      this.leave(CLOSE_CODES.TOO_MANY_BAD_FRAMES, 'too many invalid frames');
    }
  }

  private readonly onSocketError = (error: Error): void => {
    this.ctx.log.debug({ clientId: this.client?.id, error: error.message, protocol: 'jsrpc' }, 'page socket error');
    this.leave(CLOSE_CODES.PROTOCOL_ERROR, error.message);
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    this.leave(code, reason.toString());
    this.ctx.closed(this);
  };
}

/** A close reason fits in 123 bytes; the reasons given here are short, error texts may not be. */
function shortReason(reason: string): string {
  let out = reason.slice(0, 123);
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

function rawSize(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}
