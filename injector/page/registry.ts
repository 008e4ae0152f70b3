import { ACTION_PATTERN } from '../../protocol/guards.js';
import { apply, stringifyJson } from './builtins.js';
import type { ValueOptions } from './int64.js';
import type { CallContext, PageFunction } from './types.js';

/** A registered function and how its values travel. */
export interface Registered {
  fn: PageFunction;
  values: ValueOptions;
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

/** Throws a TypeError naming the method unless `name` is a valid action name. */
export function checkActionName(name: unknown, method: string): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`pagecall.${method}: the action name must be a string, got ${describe(name)}`);
  if (!ACTION_PATTERN.test(name)) {
    throw new TypeError(
      `pagecall.${method}: ${stringifyJson(name.slice(0, 80))} is not a valid action name ` +
        '(letters, digits and _ . : / -, at most 128 characters, not starting with $ or another symbol)',
    );
  }
}

/** The functions a page offers, by action name. */
export class Registry {
  private readonly functions = new Map<string, Registered>();

  /** Adds or replaces a function. */
  set(name: string, fn: PageFunction, values: ValueOptions): void {
    this.functions.set(name, { fn, values });
  }

  /** Removes a function; true when it was registered. */
  delete(name: string): boolean {
    return this.functions.delete(name);
  }

  /** The function registered under `name`. */
  get(name: string): Registered | undefined {
    return this.functions.get(name);
  }

  /** Registered names, in registration order. */
  names(): string[] {
    return [...this.functions.keys()];
  }
}

/**
 * A page function that calls whatever sits at a dotted global path (`app.crypto.sign`) when the call
 * runs, with `this` = its owner, so sites may define or replace it after registration.
 */
export function pathFunction(path: string): PageFunction {
  const segments = path.split('.');
  if (path === '' || segments.some((segment) => segment === '')) {
    throw new TypeError(`pagecall.expose: ${stringifyJson(path)} is not a dotted path like "app.crypto.sign"`);
  }
  const last = segments.length - 1;
  return function (this: CallContext, ...args: never[]): unknown {
    let owner: unknown = globalThis;
    for (let i = 0; i < last; i++) {
      const next: unknown = (owner as Record<string, unknown>)[segments[i]!];
      if (next === undefined || next === null) {
        throw new TypeError(`pagecall: cannot call ${path}: ${segments.slice(0, i + 1).join('.')} is ${describe(next)}`);
      }
      owner = next;
    }
    const fn: unknown = (owner as Record<string, unknown>)[segments[last]!];
    if (typeof fn !== 'function') throw new TypeError(`pagecall: cannot call ${path}: it is ${describe(fn)}, not a function`);
    return apply(fn as (...a: unknown[]) => unknown, owner, args);
  };
}
