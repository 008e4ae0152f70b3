/** The bridge: page hub, registry, pending calls and HTTP API on one port. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nanoid } from 'nanoid';
import { PagecallError, WS_PATH, createCodec, type Json } from '../protocol/index.js';
import { checkAction, checkGroup } from '../protocol/index.js';
import { ClientRegistry } from './client-registry.js';
import { MAX_WIRE_DEPTH, nestedDeeperThan } from './json-depth.js';
import { redactConfig, resolveConfig, type BridgeConfig, type BridgeOptions } from './config.js';
import { createApp, handleBatchPost, handleCallPost, type RouteContext } from './http/routes.js';
import { sendError } from './http/respond.js';
import { checkApiAccess } from './access.js';
import { LiveState } from './dashboard/live-state.js';
import { handleObserveRoute, type ObserveContext } from './http/observe-routes.js';
import { BridgeMetrics } from './metrics.js';
import { packageRoot } from './injector-script.js';
import { createLogger, type Logger } from './logger.js';
import type { ClientInfo } from './page-client.js';
import { PageHub } from './page-hub.js';
import { PendingCalls, type CallRequest, type CallSuccess, type SettledCall } from './pending-calls.js';

/** Node-side codec: Buffer-backed base64. */
export const codec = createCodec({
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  decode: (text) => {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new PagecallError('BAD_REQUEST', '$bytes: invalid base64');
    return new Uint8Array(Buffer.from(text, 'base64'));
  },
});

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
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

function readVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** A running bridge. Create it with startBridge(). */
export class Bridge {
  readonly config: BridgeConfig;
  readonly log: Logger;
  readonly version = readVersion();
  private readonly registry = new ClientRegistry();
  private readonly pending: PendingCalls;
  private readonly hub: PageHub;
  private readonly server: Server;
  private readonly routes: RouteContext;
  private readonly app: ReturnType<typeof createApp>;
  private readonly live: LiveState;
  private readonly metrics: BridgeMetrics;
  private readonly observe: ObserveContext;
  private closing: Promise<void> | undefined;
  /** Request ids the bridge makes up: unique per bridge run, cheap (a counter), not secret. */
  private readonly requestIdPrefix = `${nanoid(8)}-`;
  private lastRequestId = 0;

  constructor(options: StartOptions = {}) {
    const { logger, env, ...rest } = options;
    this.config = resolveConfig(rest, env ?? {});
    this.log = logger ?? createLogger(this.config);
    this.pending = new PendingCalls(this.registry, this.config, (call) => this.onSettled(call));
    this.hub = new PageHub(this.config, this.registry, this.pending, this.log, {
      onJoin: (client) => {
        this.live.onJoin(client);
        this.metrics.onJoin(client);
      },
      onChange: (client) => this.live.onChange(client),
      onLeave: (client, code) => {
        this.live.onLeave(client);
        this.metrics.onLeave(client, code);
      },
    });
    this.live = new LiveState(this.config, this.registry, this.pending, this.version);
    this.metrics = new BridgeMetrics({ registry: this.registry, pending: this.pending, counters: this.hub.counters, subscribers: () => this.live.subscriberCount, version: this.version });
    this.observe = { config: this.config, live: this.live, metrics: this.metrics, log: this.log };
    this.routes = { config: this.config, registry: this.registry, pending: this.pending, hub: this.hub, log: this.log, version: this.version };
    this.app = createApp(this.routes);
    this.server = createServer({ keepAlive: true }, this.onRequest);
    this.server.on('upgrade', this.onUpgrade);
    this.server.on('clientError', (error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
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
    this.log.info({ config: redactConfig(this.config) }, `pagecall bridge listening on ${this.url}`);
    return this;
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

  /** Connected pages. */
  clients(group?: string): ClientInfo[] {
    return this.registry.list(group).map((c) => c.info());
  }

  /** Calls a page function from Node; arguments and result go through the codec (bytes, bigint...). */
  async call(group: string, action: string, args: unknown[] = [], options: CallOptions = {}): Promise<unknown> {
    const problem = checkGroup(group) ?? checkAction(action);
    if (problem) throw new PagecallError('BAD_REQUEST', problem);
    if (!Array.isArray(args)) throw new PagecallError('BAD_REQUEST', 'args: expected an array');
    let encoded: Json[];
    try {
      // One encode of the whole list, so an error names its path from `args` (args[1].key: a function...).
      encoded = codec.encode(args, 'args') as Json[];
    } catch (error) {
      throw new PagecallError('BAD_REQUEST', (error as Error).message);
    }
    const result = await this.pending.call({ group, action, args: encoded, ...options });
    try {
      return codec.decode(result.value, 'result');
    } catch (error) {
      throw new PagecallError('RESULT_NOT_SERIALIZABLE', `page ${result.clientId} returned a malformed value: ${(error as Error).message}`, { clientId: result.clientId });
    }
  }

  /** Calls with codec-encoded arguments and gets the encoded result with its metadata. */
  callRaw(request: CallRequest): Promise<CallSuccess> {
    const deep = request.args.findIndex((arg) => nestedDeeperThan(arg));
    if (deep >= 0) return Promise.reject(new PagecallError('BAD_REQUEST', `args[${deep}]: nested deeper than ${MAX_WIRE_DEPTH} levels`, { limit: MAX_WIRE_DEPTH }));
    return this.pending.call(request);
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
      await this.pending.drain(graceMs);
      this.hub.close();
      this.live.close();
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
      this.log.info('stopped');
    })();
    return this.closing;
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : this.requestIdPrefix + (++this.lastRequestId).toString(36);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (req.method === 'POST' && (path === '/v1/call' || path === '/v1/batch')) {
      // The hot routes write every header in one writeHead (node's fast path), x-request-id included.
      const denied = checkApiAccess(req, this.config, q < 0 ? null : new URLSearchParams(url.slice(q + 1)));
      if (denied) {
        req.resume();
        sendError(res, denied, ['x-request-id', requestId]);
        return;
      }
      const handler = path === '/v1/call' ? handleCallPost : handleBatchPost;
      handler(this.routes, req, res, requestId).catch((error: unknown) => {
        this.log.error({ requestId, err: error }, 'internal error');
        sendError(res, error, ['x-request-id', requestId]);
      });
      return;
    }
    res.setHeader('x-request-id', requestId);
    if (handleObserveRoute(this.observe, req, res, path)) return;
    this.app(req, res);
  };

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
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
