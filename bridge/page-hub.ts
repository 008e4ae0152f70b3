/**
 * The page side of the bridge: accepts page WebSockets (each served by a PageConnection) and keeps
 * liveness (app-level ping/pong, answered by the page's main thread, so a page frozen in a busy
 * loop is noticed).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CLOSE_CODES } from '../protocol/index.js';
import { originAllowed } from './access.js';
import type { ClientRegistry } from './client-registry.js';
import type { BridgeConfig } from './config.js';
import type { Logger } from './logger.js';
import type { PageClient } from './page-client.js';
import { PageConnection, type ConnectionContext, type ConnectionFactory, type HubConnection, type HubCounters, type HubEvents } from './page-connection.js';
import type { PendingCalls } from './pending-calls.js';

export type { ConnectionFactory, HubConnection, HubCounters, HubEvents } from './page-connection.js';

const pagecallConnection: ConnectionFactory = (ctx, ws, req, origin) => new PageConnection(ctx, ws, req, origin);

/** Accepts and serves page connections. */
export class PageHub {
  readonly counters: HubCounters = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, badFrames: 0, ignoredResults: 0 };
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout;
  /** Every open connection, joined or not. */
  private readonly connections = new Set<HubConnection>();
  /** The connection of each registered page. */
  private readonly byClient = new Map<PageClient, HubConnection>();
  private readonly context: ConnectionContext;

  constructor(config: BridgeConfig, registry: ClientRegistry, pending: PendingCalls, log: Logger, events: HubEvents = {}) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.heartbeat = setInterval(() => this.beat(), config.heartbeatMs);
    this.heartbeat.unref();
    this.context = {
      config,
      registry,
      pending,
      log,
      events,
      counters: this.counters,
      connectionOf: (client) => this.byClient.get(client),
      joined: (connection) => this.byClient.set(connection.client!, connection),
      left: (connection) => this.byClient.delete(connection.client!),
      closed: (connection) => this.connections.delete(connection),
    };
  }

  /**
   * Takes over an HTTP upgrade request for a page endpoint. `create` builds the connection that
   * serves the socket (pagecall's protocol unless another listener brings its own adapter).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, create: ConnectionFactory = pagecallConnection): void {
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : null;
    if (!originAllowed(origin, this.context.config.allowOrigins)) {
      this.context.log.warn({ origin }, 'page connection refused: origin not in --allow-origins');
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\norigin not allowed\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.connections.add(create(this.context, ws, req, origin));
    });
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
    for (const connection of [...this.connections]) connection.leave(CLOSE_CODES.GOING_AWAY, 'bridge shutting down');
    for (const connection of [...this.connections]) connection.ws.terminate();
    this.wss.close();
  }
}
