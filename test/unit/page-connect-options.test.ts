/**
 * The page client's connect settings hold the key: they are read from the page's object by own
 * property only and kept in an object without a prototype, so code the site put on
 * Object.prototype (a getter, a setter, a toJSON) never sees them. Runs the page module in Node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bare, ownField } from '../../injector/page/bare-object.js';
import { checkOptions } from '../../injector/page/connect-options.js';

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

test('checkOptions reads only the fields the page gave, and its copy has no prototype', () => {
  const traps = trap(['clientId', 'token', 'key', 'resume', 'toJSON']);
  try {
    const checked = checkOptions({ url: 'ws://127.0.0.1:1/v1/ws', group: 'g', key: 'the-key-0123456789' });
    assert.deepEqual(traps.seen, [], 'no getter or setter ran');
    assert.equal(Object.getPrototypeOf(checked), null);
    assert.equal(checked.key, 'the-key-0123456789');
    assert.equal(checked.clientId, undefined);
    assert.equal(JSON.stringify(checked), '{"url":"ws://127.0.0.1:1/v1/ws","group":"g","key":"the-key-0123456789"}');
    assert.deepEqual(traps.seen, [], 'stringifying it ran no toJSON');
  } finally {
    traps.remove();
  }
});

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
