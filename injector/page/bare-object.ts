/**
 * Objects that carry secrets (the hello, the connect settings) are made without a prototype: a
 * setter, getter or `toJSON` the site put on Object.prototype never sees them or their fields.
 */

// Captured at load, like builtins.ts: the site's scripts run later and may patch them.
const create = Object.create;
const assign = Object.assign;

/**
 * A copy of `fields` with no prototype. `fields` must be a literal: a literal's fields are defined,
 * not assigned, so no inherited setter runs while it is built, and copying reads only its own.
 */
export function bare<T extends object>(fields: T): T {
  return assign(create(null) as T, fields);
}

const hasOwn = Object.prototype.hasOwnProperty;
const call = Function.prototype.call;
const ownCheck = call.bind(hasOwn) as (target: object, key: string) => boolean;

/**
 * A field of an object the page handed over, read only when it is the object's own: reading a
 * missing one would run a getter the site may have put on Object.prototype, with the object (and
 * the secrets next to the field) as its `this`.
 */
export function ownField(target: object, key: string): unknown {
  return ownCheck(target, key) ? (target as Record<string, unknown>)[key] : undefined;
}
