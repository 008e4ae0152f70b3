/**
 * The Node client: calls page functions through a bridge over HTTP, from any process. Values go
 * through the protocol's codec (Uint8Array, bigint, Date, Map, Set... both ways), failures reject
 * with the catalogue's PagecallError, and connections are kept alive.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PagecallError, createCodec, type Json } from '../../protocol/index.js';
import { ClientFailure, errorFromWire, type ClientError } from './errors.js';
import { Attempts, DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { readStream, type StreamEntry, type StreamOptions } from './stream.js';
import { DEFAULT_URL, cancelled, exchange, openEndpoint, parseEnvelope, type Answer, type Endpoint, type Outgoing } from './transport.js';

/** The client's version, sent in its user-agent. */
const VERSION = '0.1.0';

/** The bridge's largest deadline (--max-timeout-ms default): the longest an answer can take when a call sets no timeoutMs. */
const BRIDGE_MAX_TIMEOUT_MS = 600_000;

/** Added to a call's deadline before the client stops waiting: the bridge's TIMEOUT should win. */
const DEADLINE_GRACE_MS = 10_000;

/** Calls per /v1/batch request until the bridge says its --max-batch is lower (its default). */
const DEFAULT_MAX_BATCH = 10_000;

/** Node-side codec: Buffer-backed base64, as the bridge uses. */
const codec = createCodec({
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  decode: (text) => {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new Error('$bytes: invalid base64');
    return new Uint8Array(Buffer.from(text, 'base64'));
  },
});

/** Options of connect(). */
export interface ConnectOptions {
  /** Bridge base URL (default `$PAGECALL_URL`, then `http://127.0.0.1:12180`). */
  url?: string;
  /** Bridge token (default `$PAGECALL_TOKEN`). */
  token?: string;
  /** Default deadline of calls in ms (default: the bridge's, 30 s unless configured). */
  timeoutMs?: number;
  /** What the client retries by itself (default DEFAULT_RETRY; NO_RETRY turns retries off). */
  retryPolicy?: RetryPolicy;
  /** Most connections open at once (default 64). */
  maxSockets?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Called before each retry, with what failed and how long the client waits. */
  onRetry?: (event: RetryEvent) => void;
}

/** What onRetry is told. */
export interface RetryEvent {
  /** `group/action`, `group/action batch`, `clients`... */
  what: string;
  error: ClientError;
  delayMs: number;
}

/** Options of one call. */
export interface CallOptions {
  /** Run in this page only. */
  clientId?: string;
  /** Deadline in ms (at most the bridge's --max-timeout-ms). */
  timeoutMs?: number;
  /** false: when the page disconnects mid-call, do not run it again on another page (default true). */
  retry?: boolean;
  /** How the bridge picks among pages: `least-in-flight` or `round-robin`. */
  balance?: 'least-in-flight' | 'round-robin';
  /** Aborting rejects the call with CANCELLED and tells the page to cancel it. */
  signal?: AbortSignal;
  /** Overrides the client's retry policy for this call. */
  retryPolicy?: RetryPolicy;
}

/** Options of batch() and batchSettled(). */
export interface BatchOptions extends CallOptions {
  /** Most calls per request (default and upper bound: the bridge's --max-batch, learned when it refuses a larger one). */
  chunkSize?: number;
}

/** One outcome of batchSettled(). */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: ClientError };

/** The first failure of a batch(), with every item's outcome. */
export interface BatchFailure {
  /** Position of the failed item. */
  batchIndex: number;
  /** Every item's outcome, in order. */
  batchResults: Array<Settled<unknown>>;
}

/** A connected page, as GET /v1/clients reports it. */
export interface ClientInfo {
  id: string;
  group: string;
  actions: string[];
  url: string;
  title: string;
  origin: string | null;
  remoteAddress: string | null;
  /** ISO 8601. */
  connectedAt: string;
  inFlight: number;
  served: number;
  failed: number;
  /** The cluster node holding the page (only when the bridge is in a cluster). */
  node?: string;
}

/** GET /health. */
export interface Health {
  ok: true;
  name: string;
  version: string;
  protocol: number;
  clients: number;
  tokenRequired: boolean;
}

type Plain = Record<string, unknown>;

/** A client of one bridge. Create it with connect(); close() when done (idle sockets keep no process alive regardless). */
export class PagecallClient {
  /** The bridge's base URL. */
  readonly url: string;
  private readonly endpoint: Endpoint;
  private readonly timeoutMs: number | undefined;
  private readonly policy: RetryPolicy;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;
  private maxBatch = DEFAULT_MAX_BATCH;

  constructor(options: ConnectOptions = {}) {
    const url = options.url ?? process.env.PAGECALL_URL ?? DEFAULT_URL;
    const token = options.token ?? (process.env.PAGECALL_TOKEN || undefined);
    this.endpoint = openEndpoint(url, token, options.headers ?? {}, options.maxSockets ?? 64, `pagecall-node/${VERSION}`);
    this.url = this.endpoint.url;
    this.timeoutMs = options.timeoutMs;
    this.policy = options.retryPolicy ?? DEFAULT_RETRY;
    this.onRetry = options.onRetry;
  }

  /** Runs `action` in a page of `group` with `args` and resolves with its decoded result. */
  async call<T = unknown>(group: string, action: string, args: readonly unknown[] = [], options: CallOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const body: Plain = { group, action, args: encodeArgs(args, '') };
    addOptions(body, options.clientId, timeoutMs, options.retry, options.balance);
    const { answer, envelope } = await this.send(
      { method: 'POST', path: '/v1/call', body: JSON.stringify(body), timeoutMs: readTimeout(timeoutMs), signal: options.signal },
      new Attempts(options.retryPolicy ?? this.policy, false),
      `${group}/${action}`,
    );
    return decodeResult(envelope.result, answer.text) as T;
  }

  /**
   * Runs `action` once per argument list and resolves with the results in order; rejects with the
   * first failure (after every chunk ran), which carries `batchIndex` and `batchResults`. Calls go in
   * one /v1/batch request per chunk of at most the bridge's --max-batch and run concurrently.
   */
  async batch<T = unknown>(group: string, action: string, argLists: ReadonlyArray<readonly unknown[]>, options: BatchOptions = {}): Promise<T[]> {
    const settled = await this.batchSettled<T>(group, action, argLists, options);
    const index = settled.findIndex((s) => !s.ok);
    if (index >= 0) {
      const error = (settled[index] as { ok: false; error: ClientError }).error;
      Object.assign(error, { batchIndex: index, batchResults: settled } satisfies BatchFailure);
      throw error;
    }
    return settled.map((s) => (s as { ok: true; value: T }).value);
  }

  /** As batch(), but each item's outcome is returned: `{ok: true, value}` or `{ok: false, error}`. */
  async batchSettled<T = unknown>(group: string, action: string, argLists: ReadonlyArray<readonly unknown[]>, options: BatchOptions = {}): Promise<Array<Settled<T>>> {
    if (options.chunkSize !== undefined && !(Number.isSafeInteger(options.chunkSize) && options.chunkSize > 0)) throw new TypeError(`chunkSize: expected a positive integer, got ${options.chunkSize}`);
    const items = argLists.map((args, i) => {
      if (!Array.isArray(args)) throw new PagecallError('BAD_REQUEST', `calls[${i}]: expected an array of arguments, got ${typeof args}`);
      return { action, args: encodeArgs(args, `calls[${i}].`) } as Plain;
    });
    if (options.clientId !== undefined) for (const item of items) item.clientId = options.clientId;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const envelope: Plain = { group };
    addOptions(envelope, undefined, timeoutMs, options.retry, options.balance);
    const policy = options.retryPolicy ?? this.policy;
    const what = `${group}/${action} batch`;
    const out: Array<Settled<T>> = [];
    while (out.length < items.length) {
      const size = Math.min(options.chunkSize ?? this.maxBatch, this.maxBatch);
      const chunk = items.slice(out.length, out.length + size);
      out.push(...((await this.runChunk(chunk, envelope, timeoutMs, policy, options.signal, what)) as Array<Settled<T>>));
    }
    return out;
  }

  /** The connected pages (of `group`, or all). */
  async clients(group?: string): Promise<ClientInfo[]> {
    const path = group === undefined ? '/v1/clients' : `/v1/clients?group=${encodeURIComponent(group)}`;
    const { envelope } = await this.send({ method: 'GET', path, timeoutMs: 30_000 }, new Attempts(this.policy, true), 'clients');
    if (!Array.isArray(envelope.clients)) throw new ClientFailure('BAD_RESPONSE', 'expected a clients list', { retryable: false });
    return envelope.clients as ClientInfo[];
  }

  /** Waits until a page of `group` has registered `action` and resolves with it; NO_CLIENT after `timeoutMs`. */
  async waitForAction(group: string, action: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ClientInfo> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let delay = 50;
    for (;;) {
      const found = (await this.clients(group)).find((c) => c.actions.includes(action));
      if (found) return found;
      if (Date.now() + delay > deadline) throw new PagecallError('NO_CLIENT', `no page in group ${JSON.stringify(group)} registered ${JSON.stringify(action)} within ${options.timeoutMs ?? 30_000} ms`, { group });
      await this.pause(delay, options.signal);
      delay = Math.min(delay * 2, 500);
    }
  }

  /** Runs a code string in a page (the bridge needs --allow-eval, else EVAL_DISABLED) and resolves with its value. */
  async eval<T = unknown>(group: string, code: string, options: Pick<CallOptions, 'clientId' | 'timeoutMs' | 'signal'> = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const body: Plain = { group, code };
    addOptions(body, options.clientId, timeoutMs, undefined, undefined);
    const { answer, envelope } = await this.send(
      { method: 'POST', path: '/v1/eval', body: JSON.stringify(body), timeoutMs: readTimeout(timeoutMs), signal: options.signal },
      new Attempts(this.policy, false),
      `${group}/eval`,
    );
    return decodeResult(envelope.result, answer.text) as T;
  }

  /** Disconnects a page (it does not reconnect by itself); CLIENT_NOT_FOUND if there is none. */
  async kick(clientId: string): Promise<void> {
    // Disconnecting twice is harmless, so a broken connection may be retried.
    await this.send({ method: 'DELETE', path: `/v1/clients/${encodeURIComponent(clientId)}`, timeoutMs: 30_000 }, new Attempts(this.policy, true), 'kick');
  }

  /** GET /health. */
  async health(): Promise<Health> {
    const { envelope } = await this.send({ method: 'GET', path: '/health', timeoutMs: 30_000 }, new Attempts(this.policy, true), 'health');
    return envelope as unknown as Health;
  }

  /**
   * What pages of `group` publish to `topic` (pagecall.emit, taps), as it arrives: events with
   * their values decoded, error events and gap markers (docs/streams.md). Live from now, or after
   * `since`; a dropped connection is resumed after the last entry (for `reconnectWaitMs`). Breaking
   * out of the loop ends the subscription. The stream holds one of the client's connections.
   */
  stream(group: string, topic: string, options: StreamOptions = {}): AsyncGenerator<StreamEntry, void, undefined> {
    return readStream(this.endpoint, group, topic, options, decodeValue);
  }

  /** Closes every connection; calls still running fail with BRIDGE_UNAVAILABLE. */
  close(): void {
    this.endpoint.agent.destroy();
  }

  private async send(outgoing: Outgoing, attempts: Attempts, what: string): Promise<{ answer: Answer; envelope: Plain }> {
    for (;;) {
      try {
        const answer = await exchange(this.endpoint, outgoing);
        return { answer, envelope: parseEnvelope(answer) };
      } catch (error) {
        const delay = retryable(error) ? attempts.delayAfter(error, Date.now()) : undefined;
        if (delay === undefined) throw error;
        this.onRetry?.({ what, error: error as ClientError, delayMs: delay });
        await this.pause(delay, outgoing.signal);
      }
    }
  }

  private async pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
    } catch {
      throw cancelled(signal!);
    }
  }

  /**
   * One chunk with retries: the whole request after a refused connection, and the items that
   * failed with OVERLOADED or NO_CLIENT (they never reached a page) under the same policy. A chunk
   * the bridge finds too large is split (the refused request ran nothing).
   */
  private async runChunk(items: Plain[], envelope: Plain, timeoutMs: number | undefined, policy: RetryPolicy, signal: AbortSignal | undefined, what: string): Promise<Array<Settled<unknown>>> {
    const attempts = new Attempts(policy, false);
    const outcomes: Array<Settled<unknown>> = new Array(items.length);
    let pending = items.map((_, i) => i);
    for (;;) {
      let got: Array<Settled<unknown>>;
      try {
        got = await this.sendChunk(pending.map((i) => items[i]!), envelope, timeoutMs, signal, what);
      } catch (error) {
        const delay = retryable(error) ? attempts.delayAfter(error, Date.now()) : undefined;
        if (delay === undefined) throw error;
        this.onRetry?.({ what, error: error as ClientError, delayMs: delay });
        await this.pause(delay, signal);
        continue;
      }
      pending.forEach((index, k) => (outcomes[index] = got[k]!));
      const again = pending.filter((i) => {
        const o = outcomes[i]!;
        return !o.ok && o.error instanceof PagecallError && (o.error.code === 'OVERLOADED' || o.error.code === 'NO_CLIENT');
      });
      if (again.length === 0) return outcomes;
      const first = (outcomes[again[0]!] as { ok: false; error: ClientError }).error;
      const delay = attempts.delayAfter(first, Date.now());
      if (delay === undefined) return outcomes;
      this.onRetry?.({ what, error: first, delayMs: delay });
      await this.pause(delay, signal);
      pending = again;
    }
  }

  private async sendChunk(items: Plain[], envelope: Plain, timeoutMs: number | undefined, signal: AbortSignal | undefined, what: string): Promise<Array<Settled<unknown>>> {
    const body = JSON.stringify({ ...envelope, calls: items });
    let result: { answer: Answer; envelope: Plain };
    try {
      result = await this.send({ method: 'POST', path: '/v1/batch', body, timeoutMs: readTimeout(timeoutMs), signal }, new Attempts({ ...DEFAULT_RETRY, restartWaitMs: 0, overloaded: 0 }, false), what);
    } catch (error) {
      if (!(error instanceof PagecallError) || error.code !== 'PAYLOAD_TOO_LARGE') throw error;
      if (items.length <= 1) return [{ ok: false, error }];
      const limit = (error.data as { limit?: unknown } | undefined)?.limit;
      // Over --max-batch: learn it. Over --max-body-bytes: halve until it fits.
      const overCount = typeof limit === 'number' && limit > 0 && limit < items.length && error.message.startsWith('calls:');
      const size = overCount ? limit : Math.ceil(items.length / 2);
      if (overCount) this.maxBatch = size;
      const out: Array<Settled<unknown>> = [];
      for (let start = 0; start < items.length; start += size) out.push(...(await this.sendChunk(items.slice(start, start + size), envelope, timeoutMs, signal, what)));
      return out;
    }
    const results = result.envelope.results;
    if (!Array.isArray(results) || results.length !== items.length) throw new ClientFailure('BAD_RESPONSE', `expected ${items.length} batch results`, { retryable: false });
    const tagged = result.answer.text.includes('"$');
    return results.map((item: unknown): Settled<unknown> => {
      const r = item as { ok?: unknown; result?: unknown; error?: unknown } | null;
      if (r?.ok === true) {
        try {
          return { ok: true, value: tagged ? decodeValue(r.result) : r.result };
        } catch (error) {
          return { ok: false, error: error as ClientError };
        }
      }
      return { ok: false, error: errorFromWire(r?.error, undefined) };
    });
  }
}

/** A client for the bridge at `options.url` (or $PAGECALL_URL, or http://127.0.0.1:12180). */
export function connect(options: ConnectOptions = {}): PagecallClient {
  return new PagecallClient(options);
}

function retryable(error: unknown): error is ClientError {
  return error instanceof PagecallError || error instanceof ClientFailure;
}

function addOptions(body: Plain, clientId: string | undefined, timeoutMs: number | undefined, retry: boolean | undefined, balance: string | undefined): void {
  if (clientId !== undefined) body.clientId = clientId;
  if (timeoutMs !== undefined) body.timeoutMs = timeoutMs;
  if (retry !== undefined) body.retry = retry;
  if (balance !== undefined) body.balance = balance;
}

function readTimeout(timeoutMs: number | undefined): number {
  return (timeoutMs ?? BRIDGE_MAX_TIMEOUT_MS) + DEADLINE_GRACE_MS;
}

function encodeArgs(args: readonly unknown[], prefix: string): Json[] {
  const out: Json[] = new Array(args.length);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // Most arguments are strings and plain numbers: nothing to walk.
    if (typeof arg === 'string' || typeof arg === 'boolean' || arg === null || (typeof arg === 'number' && Number.isFinite(arg) && !Object.is(arg, -0))) {
      out[i] = arg as Json;
      continue;
    }
    try {
      out[i] = codec.encode(arg, `${prefix}args[${i}]`);
    } catch (error) {
      // The codec's message names the path from the root given (args[1].self: ...).
      throw new PagecallError('BAD_REQUEST', (error as Error).message);
    }
  }
  return out;
}

function decodeValue(value: unknown): unknown {
  try {
    return codec.decode(value, 'result');
  } catch (error) {
    throw new PagecallError('RESULT_NOT_SERIALIZABLE', `the page returned a malformed value: ${(error as Error).message}`);
  }
}

/** Decodes a result; a body without `"$` holds no tagged value, so the walk is skipped. */
function decodeResult(value: unknown, text: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  return text.includes('"$') ? decodeValue(value) : value;
}
