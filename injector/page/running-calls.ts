/**
 * The calls a connection is running: starting them, the one settle path that answers each at most
 * once, cancellation, and one shared timer for every deadline.
 */
import type { Codec, Json } from '../../protocol/codec.js';
import type { InvokeMessage, PageErrorPayload, ResultMessage } from '../../protocol/messages.js';
import { apply, clearTimer, logDebug, MAX_TIMER_MS, min, now, setTimer, whenSettled } from './builtins.js';
import { abortCall, Context, type Call } from './call-context.js';
import { messageOf, namedError, toErrorPayload } from './error-payload.js';
import type { Outbox } from './outbox.js';
import type { Registered } from './registry.js';

/** A failed result for call `id`. */
export function failure(id: string, error: PageErrorPayload): ResultMessage {
  return { type: 'result', id, ok: false, error };
}

/** The running calls of one connection; their results go to its outbox. */
export class RunningCalls {
  private readonly calls = new Map<string, Call>();
  /** One timer for every call's deadline, armed for the earliest one (a timer per call costs a task each). */
  private deadlineTimer: number | undefined;
  private deadlineAt = Infinity;
  private readonly codec: Codec;
  private readonly outbox: Outbox;

  /** Calls decoded and encoded with `codec`, answered through `outbox`. */
  constructor(codec: Codec, outbox: Outbox) {
    this.codec = codec;
    this.outbox = outbox;
  }

  /** How many calls are running. */
  get size(): number {
    return this.calls.size;
  }

  /** Runs `registered` for `message`. A plain return value is answered at once; only a thenable waits for a microtask. */
  run(message: InvokeMessage, registered: Registered): void {
    const { id, action, timeoutMs } = message;
    if (this.calls.has(id)) {
      logDebug(`pagecall: ignoring a second invoke with id ${id}`);
      return;
    }
    let args: unknown;
    try {
      args = this.codec.decode(message.args, 'args', registered.values.decode);
    } catch (error) {
      this.outbox.postResult(failure(id, { name: 'CodecError', message: messageOf(error) }));
      return;
    }
    const deadline = now() + (timeoutMs > 0 ? timeoutMs : 0);
    const call: Call = { id, action, timeoutMs, deadline, controller: undefined, abortReason: undefined, encode: registered.values.encode };
    this.calls.set(id, call);
    this.armDeadline(deadline);
    let returned: unknown;
    let then: unknown;
    try {
      returned = apply(registered.fn, new Context(call), args as unknown[]);
      if (returned !== null && (typeof returned === 'object' || typeof returned === 'function')) then = (returned as { then?: unknown }).then;
    } catch (error) {
      this.finish(call, false, error);
      return;
    }
    // It still leaves with the rest of this task's results (see Outbox).
    if (typeof then !== 'function') {
      this.finish(call, true, returned);
      return;
    }
    whenSettled(
      returned,
      (value) => this.finish(call, true, value),
      (error) => this.finish(call, false, error),
    );
  }

  /** The caller gave up on call `id` (if it is still running): abort it and drop its result. */
  cancel(id: string, reason: string): void {
    const call = this.calls.get(id);
    if (call) this.end(call, namedError('AbortError', reason || 'pagecall: the caller cancelled the call'));
  }

  /** Aborts every call with `reason` and forgets them (the connection is gone: nobody can receive their results). */
  abortAll(reason: Error): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    this.disarmDeadline();
    for (const call of calls) abortCall(call, reason);
  }

  /** Arms the shared deadline timer for `at` unless it already fires sooner. */
  private armDeadline(at: number): void {
    if (at >= this.deadlineAt) return;
    if (this.deadlineTimer !== undefined) clearTimer(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimer(this.sweepDeadlines, min(at - now(), MAX_TIMER_MS));
  }

  private disarmDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
  }

  /** Aborts every call whose deadline passed, then re-arms for the earliest one left. */
  private readonly sweepDeadlines = (): void => {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const t = now();
    let next = Infinity;
    for (const call of this.calls.values()) {
      if (call.deadline <= t) {
        this.end(call, namedError('TimeoutError', `pagecall: call ${call.id} (${call.action}) passed its ${call.timeoutMs} ms deadline`));
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    if (next !== Infinity) this.armDeadline(next);
  };

  /** Ends a call without a result (deadline passed, cancelled): the bridge has already given up on it. */
  private end(call: Call, reason: Error): void {
    if (this.calls.get(call.id) !== call) return;
    this.calls.delete(call.id);
    abortCall(call, reason);
  }

  /** The one settle path: answers a call still in the table, once. */
  private finish(call: Call, ok: boolean, outcome: unknown): void {
    if (this.calls.get(call.id) !== call) return;
    this.calls.delete(call.id);
    if (!ok) {
      this.outbox.postResult(failure(call.id, toErrorPayload(outcome)));
      return;
    }
    let value: Json;
    try {
      value = this.codec.encode(outcome, 'result', call.encode);
    } catch (error) {
      // The message names where the value sits: `result.items[3].el: a DOM node (HTMLDivElement) cannot be sent`.
      this.outbox.postResult(failure(call.id, { code: 'RESULT_NOT_SERIALIZABLE', name: 'CodecError', message: messageOf(error) }));
      return;
    }
    this.outbox.postResult({ type: 'result', id: call.id, ok: true, value });
  }
}
