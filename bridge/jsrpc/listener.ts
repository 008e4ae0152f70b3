/**
 * The JsRpc-compatible listener: a second port (JsRpc's 12080 by default) that speaks JsRpc's
 * protocol at its root, beside the bridge's own API. Its pages join the bridge's groups as
 * ordinary clients; its routes make ordinary calls. Host, token, Origin and limits are the
 * bridge's; a page is admitted by the page key in its socket URL (docs/migrating-from-jsrpc.md).
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { nanoid } from 'nanoid';
import { PagecallError, checkClientId, checkGroup } from '../../protocol/index.js';
import { originAllowed, requestToken } from '../access.js';
import type { ClientRegistry } from '../client-registry.js';
import { ConfigError, type BridgeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { PageHub } from '../page-hub.js';
import type { PendingCalls } from '../pending-calls.js';
import type { PageKeys } from '../page-key.js';
import { admitsPage } from './admission.js';
import { JsrpcConnection, type JsrpcAdmission, type JsrpcLink } from './connection.js';
import { NO_GROUP_TEXT, compatError } from './respond.js';
import { JSRPC_ROUTES } from './route-table.js';
import { createJsrpcRouter } from './router.js';
import type { JsrpcContext } from './routes.js';

/** JsRpc's port, the compat listener's default. */
export const JSRPC_DEFAULT_PORT = 12080;

/** Path of JsRpc's page socket. */
export const JSRPC_SOCKET_PATH = '/ws';

/** Options of the JsRpc-compatible listener. */
export interface JsrpcOptions {
  /** TCP port (default 12080, JsRpc's; 0 picks a free one). Host, token and limits are the bridge's. */
  port?: number;
}

/** The bridge parts the listener serves from. */
export interface JsrpcParts {
  readonly config: BridgeConfig;
  readonly registry: ClientRegistry;
  readonly pending: PendingCalls;
  readonly hub: PageHub;
  readonly log: Logger;
  /** The page key's derived secrets: what admits a page, the group key its snippet shows. */
  readonly keys: PageKeys;
  /** The bridge's own base URL. */
  mainUrl(): string;
}

/** A JsRpc-compatible listener. The bridge creates it (StartOptions.jsrpc) and closes it. */
export class JsrpcListener {
  private readonly server: Server;
  private readonly link: JsrpcLink;
  private readonly wantedPort: number;
  private readonly requestIdPrefix = `${nanoid(8)}-j`;
  private lastRequestId = 0;

  constructor(
    private readonly parts: JsrpcParts,
    options: JsrpcOptions = {},
  ) {
    const port = options.port ?? JSRPC_DEFAULT_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`invalid configuration: jsrpc.port: expected a whole number from 0 to 65535, got ${String(port)}`);
    this.wantedPort = port;
    this.link = { allowEval: parts.config.allowEval, rawParams: new WeakMap(), settling: null };
    const ctx: JsrpcContext = { config: parts.config, registry: parts.registry, pending: parts.pending, hub: parts.hub, log: parts.log, link: this.link, mainUrl: () => parts.mainUrl() };
    this.server = createServer({ keepAlive: true }, createJsrpcRouter(ctx, JSRPC_ROUTES, () => this.requestIdPrefix + (++this.lastRequestId).toString(36)));
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', (error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      parts.log.debug({ error: error.message }, 'malformed HTTP request on the JsRpc listener');
    });
  }

  /** Starts listening on the bridge's host; resolves once the port is bound. */
  async listen(): Promise<void> {
    const { config, log } = this.parts;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.wantedPort, config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    log.info(`JsRpc-compatible listener on ${this.url} (page socket ${JSRPC_SOCKET_PATH}, ${config.openPages ? 'open to pages without the key' : 'pages need the page key'})`);
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL, e.g. `http://127.0.0.1:12080`. */
  get url(): string {
    const host = this.parts.config.host.includes(':') ? `[${this.parts.config.host}]` : this.parts.config.host;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${this.port}`;
  }

  /**
   * The socket URL a JsRpc page of `group` connects with: the key of that group included (unless
   * --open-pages). The token never goes into a page: the key admits it.
   */
  pageUrl(group: string): string {
    const problem = checkGroup(group);
    if (problem) throw new PagecallError('BAD_REQUEST', problem);
    // Group names need no escaping in a query; the token is often a placeholder shown as it is.
    let url = `${this.url.replace(/^http/, 'ws')}${JSRPC_SOCKET_PATH}?group=${group}`;
    if (!this.parts.config.openPages || this.parts.config.token !== undefined) url += `&key=${encodeURIComponent(this.parts.keys.groupKey(group))}`;
    return url;
  }

  /** The line to paste into a page that has JsRpc's page script loaded. */
  pageSnippet(group: string): string {
    return `new HlClient(${JSON.stringify(this.pageUrl(group))})`;
  }

  /** Stops listening. Page sockets are the hub's: the bridge closes them first. */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)).toLowerCase().replace(/(.)\/$/, '$1');
    if (path !== JSRPC_SOCKET_PATH) {
      refuseUpgrade(socket, new PagecallError('NOT_FOUND', `no socket at ${path}: JsRpc pages connect to ${JSRPC_SOCKET_PATH}?group=...`));
      return;
    }
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const admitted = this.admit(req, query);
    if (admitted instanceof PagecallError) {
      const origin = req.headers.origin;
      this.parts.log.info({ remoteAddress: req.socket.remoteAddress, origin, group: query.get('group'), code: admitted.code, protocol: 'jsrpc' }, `page refused: ${admitted.message}`);
      refuseUpgrade(socket, admitted);
      return;
    }
    this.parts.hub.handleUpgrade(req, socket, head, (ctx, ws, request, origin) => new JsrpcConnection(ctx, ws, request, origin, admitted, this.link));
  };

  /** Whether the socket may become a page, from its URL and headers; the refusal says what to change. */
  private admit(req: IncomingMessage, query: URLSearchParams): JsrpcAdmission | PagecallError {
    const { config, registry } = this.parts;
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : null;
    if (!originAllowed(origin, config.allowOrigins)) return new PagecallError('FORBIDDEN', `origin ${JSON.stringify(origin)} is not in --allow-origins`);
    const group = query.get('group');
    if (group === null || group === '') return new PagecallError('BAD_REQUEST', `${NO_GROUP_TEXT} (group: required, e.g. ${JSRPC_SOCKET_PATH}?group=zzz)`);
    const groupProblem = checkGroup(group);
    if (groupProblem) return new PagecallError('BAD_REQUEST', groupProblem);
    const given = query.get('clientId');
    if (given !== null && given !== '') {
      const problem = checkClientId(given);
      if (problem) return new PagecallError('BAD_REQUEST', problem);
    }
    if (!admitsPage(this.parts.keys, config, query.get('key'), requestToken(req, query) ?? null, group)) {
      return new PagecallError(
        'FORBIDDEN',
        `page not admitted: its socket URL needs &key=<page key> (pagecall serve --jsrpc prints the line to paste${config.openPages ? '' : '; --open-pages lets pages in without it'})`,
      );
    }
    const clientId = given !== null && given !== '' ? given : randomUUID();
    const holder = registry.get(clientId);
    // The page holding an id keeps it: a JsRpc page cannot pick another id and would take it back
    // on its next reconnect, so two tabs with one clientId would push each other out every 10 s.
    if (holder) return new PagecallError('BAD_REQUEST', `clientId: ${JSON.stringify(clientId)} is already connected (group ${JSON.stringify(holder.group)}); give each tab its own clientId, or leave it out`, { clientId });
    if (registry.size >= config.maxClients) return new PagecallError('OVERLOADED', `the bridge already has ${config.maxClients} pages (--max-clients)`);
    return { group, clientId };
  }
}

/** Answers an upgrade request with an HTTP error in JsRpc's shape and closes the socket. */
function refuseUpgrade(socket: Duplex, error: PagecallError): void {
  const { status, text } = compatError(error);
  const body = JSON.stringify({ status, data: text, code: error.code });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
