/** The bridge: page hub, registry, pending calls and HTTP API on one port. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { nanoid } from 'nanoid';
import { PagecallError, WS_PATH, checkGroup, type Json } from '../protocol/index.js';
import { checkAction, typeName } from '../protocol/index.js';
import { registerBridgeParts } from './bridge-parts.js';
import { ClientRegistry } from './client-registry.js';
import { Cluster, type ClusterStatus } from './cluster/cluster.js';
import { configSummary, redactConfig, resolveConfig, type BridgeConfig, type BridgeOptions } from './config.js';
import { checkCallRequest } from './http/call-schema.js';
import { ROUTES } from './http/route-table.js';
import { createRouter } from './http/router.js';
import { LiveState } from './dashboard/live-state.js';
import { BridgeMetrics } from './metrics.js';
import { JsrpcListener, type JsrpcOptions } from './jsrpc/listener.js';
import { createLogger, type Logger } from './logger.js';
import { codec } from './node-codec.js';
import { packageVersion } from './package-root.js';
import type { ClientInfo } from './page-client.js';
import { PageHub } from './page-hub.js';
import { PageKeys, resolvePageKey, type ResolvedPageKey } from './page-key.js';
import { PendingCalls, type CallRequest, type CallSuccess, type SettledCall } from './pending-calls.js';
import { StreamHub } from './streams/stream-hub.js';
import { STREAM_PATH, StreamSockets } from './streams/stream-routes.js';

/** Options of a call made from Node. */
export interface CallOptions {
  clientId?: string;
  timeoutMs?: number;
  retry?: boolean;
  signal?: AbortSignal;
}

/** Everything a bridge can be started with: configuration plus a logger to use instead of its own. */
export interface StartOptions extends BridgeOptions {
  logger?: Logger;
  /** Environment to read PAGECALL_* variables from (default: none, so tests are not affected by the shell). */
  env?: Record<string, string | undefined>;
  /** Also open a listener that speaks JsRpc's protocol (docs/migrating-from-jsrpc.md); `{}` for port 12080. */
  jsrpc?: JsrpcOptions;
  /**
   * The page key pages must show (at least 16 characters). Default: `pageKeyFile`, else
   * PAGECALL_PAGE_KEY in `env`, else the key file in the user's config directory, made on first start.
   */
  pageKey?: string;
}


/** A running bridge. Create it with startBridge(). */
export class Bridge {
  readonly config: BridgeConfig;
  readonly log: Logger;
  readonly version = packageVersion();
  /**
   * The key a page sends in its hello to show the user put it there (`pagecall.connect({key})`).
   * It admits pages to every group; groupKey() gives one that admits a single group.
   */
  readonly pageKey: string;
  /** Where the page key came from (option, environment, its file, or a file made now). */
  readonly pageKeySource: Omit<ResolvedPageKey, 'key'>;
  private readonly keys: PageKeys;
  private readonly registry = new ClientRegistry();
  private readonly pending: PendingCalls;
  private readonly hub: PageHub;
  private readonly server: Server;
  private readonly live: LiveState;
  private readonly metrics: BridgeMetrics;
  /** The JsRpc-compatible listener, when started with `jsrpc`. */
  readonly jsrpc: JsrpcListener | null;
  /** This node's membership in a cluster (--nats), or null for a single bridge. */
  private readonly cluster: Cluster | null;
  private readonly streams: StreamHub;
  private readonly streamSockets: StreamSockets;
  private closing: Promise<void> | undefined;
  /** Request ids the bridge makes up: unique per bridge run, cheap (a counter), not secret. */
  private readonly requestIdPrefix = `${nanoid(8)}-`;
  private lastRequestId = 0;

  constructor(options: StartOptions = {}) {
    const { logger, env, jsrpc, pageKey, ...rest } = options;
    this.config = resolveConfig(rest, env ?? {});
    this.log = logger ?? createLogger(this.config);
    const { key, ...source } = resolvePageKey({ pageKey, pageKeyFile: this.config.pageKeyFile, env: env ?? {} });
    this.pageKey = key;
    this.pageKeySource = source;
    this.keys = new PageKeys(key);
    this.pending = new PendingCalls(this.registry, this.config, (call) => this.onSettled(call));
    this.streams = new StreamHub(this.config, this.log);
    this.streamSockets = new StreamSockets(this.config, this.streams, this.log);
    this.hub = new PageHub(this.config, this.registry, this.pending, this.log, this.keys, {
      onJoin: (client) => {
        this.live.onJoin(client);
        this.metrics.onJoin(client);
        this.cluster?.onJoin(client);
      },
      onChange: (client) => {
        this.live.onChange(client);
        this.cluster?.onChange(client);
      },
      onLeave: (client, code) => {
        this.live.onLeave(client);
        this.metrics.onLeave(client, code);
        this.cluster?.onLeave(client);
        this.streams.clientLeft(client);
      },
      onEvents: (client, message) => this.streams.publish(client, message),
    });
    this.cluster =
      this.config.nats.length > 0
        ? new Cluster({
            config: this.config,
            registry: this.registry,
            pending: this.pending,
            log: this.log,
            version: this.version,
            kick: (clientId) => {
              const client = this.registry.get(clientId);
              if (client) this.hub.kick(client);
              return client !== undefined;
            },
            pageViews: () => this.live.pageViews(),
          })
        : null;
    if (this.cluster) {
      // Streams fan out over the cluster: this node's pages' entries to the nodes that follow a topic, theirs to it.
      this.streams.attachRemote(this.cluster.streams);
      this.cluster.streams.attach(this.streams);
    }
    this.live = new LiveState(this.config, this.registry, this.pending, this.version, this.streams, this.cluster);
    this.metrics = new BridgeMetrics({ registry: this.registry, pending: this.pending, counters: this.hub.counters, subscribers: () => this.live.subscriberCount, streams: this.streams, version: this.version, cluster: this.cluster });
    registerBridgeParts(this, { registry: this.registry, pending: this.pending, hub: this.hub, streams: this.streams, cluster: this.cluster });
    const http = { config: this.config, registry: this.registry, pending: this.pending, hub: this.hub, live: this.live, streams: this.streams, metrics: this.metrics, log: this.log, version: this.version, cluster: this.cluster, keys: this.keys };
    this.server = createServer(
      {
        keepAlive: true,
        // Deliberate, not Node's defaults (60 s for headers, 300 s for a request): a client that
        // trickles its headers or body holds a socket and a parser; nothing legitimate is that slow.
        headersTimeout: this.config.headersTimeoutMs,
        requestTimeout: this.config.requestTimeoutMs,
        // Node checks those timeouts this often (its default, 30 s, would let them run late by that much).
        connectionsCheckingInterval: 1_000,
      },
      createRouter(http, ROUTES, () => this.requestIdPrefix + (++this.lastRequestId).toString(36)),
    );
    this.jsrpc = jsrpc ? new JsrpcListener({ ...http, mainUrl: () => this.url }, jsrpc) : null;
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      // Node reports a request that missed --headers-timeout-ms / --request-timeout-ms here too.
      const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
      this.log.debug({ error: error.message }, 'malformed HTTP request');
    });
  }

  /** Starts listening; resolves once the port is bound. */
  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    // One line at info; the full configuration is there at debug.
    this.log.debug({ config: redactConfig(this.config), pageKey: { source: this.pageKeySource.source, file: this.pageKeySource.file } }, 'configuration');
    this.log.info(`pagecall ${this.version} listening on ${this.url} (${configSummary(this.config)})`);
    if (this.pageKeySource.source === 'created') this.log.info(`made a new page key in ${this.pageKeySource.file}: snippets printed from now on carry it`);
    for (const warning of this.pageKeySource.warnings) this.log.warn(warning);
    if (this.config.openPages) {
      this.log.warn(
        this.config.token === undefined
          ? '--open-pages: pages join WITHOUT the page key. Any website open in your browser can join a group, receive your callers\' arguments and answer with results of its choosing. Pages that carry the key are not affected.'
          : '--open-pages has no effect with a token: pages still need the page key or the token.',
      );
    }
    this.cluster?.start(this.url);
    if (this.jsrpc) {
      try {
        await this.jsrpc.listen();
      } catch (error) {
        // Both ports or neither: a half-started bridge would leave its caller a port to close.
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        throw error;
      }
    }
    return this;
  }

  /** This node's name in its cluster, or null when the bridge is not in one. */
  get node(): string | null {
    return this.cluster?.name ?? null;
  }

  /** The cluster as this node sees it (NATS state, nodes), or null when the bridge is not in one. */
  clusterStatus(): ClusterStatus | null {
    return this.cluster?.status() ?? null;
  }

  /**
   * The key that admits pages to `group` only (derived from the page key, so it survives restarts
   * as long as the page key does). Throws BAD_REQUEST for a name that is not a valid group.
   */
  groupKey(group: string): string {
    const problem = checkGroup(group);
    if (problem) throw new PagecallError('BAD_REQUEST', problem);
    return this.keys.groupKey(group);
  }

  /** The bound port. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL, e.g. `http://127.0.0.1:12180`. */
  get url(): string {
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${this.port}`;
  }

  /** Pages connected to this bridge (this node only; GET /v1/clients lists the whole cluster). */
  clients(group?: string): ClientInfo[] {
    return this.registry.list(group).map((c) => c.info());
  }

  /**
   * Calls a page function from Node; arguments and result go through the codec (bytes, bigint...).
   * The call is checked by the rules of POST /v1/call: a bad name or option rejects with BAD_REQUEST.
   */
  async call(group: string, action: string, args: unknown[] = [], options: CallOptions = {}): Promise<unknown> {
    const problem = checkGroup(group) ?? checkAction(action) ?? (Array.isArray(args) ? undefined : `args: expected array, got ${typeName(args)}`);
    if (problem) throw new PagecallError('BAD_REQUEST', problem);
    let encoded: Json[];
    try {
      // One encode of the whole list, so an error names its path from `args` (args[1].key: a function...).
      encoded = codec.encode(args, 'args') as Json[];
    } catch (error) {
      throw PagecallError.from(error, { code: 'BAD_REQUEST' });
    }
    const result = await this.pending.call(checkCallRequest({ ...options, group, action, args: encoded }, this.config));
    try {
      return codec.decode(result.value, 'result');
    } catch (error) {
      throw PagecallError.from(error, { code: 'RESULT_NOT_SERIALIZABLE', prefix: `page ${result.clientId} returned a malformed value`, data: { clientId: result.clientId } });
    }
  }

  /**
   * Calls with codec-encoded arguments and gets the encoded result with its metadata. The request
   * is checked as call() checks it (and malformed tagged values in `args` are BAD_REQUEST).
   */
  callRaw(request: CallRequest): Promise<CallSuccess> {
    let checked: CallRequest;
    try {
      checked = checkCallRequest(request, this.config);
    } catch (error) {
      return Promise.reject(PagecallError.from(error));
    }
    return this.pending.call(checked);
  }

  /** Waits until a page with `action` (in `group`) is connected. */
  async waitForAction(group: string, action: string, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.registry.list(group).some((c) => c.actions.has(action))) {
      if (Date.now() > until) throw new PagecallError('NO_CLIENT', `no page in ${group} registered ${action} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops accepting calls, lets running ones finish (grace period), then closes pages and the port. */
  close(graceMs = this.config.shutdownGraceMs): Promise<void> {
    this.closing ??= (async () => {
      this.log.info({ inFlight: this.pending.inFlight, graceMs }, 'shutting down');
      // Other nodes stop routing calls here first; calls already here finish within the grace.
      this.cluster?.stopServing();
      await this.pending.drain(graceMs);
      await this.cluster?.close();
      this.hub.close();
      this.streams.close();
      this.streamSockets.close();
      this.live.close();
      await this.jsrpc?.close();
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      this.log.info('stopped');
    })();
    return this.closing;
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path === STREAM_PATH) {
      void this.streamSockets.handleUpgrade(req, socket, head);
      return;
    }
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    this.hub.handleUpgrade(req, socket, head);
  };

  private onSettled(call: SettledCall): void {
    this.metrics.onSettled(call);
    this.live.onSettled(call);
    if (!this.log.isLevelEnabled('debug') && call.error?.code !== 'INTERNAL') return;
    const entry: Record<string, unknown> = {
      requestId: call.requestId,
      callId: call.id,
      group: call.group,
      action: call.action,
      clientId: call.clientId,
      durationMs: call.durationMs,
      attempts: call.attempts,
      outcome: call.error ? call.error.code : 'ok',
    };
    if (this.config.debugCapture) {
      entry.args = call.args;
      entry.result = call.value;
    }
    if (call.error?.code === 'INTERNAL') this.log.error(entry, call.error.message);
    else this.log.debug(entry, 'call settled');
  }
}

/** Creates a bridge and starts listening. */
export async function startBridge(options: StartOptions = {}): Promise<Bridge> {
  return new Bridge(options).listen();
}

export type { Json };
