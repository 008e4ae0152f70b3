/**
 * The one pending-call table. Every call gets a deadline, a page (or a place in the wait queue when
 * every page is at its in-flight limit), and exactly one settle path that clears its timers and
 * frees its page slot.
 */
import { performance } from 'node:perf_hooks';
import { nanoid } from 'nanoid';
import { PagecallError, type ErrorCode, type Json, type ResultMessage } from '../protocol/index.js';
import { pickCandidate, type BalancePolicy } from './balancer.js';
import type { ClientRegistry } from './client-registry.js';
import type { BridgeConfig } from './config.js';
import { MAX_WIRE_DEPTH, nestedDeeperThan } from './json-depth.js';
import { DeadlineLanes, isValidTimeout, type Lane, type LaneLinks } from './deadline-lanes.js';
import type { PageClient } from './page-client.js';

/** A call as the HTTP layer or the Node API asks for it. Arguments are already codec-encoded. */
export interface CallRequest {
  group: string;
  action: string;
  args: Json[];
  /** Send to this page only. */
  clientId?: string;
  /** Deadline in ms from now; the configured default when absent. */
  timeoutMs?: number;
  /** Retry once on another page when the page disconnects mid-call (default true). */
  retry?: boolean;
  /** Overrides the configured balancing policy for this call. */
  balance?: BalancePolicy;
  /** Aborting it cancels the call (CANCELLED) and tells the page. */
  signal?: AbortSignal;
  /** Correlates logs and responses. */
  requestId?: string;
}

/** A finished call. */
export interface CallSuccess {
  /** The page function's return value, codec-encoded. */
  value: Json;
  /** The page that answered. */
  clientId: string;
  /** Time from accepting the call to its result. */
  durationMs: number;
}

/** What observers (logs, metrics, dashboard) learn about each settled call. */
export interface SettledCall {
  id: string;
  requestId: string | undefined;
  group: string;
  action: string;
  clientId: string | null;
  durationMs: number;
  attempts: number;
  error: PagecallError | null;
  args: Json[];
  /** The result, codec-encoded (read from `raw` on first use when the result passed through). */
  readonly value: Json | undefined;
  /** The result's JSON as the page sent it, when it passed through unparsed; callers that write JSON send these bytes. */
  readonly raw: Buffer | undefined;
  /** The cluster node whose page answered; null when a page of this node did (or no page did). */
  node: string | null;
}

/**
 * A call as the cluster sees it when it is forwarded to another node (bridge/cluster/). `link` is
 * the forwarder's own per-call state; the pending table never reads it.
 */
export interface ForwardedCall {
  readonly id: string;
  readonly request: CallRequest;
  readonly group: string;
  readonly action: string;
  readonly args: Json[];
  /** performance.now() clock. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly retry: boolean;
  readonly balance: BalancePolicy;
  link: unknown;
}

/**
 * Where calls go that no page of this node can take now: the cluster. Absent on a single node, and
 * consulted only on the paths that would otherwise queue a call or fail it with NO_CLIENT or
 * ACTION_NOT_FOUND, so a bridge without a cluster runs exactly as before.
 */
export interface CallForwarder {
  /**
   * Takes the call for another node (true), or declines (false: NATS is not connected), and the
   * call goes on as on a single node. `busy`: pages here have the action but no free slot (when no
   * node takes it, it waits here); otherwise no page here has it. It never settles the call before
   * returning; it may throw a PagecallError to fail it (PAYLOAD_TOO_LARGE).
   */
  forward(call: ForwardedCall, busy: boolean): boolean;
  /** The call ended here while forwarded (deadline, caller gone, shutdown): tell the node running it. */
  cancel(call: ForwardedCall, reason: ErrorCode): void;
}

type State = 'new' | 'queued' | 'running' | 'remote' | 'done';

/**
 * Receives a call's outcome, exactly once, possibly before start() returns. `tag` is what start()
 * was given, so one callback can serve every call of a batch. It must not throw.
 */
export type OnCallSettled<T> = (call: SettledCall, tag: T) => void;

/** A started call, for abandon(). */
export interface CallTicket {
  readonly id: string;
}

/** A call from acceptance to settlement; observers and callbacks see it as a SettledCall. */
class Call implements SettledCall, CallTicket, ForwardedCall, LaneLinks<Call> {
  readonly requestId: string | undefined;
  readonly group: string;
  readonly action: string;
  readonly args: Json[];
  readonly deadline: number;
  readonly retry: boolean;
  readonly balance: BalancePolicy;
  clientId: string | null = null;
  durationMs = 0;
  attempts = 0;
  error: PagecallError | null = null;
  raw: Buffer | undefined = undefined;
  /** The parsed result (set, or parsed from `raw` when first read). */
  private parsed: Json | undefined = undefined;
  node: string | null = null;
  /** The forwarder's state while the call is forwarded. */
  link: unknown = null;
  /** Why an earlier forwarded attempt ended, reported if no other page can take the retry. */
  lost: PagecallError | null = null;
  state: State = 'new';
  client: PageClient | null = null;
  excluded: PageClient | null = null;
  queueTimer: NodeJS.Timeout | undefined = undefined;
  /** Links in its deadline lane while it is tracked. */
  lane: Lane<Call> | null = null;
  prev: Call | null = null;
  next: Call | null = null;

  constructor(
    readonly id: string,
    readonly request: CallRequest,
    readonly timeoutMs: number,
    readonly startedAt: number,
    readonly done: OnCallSettled<never>,
    readonly tag: unknown,
    defaultBalance: BalancePolicy,
    /** Served by this node's pages only: a call another node forwarded here. */
    readonly here: boolean,
  ) {
    this.requestId = request.requestId;
    this.group = request.group;
    this.action = request.action;
    this.args = request.args;
    this.deadline = startedAt + timeoutMs;
    this.retry = request.retry !== false;
    this.balance = request.balance ?? defaultBalance;
  }

  get value(): Json | undefined {
    if (this.parsed === undefined && this.raw !== undefined) this.parsed = JSON.parse(this.raw.toString('utf8')) as Json;
    return this.parsed;
  }

  set value(value: Json | undefined) {
    this.parsed = value;
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Owns every call from acceptance to settlement. */
export class PendingCalls {
  private readonly running = new Map<string, Call>();
  private readonly queues = new Map<string, Call[]>();
  /** Calls running on other nodes of the cluster. */
  private readonly forwarded = new Set<Call>();
  /** The cluster, when this node is in one (attach()). */
  private forwarder: CallForwarder | null = null;
  /** Set while a call the cluster handed back is placed here: it must not go out again. */
  private placingHere = false;
  private readonly bySignal = new WeakMap<AbortSignal, Set<Call>>();
  /** Every started call's deadline; settling unlinks it in O(1). */
  private readonly deadlines = new DeadlineLanes<Call>((call) => this.expire(call));
  /** Call ids: unique per bridge, short on the wire; the page a result comes from is checked, so they need not be secret. */
  private readonly idPrefix = `${nanoid(6)}.`;
  private lastId = 0;
  private queued = 0;
  private accepting = true;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly registry: ClientRegistry,
    private readonly config: BridgeConfig,
    private readonly onSettled: (call: SettledCall) => void = () => {},
  ) {}

  /** Calls running in pages. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Calls handed to other nodes of the cluster and not settled yet. */
  get forwardedCount(): number {
    return this.forwarded.size;
  }

  /** Calls waiting for a page with a free slot. */
  get waiting(): number {
    return this.queued;
  }

  /** Calls holding a deadline (running or waiting); zero when nothing leaked. */
  get withDeadline(): number {
    return this.deadlines.size;
  }

  /** Groups with a wait queue; zero when nothing leaked (an emptied queue is removed). */
  get queuedGroups(): number {
    return this.queues.size;
  }

  /**
   * Starts a call and reports its outcome to `done(call, tag)`. The callback form is the hot path
   * (a batch of 1,000 calls makes no promise per call); call() is the promise form.
   */
  start<T>(request: CallRequest, done: OnCallSettled<T>, tag: T): CallTicket {
    return this.begin(request, done, tag, false);
  }

  /**
   * Starts a call another node forwarded here: served by this node's pages or not at all (it is
   * never forwarded again), otherwise as start().
   */
  startHere<T>(request: CallRequest, done: OnCallSettled<T>, tag: T): CallTicket {
    return this.begin(request, done, tag, true);
  }

  /** Hands calls that no page here can take now to the cluster. */
  attach(forwarder: CallForwarder): void {
    this.forwarder = forwarder;
  }

  private begin<T>(request: CallRequest, done: OnCallSettled<T>, tag: T, here: boolean): CallTicket {
    const timeoutMs = request.timeoutMs ?? this.config.timeoutMs;
    const call = new Call(this.idPrefix + (++this.lastId).toString(36), request, timeoutMs, performance.now(), done as OnCallSettled<never>, tag, this.config.balance, here);
    // Refused before it started: the caller hears why, observers see no call. Callers validate
    // timeoutMs already; the table refuses a deadline that could never fire all the same.
    if (!isValidTimeout(timeoutMs)) return this.refuse(call, new PagecallError('BAD_REQUEST', `timeoutMs: expected a finite number above 0, got ${String(timeoutMs)}`));
    if (!this.accepting) return this.refuse(call, new PagecallError('SHUTTING_DOWN', 'the bridge is shutting down and takes no new calls'));
    if (request.signal?.aborted) return this.refuse(call, new PagecallError('CANCELLED', 'the call was cancelled before it started'));
    try {
      this.dispatch(call);
    } catch (error) {
      this.finish(call, PagecallError.from(error));
      return call;
    }
    if (call.state === 'done') return call;
    this.deadlines.add(call);
    if (request.signal) this.watch(request.signal, call);
    return call;
  }

  /** Starts a call; resolves with the page's result or rejects with a PagecallError. */
  call(request: CallRequest): Promise<CallSuccess> {
    return new Promise<CallSuccess>((resolve, reject) => {
      this.start(request, settleCall, { resolve, reject });
    });
  }

  /**
   * Ends a call its caller no longer wants (the HTTP caller went away): CANCELLED, and the page is
   * told. A node whose caller's deadline passed on another node passes `TIMEOUT`, so the page hears that.
   */
  abandon(ticket: CallTicket, reason: 'CANCELLED' | 'TIMEOUT' = 'CANCELLED'): void {
    const call = ticket as Call;
    if (call.state !== 'done') this.cancel(call, new PagecallError(reason, reason === 'TIMEOUT' ? `the caller's deadline passed on the node that forwarded ${JSON.stringify(call.action)}` : 'the caller cancelled the call'));
  }

  /** A forwarded call's answer from the node that ran it; `attempts` is how many pages there tried it. */
  forwardedResult(ticket: ForwardedCall, answer: { error: PagecallError | null; value?: Json; clientId: string | null; node: string; attempts: number }): void {
    const call = ticket as Call;
    if (call.state !== 'remote') return;
    const error = answer.error;
    if (error !== null && (error.code === 'CLIENT_DISCONNECTED' || error.code === 'SHUTTING_DOWN')) {
      // Its page (or the node) went away there: another node may take the retry.
      this.retryElsewhere(call, Math.max(1, answer.attempts), error);
      return;
    }
    this.forwarded.delete(call);
    call.attempts += answer.attempts;
    call.clientId = answer.clientId;
    call.node = answer.node;
    call.link = null;
    this.finish(call, error?.code === 'TIMEOUT' ? this.timeoutError(call, answer.clientId) : error, answer.value);
  }

  /**
   * The node running a forwarded call died, was cut off or is shutting down: the call is retried
   * once (here or on another node) as when a page disconnects, or fails with `error` now.
   */
  forwardedLost(ticket: ForwardedCall, error: PagecallError): void {
    const call = ticket as Call;
    if (call.state === 'remote') this.retryElsewhere(call, 1, error);
  }

  private retryElsewhere(call: Call, attempts: number, error: PagecallError): void {
    this.forwarded.delete(call);
    call.state = 'new';
    call.attempts += attempts;
    call.link = null;
    if (call.retry && call.attempts < 2 && call.request.clientId === undefined && performance.now() < call.deadline) {
      call.lost = error;
      try {
        this.dispatch(call);
        return;
      } catch {
        // nowhere else to go: report what happened
      }
    }
    this.finish(call, error);
  }

  /**
   * No node could take a forwarded call. With `error` null (pages here have the action, or have it
   * again), it takes a free page here or waits for one; otherwise it fails with `error`, what the
   * cluster as a whole answers.
   */
  forwardedNowhere(ticket: ForwardedCall, error: PagecallError | null): void {
    const call = ticket as Call;
    if (call.state !== 'remote') return;
    this.forwarded.delete(call);
    call.state = 'new';
    call.link = null;
    if (error === null) {
      // Pages here have the action: the call takes a free one or waits for one (if they are still here).
      this.placingHere = true;
      try {
        this.dispatch(call);
        return;
      } catch (e) {
        error = PagecallError.from(e);
      } finally {
        this.placingHere = false;
      }
    }
    this.finish(call, call.lost ?? error);
  }

  /**
   * Hands a page's result to its call. Returns false for results nobody waits for (late, foreign).
   * `checkDepth` false skips the nesting walk: the frame's byte scan showed it is shallow enough.
   */
  onResult(client: PageClient, message: ResultMessage, checkDepth = true): boolean {
    const call = this.running.get(message.id);
    if (!call || call.client !== client) return false;
    if (message.ok && checkDepth && nestedDeeperThan(message.value)) {
      // A conforming page refuses such a value itself; sending it on would overflow JSON.stringify.
      client.stats.failed++;
      this.finish(call, new PagecallError('RESULT_NOT_SERIALIZABLE', `page ${client.id} returned a value nested deeper than ${MAX_WIRE_DEPTH} levels`, { clientId: client.id, limit: MAX_WIRE_DEPTH }));
    } else if (message.ok) {
      client.stats.served++;
      this.finish(call, null, message.value);
    } else {
      client.stats.failed++;
      const e = message.error;
      const detail = { name: e.name, message: e.message, stack: e.stack ?? '', clientId: client.id };
      switch (e.code) {
        case 'ACTION_NOT_FOUND':
        case 'EVAL_DISABLED':
        case 'RESULT_TOO_LARGE':
        case 'RESULT_NOT_SERIALIZABLE':
          // The page's own words, unless it sent none: a coded error always says something.
          this.finish(call, new PagecallError(e.code, e.message || `page ${client.id} reported ${e.code} for ${JSON.stringify(call.action)}`, detail));
          break;
        default:
          this.finish(call, new PagecallError('PAGE_ERROR', `${e.name}: ${e.message}`, detail));
      }
    }
    return true;
  }

  /**
   * A page's successful result whose value passed through as JSON bytes (bridge/result-frame.ts);
   * false when no call of this page has that id.
   */
  onPassingResult(client: PageClient, id: string, value: Buffer): boolean {
    const call = this.running.get(id);
    if (!call || call.client !== client) return false;
    client.stats.served++;
    this.finish(call, null, undefined, value);
    return true;
  }

  /** A page left: its calls are retried on another page once, or fail with CLIENT_DISCONNECTED now. */
  onClientGone(client: PageClient): void {
    for (const call of [...this.running.values()]) {
      if (call.client !== client) continue;
      this.release(call);
      if (call.retry && call.attempts < 2 && call.request.clientId === undefined && performance.now() < call.deadline) {
        call.excluded = client;
        try {
          this.dispatch(call);
          continue;
        } catch {
          // no other page can take it: report the disconnect, which is what actually happened
        }
      }
      this.finish(call, new PagecallError('CLIENT_DISCONNECTED', `page ${client.id} disconnected while running ${JSON.stringify(call.action)}`, { clientId: client.id }));
    }
    this.pump(client.group);
  }

  /** A page joined or changed its functions: queued calls may now have somewhere to go. */
  onClientChanged(client: PageClient): void {
    this.pump(client.group);
  }

  /** Stops taking calls, lets running ones finish for `graceMs`, then fails the rest with SHUTTING_DOWN. */
  async drain(graceMs: number): Promise<void> {
    this.accepting = false;
    if (this.running.size + this.queued + this.forwarded.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const error = new PagecallError('SHUTTING_DOWN', 'the bridge shut down before the call finished');
    for (const call of [...this.running.values()]) this.cancel(call, error);
    for (const call of [...this.forwarded]) this.cancel(call, error);
    for (const queue of [...this.queues.values()]) for (const call of [...queue]) this.finish(call, error);
    this.deadlines.stop();
  }

  /**
   * One abort listener per caller signal, however many calls share it (an EventTarget checks each
   * new listener against every other).
   */
  private watch(signal: AbortSignal, call: Call): void {
    let calls = this.bySignal.get(signal);
    if (!calls) {
      const watched = new Set<Call>();
      calls = watched;
      this.bySignal.set(signal, watched);
      signal.addEventListener(
        'abort',
        () => {
          this.bySignal.delete(signal);
          for (const c of [...watched]) this.cancel(c, new PagecallError('CANCELLED', 'the caller cancelled the call'));
        },
        { once: true },
      );
    }
    calls.add(call);
  }

  private dispatch(call: Call): void {
    const { request } = call;
    // In a cluster, a call no page here has goes out before candidates() would throw for it.
    if (this.forwarder !== null && !call.here && !this.registry.serves(request.group, request.action, request.clientId) && this.toCluster(call, false)) return;
    const { clients, group } = this.registry.candidates(request.group, request.action, request.clientId);
    const usable = call.excluded ? clients.filter((c) => c !== call.excluded) : clients;
    if (usable.length === 0) {
      if (this.toCluster(call, false)) return;
      throw new PagecallError('NO_CLIENT', `no other page in group ${JSON.stringify(request.group)} has ${JSON.stringify(request.action)}`);
    }
    const index = pickCandidate(usable, call.balance, group.cursor++, this.config.maxInFlightPerClient);
    if (index < 0) {
      if (!this.toCluster(call, true)) this.enqueue(call);
      return;
    }
    this.assign(call, usable[index]!);
  }

  /** Hands a call no page here can take now to the cluster; false on a single node or when it declines. */
  private toCluster(call: Call, busy: boolean): boolean {
    if (this.forwarder === null || call.here || this.placingHere || !this.forwarder.forward(call, busy)) return false;
    call.state = 'remote';
    this.forwarded.add(call);
    return true;
  }

  private assign(call: Call, client: PageClient): void {
    call.state = 'running';
    call.client = client;
    call.attempts++;
    client.inFlight++;
    this.running.set(call.id, call);
    const remaining = Math.max(1, Math.round(call.deadline - performance.now()));
    client.send({ type: 'invoke', id: call.id, action: call.action, args: call.args, timeoutMs: remaining });
  }

  private enqueue(call: Call): void {
    const group = call.group;
    let queue = this.queues.get(group);
    // The limit is per group, so one group's flood never fails another group's calls.
    if ((queue?.length ?? 0) >= this.config.maxQueued) {
      throw new PagecallError('OVERLOADED', `every page with ${JSON.stringify(call.action)} is at its in-flight limit and group ${JSON.stringify(group)}'s wait queue is full (${this.config.maxQueued} calls, --max-queued)`, { retryAfterSeconds: 1, limit: this.config.maxQueued });
    }
    if (!queue) {
      queue = [];
      this.queues.set(group, queue);
    }
    queue.push(call);
    this.queued++;
    call.state = 'queued';
    const wait = Math.min(this.config.queueTimeoutMs, call.deadline - performance.now());
    if (wait < call.deadline - performance.now()) {
      call.queueTimer = setTimeout(() => {
        if (call.state !== 'queued') return;
        this.finish(call, new PagecallError('OVERLOADED', `every page with ${JSON.stringify(call.action)} stayed at its in-flight limit for ${this.config.queueTimeoutMs} ms`, { retryAfterSeconds: 1 }));
      }, Math.max(0, wait));
      call.queueTimer.unref();
    }
  }

  private unqueue(call: Call): void {
    const queue = this.queues.get(call.group);
    if (!queue) return;
    const i = queue.indexOf(call);
    if (i >= 0) {
      queue.splice(i, 1);
      this.queued--;
    }
    if (queue.length === 0) this.queues.delete(call.group);
  }

  /** Moves waiting calls of a group onto pages that have room, in arrival order. */
  private pump(groupName: string): void {
    const queue = this.queues.get(groupName);
    if (!queue) return;
    for (let i = 0; i < queue.length; ) {
      const call = queue[i]!;
      let clients: readonly PageClient[];
      let group: { cursor: number };
      try {
        ({ clients, group } = this.registry.candidates(groupName, call.action, call.request.clientId));
      } catch (error) {
        queue.splice(i, 1);
        this.queued--;
        call.state = 'new';
        clearTimeout(call.queueTimer);
        // The group's last page here left: another node may still have one.
        let forwarded = false;
        try {
          forwarded = this.toCluster(call, false);
        } catch (refused) {
          error = refused;
        }
        if (!forwarded) this.finish(call, PagecallError.from(error));
        continue;
      }
      const index = pickCandidate(clients, call.balance, group.cursor++, this.config.maxInFlightPerClient);
      if (index < 0) {
        i++;
        continue;
      }
      queue.splice(i, 1);
      this.queued--;
      clearTimeout(call.queueTimer);
      this.assign(call, clients[index]!);
    }
    if (queue.length === 0) this.queues.delete(groupName);
  }

  private expire(call: Call): void {
    this.cancel(call, this.timeoutError(call, call.client?.id ?? null));
  }

  private timeoutError(call: Call, clientId: string | null): PagecallError {
    const ms = call.timeoutMs;
    return new PagecallError('TIMEOUT', `${JSON.stringify(call.action)} did not finish within ${ms} ms`, { timeoutMs: ms, clientId });
  }

  /** Ends a call early and tells its page (or the node running it), if it has one, to stop. */
  private cancel(call: Call, error: PagecallError): void {
    if (call.state === 'running' && call.client) call.client.send({ type: 'cancel', id: call.id, reason: error.code });
    else if (call.state === 'remote') this.forwarder!.cancel(call, error.code);
    this.finish(call, error);
  }

  private release(call: Call): void {
    const client = call.client;
    if (!client) return;
    this.running.delete(call.id);
    client.inFlight--;
    call.client = null;
    call.state = 'new';
  }

  /** A call that never started: its caller hears why; it was never tracked or observed. */
  private refuse(call: Call, error: PagecallError): Call {
    call.state = 'done';
    call.error = error;
    call.done(call, call.tag as never);
    return call;
  }

  /** The one settle path. */
  private finish(call: Call, error: PagecallError | null, value?: Json, raw?: Buffer): void {
    if (call.state === 'done') return;
    this.deadlines.remove(call);
    if (call.queueTimer) clearTimeout(call.queueTimer);
    if (call.state === 'queued') this.unqueue(call);
    else if (call.state === 'remote') this.forwarded.delete(call);
    const client = call.client;
    if (client) this.release(call);
    call.state = 'done';
    call.error = error;
    call.value = value;
    call.raw = raw;
    if (client) call.clientId = client.id;
    else if (call.node === null) call.clientId = null;
    call.durationMs = round2(performance.now() - call.startedAt);
    if (call.request.signal) this.bySignal.get(call.request.signal)?.delete(call);
    this.onSettled(call);
    call.done(call, call.tag as never);
    if (client && this.queues.has(client.group)) this.pump(client.group);
    if (this.idleWaiters.length > 0 && this.running.size + this.queued + this.forwarded.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** The promise form's callback: one function for every call, the promise's ends as the tag. */
function settleCall(call: SettledCall, promise: { resolve: (value: CallSuccess) => void; reject: (error: PagecallError) => void }): void {
  if (call.error) promise.reject(call.error);
  else promise.resolve({ value: call.value as Json, clientId: call.clientId!, durationMs: call.durationMs });
}
