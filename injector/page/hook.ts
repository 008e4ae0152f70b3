/**
 * Capturing a function the page calls: wrap the function found at a global path so that the first
 * (and latest) call records the function, its `this` and its arguments. When the path does not
 * exist yet (an init script runs before page scripts), the missing property is trapped so the
 * wrapper goes in as soon as the page assigns it.
 */

/** What a hook saw when the page called the function. */
export interface Capture {
  /** The page's original function. */
  fn: (...args: unknown[]) => unknown;
  /** The `this` it was called with. */
  thisArg: unknown;
  /** The arguments it was called with. */
  args: unknown[];
}

/** A live hook. */
export interface Hook {
  /** The dotted path hooked. */
  readonly path: string;
  /** Resolves with the first capture. */
  readonly ready: Promise<Capture>;
  /** The latest capture, if the page has called the function yet. */
  latest(): Capture | undefined;
  /** Calls the original function with the captured `this` (or `thisArg` when given). */
  call(args: unknown[], thisArg?: unknown): unknown;
  /** Puts the original function back. */
  restore(): void;
}

/** Options of hook(). */
export interface HookOptions {
  /** Called on every page call, after the original ran (for logging what the page sends). */
  onCall?: (capture: Capture, result: unknown) => void;
}

const defineProperty = Object.defineProperty;
const getDescriptor = Object.getOwnPropertyDescriptor;
const apply = Reflect.apply;
const construct = Reflect.construct;
const stringify = JSON.stringify;
const PromiseCtor = Promise;

function split(path: string): string[] {
  const parts = path.split('.').filter(Boolean);
  if (parts[0] === 'window' || parts[0] === 'globalThis' || parts[0] === 'self') parts.shift();
  if (parts.length === 0) throw new TypeError(`pagecall.hook: ${stringify(path)} is not a path like "app.crypto.sign"`);
  return parts;
}

/** Hooks the function at `path` (e.g. `'Signer.prototype.sign'`), now or when the page defines it. */
export function hook(path: string, options: HookOptions = {}): Hook {
  const parts = split(path);
  let latest: Capture | undefined;
  let original: ((...args: unknown[]) => unknown) | undefined;
  let resolveReady!: (c: Capture) => void;
  const ready = new PromiseCtor<Capture>((resolve) => (resolveReady = resolve));
  let undo: () => void = () => {};

  const wrap = (fn: (...args: unknown[]) => unknown): ((...args: unknown[]) => unknown) => {
    original = fn;
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      const capture: Capture = { fn, thisArg: this, args };
      const first = latest === undefined;
      latest = capture;
      if (first) resolveReady(capture);
      const result = new.target ? construct(fn, args, new.target) : apply(fn, this, args);
      options.onCall?.(capture, result);
      return result;
    };
    // Keep what sites check: name, length, toString.
    try {
      defineProperty(wrapper, 'name', { value: fn.name });
      defineProperty(wrapper, 'length', { value: fn.length });
      defineProperty(wrapper, 'toString', { value: () => Function.prototype.toString.call(fn), configurable: true, writable: true });
    } catch {
      // frozen functions keep the wrapper's own
    }
    return wrapper;
  };

  // Walks the path; where a segment is missing, traps its assignment and continues from there.
  const install = (owner: Record<string, unknown>, index: number): void => {
    const key = parts[index]!;
    const last = index === parts.length - 1;
    const current = owner[key];
    if (current !== undefined && current !== null) {
      if (!last) {
        install(current as Record<string, unknown>, index + 1);
        return;
      }
      if (typeof current !== 'function') throw new TypeError(`pagecall.hook: ${path} is a ${typeof current}, not a function`);
      const descriptor = getDescriptor(owner, key);
      const wrapped = wrap(current as (...args: unknown[]) => unknown);
      owner[key] = wrapped;
      undo = () => {
        if (descriptor) defineProperty(owner, key, descriptor);
        else owner[key] = current;
      };
      return;
    }
    let value: unknown = current;
    defineProperty(owner, key, {
      configurable: true,
      enumerable: true,
      get: () => value,
      set: (next: unknown) => {
        // Once assigned, become a plain data property again and continue down the path.
        defineProperty(owner, key, { value: next, writable: true, configurable: true, enumerable: true });
        value = next;
        if (next !== undefined && next !== null) install(owner, index);
      },
    });
    undo = () => defineProperty(owner, key, { value, writable: true, configurable: true, enumerable: true });
  };
  install(globalThis as unknown as Record<string, unknown>, 0);

  return {
    path,
    ready,
    latest: () => latest,
    call: (args, thisArg) => {
      const fn = original ?? latest?.fn;
      if (!fn) throw new Error(`pagecall.hook: ${path} has not been defined by the page yet`);
      return apply(fn, thisArg === undefined ? latest?.thisArg : thisArg, args);
    },
    restore: () => undo(),
  };
}
