/**
 * The page side of the bridge: accepts page WebSockets (each served by a PageConnection) and keeps
 * liveness (app-level ping/pong, answered by the page's main thread, so a page frozen in a busy
 * loop is noticed). Sockets not admitted yet are few per origin (the handshake gate) and may send
 * one small frame (MAX_HELLO_BYTES) until their welcome.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CLOSE_CODES, MAX_HELLO_BYTES } from '../protocol/index.js';
import { originAllowed } from './access.js';
import type { ClientRegistry } from './client-registry.js';
import type { BridgeConfig } from './config.js';
import type { Logger } from './logger.js';
import type { PageClient } from './page-client.js';
import { PageConnection, type ConnectionContext, type ConnectionFactory, type HubConnection, type HubCounters, type HubEvents } from './page-connection.js';
import type { PageKeys } from './page-key.js';
import type { PendingCalls } from './pending-calls.js';
import { HandshakeGate, SourceCounts, sourcesOf } from './source-limits.js';

/** Sockets that may wait for a handshake slot, per source, as a multiple of the slots. */
const WAITING_PER_SLOT = 8;

export type { ConnectionFactory, HubConnection, HubCounters, HubEvents } from './page-connection.js';

/** Accepts and serves page connections. */
export class PageHub {
  readonly counters: HubCounters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, badFrames: 0, ignoredResults: 0, passedThrough: 0 };
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout;
  /** Every open connection, joined or not. */
  private readonly connections = new Set<HubConnection>();
  /** The connection of each registered page. */
  private readonly byClient = new Map<PageClient, HubConnection>();
  private readonly context: ConnectionContext;
  private readonly gate: HandshakeGate;

  constructor(config: BridgeConfig, registry: ClientRegistry, pending: PendingCalls, log: Logger, keys: PageKeys, events: HubEvents = {}) {
    const helloFrameBytes = Math.min(MAX_HELLO_BYTES, config.maxFrameBytes);
    // Every socket starts with the stranger's limit; PageConnection raises it once the page is admitted.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: helloFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.gate = new HandshakeGate(config.maxHandshakesPerOrigin, config.maxHandshakesPerOrigin * WAITING_PER_SLOT, config.helloTimeoutMs);
    this.heartbeat = setInterval(() => this.beat(), config.heartbeatMs);
    this.heartbeat.unref();
    this.context = {
      config,
      registry,
      pending,
      log,
      events,
      counters: this.counters,
      keys,
      openPages: new SourceCounts(),
      helloFrameBytes,
      connectionOf: (client) => this.byClient.get(client),
      joined: (connection) => this.byClient.set(connection.client!, connection),
      left: (connection) => this.byClient.delete(connection.client!),
      closed: (connection) => this.connections.delete(connection),
    };
  }

  /**
   * Takes over an HTTP upgrade request for a page endpoint. Pagecall's own pages wait for a
   * handshake slot of their source, then speak the page protocol; `create` (another listener's
   * adapter, whose pages were admitted at upgrade) builds the connection that serves the socket.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, create?: ConnectionFactory): void {
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : null;
    if (!originAllowed(origin, this.context.config.allowOrigins)) {
      this.context.log.warn({ origin }, 'page connection refused: origin not in --allow-origins');
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\norigin not allowed\n');
      return;
    }
    if (create) {
      // A listener with its own protocol admits its pages at upgrade (bridge/jsrpc): no handshake slot.
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.connections.add(create(this.context, ws, req, origin));
      });
      return;
    }
    const sources = sourcesOf(origin, req.socket.remoteAddress ?? null);
    let started = false;
    let withdraw = (): void => {};
    const goneWhileWaiting = (): void => withdraw();
    const entry = this.gate.enter(
      sources,
      (ticket) => {
        started = true;
        socket.off('close', goneWhileWaiting);
        // ws does not call back for a socket that went away meanwhile: the slot must not leak then.
        socket.once('close', ticket.release);
        if (socket.destroyed) {
          ticket.release();
          return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          this.connections.add(new PageConnection(this.context, ws, req, origin, sources, ticket, socket));
        });
      },
      (reason) => {
        socket.off('close', goneWhileWaiting);
        refuseUpgrade(socket, 503, `page connections from ${origin ?? 'this address'} are waiting too long: ${reason}`);
      },
    );
    if (!entry.admitted) {
      this.context.log.debug({ origin, remoteAddress: req.socket.remoteAddress }, 'page connection refused: too many at once from one source');
      refuseUpgrade(socket, 429, `too many page connections from ${origin ?? 'this address'} at once`);
      return;
    }
    if (!started) {
      withdraw = entry.withdraw;
      socket.once('close', goneWhileWaiting);
    }
  }

  /** Sockets waiting for a handshake slot, and sources counted anywhere: zero when nothing leaked. */
  get pendingHandshakes(): { waiting: number; sources: number; openPageSources: number } {
    return { waiting: this.gate.waitingCount, sources: this.gate.sourceCount, openPageSources: this.context.openPages.size };
  }

  /** Drops a page (DELETE /v1/clients/:id): it is told not to reconnect. */
  kick(client: PageClient): void {
    this.byClient.get(client)?.leave(CLOSE_CODES.KICKED, 'kicked');
  }

  private beat(): void {
    const now = Date.now();
    const deadAfter = this.context.config.heartbeatMs * 3;
    for (const [client, connection] of [...this.byClient]) {
      if (now - client.lastSeen > deadAfter) {
        this.context.log.warn({ clientId: client.id, silentMs: now - client.lastSeen }, 'page stopped answering pings; dropping it');
        connection.leave(CLOSE_CODES.UNRESPONSIVE, 'no pong');
      } else {
        client.send({ type: 'ping', t: now });
      }
    }
  }

  /** Closes every page socket (they will reconnect to the next bridge) and stops the heartbeat. */
  close(): void {
    clearInterval(this.heartbeat);
    this.gate.close();
    for (const connection of [...this.connections]) connection.leave(CLOSE_CODES.GOING_AWAY, 'bridge shutting down');
    for (const connection of [...this.connections]) connection.ws.terminate();
    this.wss.close();
  }
}

function refuseUpgrade(socket: Duplex, status: 429 | 503, message: string): void {
  const reason = status === 429 ? 'Too Many Requests' : 'Service Unavailable';
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`);
  else socket.destroy();
}
