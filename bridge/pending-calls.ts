/**
 * The one pending-call table. Every call gets a deadline, a page (or a place in the wait queue when
 * every page is at its in-flight limit), and exactly one settle path that clears its timers and
 * frees its page slot.
 */
import { performance } from 'node:perf_hooks';
import { nanoid } from 'nanoid';
import { PagecallError, type Json, type ResultMessage } from '../protocol/index.js';
import { pickCandidate, type BalancePolicy } from './balancer.js';
import type { ClientRegistry } from './client-registry.js';
import type { BridgeConfig } from './config.js';
import { MAX_WIRE_DEPTH, nestedDeeperThan } from './json-depth.js';
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
  value: Json | undefined;
}

type State = 'new' | 'queued' | 'running' | 'done';

interface Call {
  readonly id: string;
  readonly request: CallRequest;
  readonly startedAt: number;
  readonly deadline: number;
  readonly retry: boolean;
  readonly balance: BalancePolicy;
  state: State;
  client: PageClient | null;
  excluded: PageClient | null;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  queueTimer: NodeJS.Timeout | undefined;
  resolve: (value: CallSuccess) => void;
  reject: (error: PagecallError) => void;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Owns every call from acceptance to settlement. */
export class PendingCalls {
  private readonly running = new Map<string, Call>();
  private readonly queues = new Map<string, Call[]>();
  private readonly bySignal = new WeakMap<AbortSignal, Set<Call>>();
  /** Call ids: unique per bridge, short on the wire; the page a result comes from is checked, so they need not be secret. */
  private readonly idPrefix = `${nanoid(8)}.`;
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

  /** Calls waiting for a page with a free slot. */
  get waiting(): number {
    return this.queued;
  }

  /** Starts a call; resolves with the page's result or rejects with a PagecallError. */
  call(request: CallRequest): Promise<CallSuccess> {
    if (!this.accepting) return Promise.reject(new PagecallError('SHUTTING_DOWN', 'the bridge is shutting down and takes no new calls'));
    const timeoutMs = request.timeoutMs ?? this.config.timeoutMs;
    if (request.signal?.aborted) return Promise.reject(new PagecallError('CANCELLED', 'the call was cancelled before it started'));
    return new Promise<CallSuccess>((resolve, reject) => {
      const now = performance.now();
      const call: Call = {
        id: this.idPrefix + (++this.lastId).toString(36),
        request,
        startedAt: now,
        deadline: now + timeoutMs,
        retry: request.retry !== false,
        balance: request.balance ?? this.config.balance,
        state: 'new',
        client: null,
        excluded: null,
        attempts: 0,
        timer: undefined,
        queueTimer: undefined,
        resolve,
        reject,
      };
      try {
        this.dispatch(call);
      } catch (error) {
        this.finish(call, asPagecallError(error));
        return;
      }
      if (call.state === 'done') return;
      call.timer = setTimeout(() => this.expire(call), timeoutMs);
      call.timer.unref();
      if (request.signal) this.watch(request.signal, call);
    });
  }

  /** Hands a page's result to its call. Returns false for results nobody waits for (late, foreign). */
  onResult(client: PageClient, message: ResultMessage): boolean {
    const call = this.running.get(message.id);
    if (!call || call.client !== client) return false;
    if (message.ok && nestedDeeperThan(message.value)) {
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
          this.finish(call, new PagecallError(e.code, e.message || `page ${client.id} reported ${e.code} for ${JSON.stringify(call.request.action)}`, detail));
          break;
        default:
          this.finish(call, new PagecallError('PAGE_ERROR', `${e.name}: ${e.message}`, detail));
      }
    }
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
      this.finish(call, new PagecallError('CLIENT_DISCONNECTED', `page ${client.id} disconnected while running ${JSON.stringify(call.request.action)}`, { clientId: client.id }));
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
    if (this.running.size + this.queued > 0) {
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
    for (const queue of [...this.queues.values()]) for (const call of [...queue]) this.finish(call, error);
  }

  /**
   * One abort listener per caller signal, however many calls share it: the calls of a batch all
   * use their request's signal, and an EventTarget checks each new listener against every other.
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
    const { clients, group } = this.registry.candidates(request.group, request.action, request.clientId);
    const usable = call.excluded ? clients.filter((c) => c !== call.excluded) : clients;
    if (usable.length === 0) throw new PagecallError('NO_CLIENT', `no other page in group ${JSON.stringify(request.group)} has ${JSON.stringify(request.action)}`);
    const index = pickCandidate(usable, call.balance, group.cursor++, this.config.maxInFlightPerClient);
    if (index < 0) {
      this.enqueue(call);
      return;
    }
    this.assign(call, usable[index]!);
  }

  private assign(call: Call, client: PageClient): void {
    call.state = 'running';
    call.client = client;
    call.attempts++;
    client.inFlight++;
    this.running.set(call.id, call);
    const remaining = Math.max(1, Math.round(call.deadline - performance.now()));
    client.send({ type: 'invoke', id: call.id, action: call.request.action, args: call.request.args, timeoutMs: remaining });
  }

  private enqueue(call: Call): void {
    if (this.queued >= this.config.maxQueued) {
      throw new PagecallError('OVERLOADED', `every page with ${JSON.stringify(call.request.action)} is at its in-flight limit and the wait queue is full`, { retryAfterSeconds: 1 });
    }
    const group = call.request.group;
    let queue = this.queues.get(group);
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
        this.finish(call, new PagecallError('OVERLOADED', `every page with ${JSON.stringify(call.request.action)} stayed at its in-flight limit for ${this.config.queueTimeoutMs} ms`, { retryAfterSeconds: 1 }));
      }, Math.max(0, wait));
      call.queueTimer.unref();
    }
  }

  private unqueue(call: Call): void {
    const queue = this.queues.get(call.request.group);
    if (!queue) return;
    const i = queue.indexOf(call);
    if (i >= 0) {
      queue.splice(i, 1);
      this.queued--;
    }
    if (queue.length === 0) this.queues.delete(call.request.group);
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
        ({ clients, group } = this.registry.candidates(groupName, call.request.action, call.request.clientId));
      } catch (error) {
        queue.splice(i, 1);
        this.queued--;
        call.state = 'new';
        this.finish(call, asPagecallError(error));
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
    const seconds = Math.round(call.deadline - call.startedAt);
    this.cancel(call, new PagecallError('TIMEOUT', `${JSON.stringify(call.request.action)} did not finish within ${seconds} ms`, { timeoutMs: seconds, clientId: call.client?.id ?? null }));
  }

  /** Ends a call early and tells its page, if it has one, to stop. */
  private cancel(call: Call, error: PagecallError): void {
    if (call.state === 'running' && call.client) call.client.send({ type: 'cancel', id: call.id, reason: error.code });
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

  /** The one settle path. */
  private finish(call: Call, error: PagecallError | null, value?: Json): void {
    if (call.state === 'done') return;
    clearTimeout(call.timer);
    clearTimeout(call.queueTimer);
    if (call.state === 'queued') this.unqueue(call);
    const client = call.client;
    if (client) this.release(call);
    call.state = 'done';
    if (call.request.signal) this.bySignal.get(call.request.signal)?.delete(call);
    const durationMs = round2(performance.now() - call.startedAt);
    this.onSettled({
      id: call.id,
      requestId: call.request.requestId,
      group: call.request.group,
      action: call.request.action,
      clientId: client?.id ?? null,
      durationMs,
      attempts: call.attempts,
      error,
      args: call.request.args,
      value,
    });
    if (error) call.reject(error);
    else call.resolve({ value: value as Json, clientId: client!.id, durationMs });
    if (client && this.queues.has(client.group)) this.pump(client.group);
    if (this.idleWaiters.length > 0 && this.running.size + this.queued === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/** Normalises anything thrown inside the bridge into a PagecallError. */
export function asPagecallError(error: unknown): PagecallError {
  if (error instanceof PagecallError) return error;
  return new PagecallError('INTERNAL', error instanceof Error ? error.message : String(error));
}
