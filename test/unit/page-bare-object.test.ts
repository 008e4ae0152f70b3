/**
 * The page client keeps the key in objects without a prototype and reads the page's settings by own
 * property only, so code the site put on Object.prototype (a getter, a setter, a toJSON) never sees
 * them. Runs the page module in Node; test/e2e/security.test.ts checks the whole client in Chromium.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bare, ownField } from '../../injector/page/bare-object.js';

/** Installs accessors for `names` on Object.prototype that record every object they see; returns what they saw. */
function trap(names: string[]): { seen: unknown[]; remove(): void } {
  const seen: unknown[] = [];
  for (const name of names) {
    Object.defineProperty(Object.prototype, name, {
      configurable: true,
      get() {
        seen.push({ get: name, from: this });
        return undefined;
      },
      set(value: unknown) {
        seen.push({ set: name, value, on: this });
      },
    });
  }
  return { seen, remove: () => names.forEach((name) => delete (Object.prototype as Record<string, unknown>)[name]) };
}

test('bare() copies a literal without touching inherited setters; ownField ignores inherited fields', () => {
  const traps = trap(['secret']);
  try {
    const copy = bare({ secret: 's3cr3t', other: 1 });
    assert.equal(Object.getPrototypeOf(copy), null);
    assert.equal(copy.secret, 's3cr3t');
    assert.equal(ownField({ a: 1 }, 'secret'), undefined);
    assert.equal(ownField({ secret: 2 }, 'secret'), 2);
    assert.deepEqual(traps.seen, []);
  } finally {
    traps.remove();
  }
});
