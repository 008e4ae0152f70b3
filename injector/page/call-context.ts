/** A running call's entry, and the `this` page functions see while they run it. */
import type { EncodeOptions } from '../../protocol/codec.js';
import { NativeAbortController } from './builtins.js';
import type { CallContext } from './types.js';

/** A call that is running; its table entry is the one settle path's proof that it may still answer. */
export interface Call {
  id: string;
  action: string;
  timeoutMs: number;
  /** Page clock (`now()`) time at which the deadline passes. */
  deadline: number;
  /** Made the first time the function reads `this.signal`: most functions never do, and it is per-call work. */
  controller: AbortController | undefined;
  /** Why the call was aborted, for a signal first read afterwards. */
  abortReason: Error | undefined;
  /** How its result is encoded (the registered function's options). */
  encode: EncodeOptions | undefined;
}

/** Aborts `call`'s signal (now, or when it is first made) with `reason`. */
export function abortCall(call: Call, reason: Error): void {
  call.abortReason = reason;
  call.controller?.abort(reason);
}

/** The call's AbortSignal, made on first use; already aborted when the call was. */
function signalOf(call: Call): AbortSignal {
  if (!call.controller) {
    call.controller = new NativeAbortController();
    if (call.abortReason) call.controller.abort(call.abortReason);
  }
  return call.controller.signal;
}

const CALL = Symbol('pagecall.call');

/**
 * `this` in a page function: a class, so making one per call is a plain allocation (an object
 * literal with a getter is not). The call itself sits under a symbol, out of the function's way
 * (not a `#private` field: the bundle targets ES2020, where those compile to a WeakMap).
 */
export class Context implements CallContext {
  readonly id: string;
  readonly action: string;
  readonly deadline: number;
  readonly [CALL]: Call;

  /** The context of `call`. */
  constructor(call: Call) {
    this.id = call.id;
    this.action = call.action;
    this.deadline = call.deadline;
    this[CALL] = call;
  }

  /** Aborted when the call's deadline passes, the caller cancels, or the connection drops. */
  get signal(): AbortSignal {
    return signalOf(this[CALL]);
  }
}
