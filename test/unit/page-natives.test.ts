/**
 * Telling the browser's own built-ins from replacements a page installed before the injector
 * (injector/page/natives.ts), in fresh V8 realms (node:vm contexts) standing in for the page and
 * for the clean frame: what the page's own realm gives away by itself, and what only a comparison
 * with a clean realm shows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createContext, runInContext } from 'node:vm';
import { readRealm, replacedIn, suspects, type Realm } from '../../injector/page/natives.js';

/** A fresh realm after running `patch` in it (as a page's first script would). */
function realm(patch = ''): Realm {
  const context = createContext();
  runInContext(patch, context);
  const global = runInContext('globalThis', context) as typeof globalThis;
  return readRealm(global, global.Object.getOwnPropertyDescriptor);
}

// Anti-debugging code as sites ship it: replacements written as methods (no prototype, no
// arguments/caller), named like the built-ins, and a toString that shows them, and itself, as
// native code.
const DISGUISE = `
  const nativeToString = Function.prototype.toString;
  const shown = new WeakMap();
  const disguise = (fake, real) => { shown.set(fake, nativeToString.call(real)); return fake; };
  const toString = ({ toString() { return shown.has(this) ? shown.get(this) : nativeToString.call(this); } }).toString;
  disguise(toString, nativeToString);
  Object.defineProperty(Function.prototype, 'toString', { value: toString, writable: true, configurable: true });
`;

describe('page built-ins judged by the page realm itself', () => {
  const cases: Array<[string, string, string[]]> = [
    ['a realm nothing replaced', '', []],
    ['a function declaration in place of JSON.parse', 'JSON.parse = function parse(text) { return {}; };', ['parse']],
    ['a method named like the built-in', 'JSON.stringify = ({ stringify(v) { return "{}"; } }).stringify;', ['stringify']],
    ['a replacement with a toString of its own', 'const f = (t) => ({}); f.toString = () => "function parse() { [native code] }"; JSON.parse = f;', ['parse']],
    ['a Proxy around the built-in', 'JSON.stringify = new Proxy(JSON.stringify, {});', ['stringify']],
    ['a bound built-in', 'Date.now = Date.now.bind(Date);', ['now']],
    ['another built-in under the name', 'Math.min = Math.max;', ['min']],
    ['a replaced Promise.prototype.then', 'const then = Promise.prototype.then; Promise.prototype.then = function then(a, b) { return then.call(this, a, b); };', ['promiseThen']],
    ['a toString that lies about itself and its replacements', `${DISGUISE} JSON.parse = disguise(({ parse(t) { return {}; } }).parse, JSON.parse);`, ['toString']],
    ['a toString that answers for a non-function', 'const own = Function.prototype.toString; Function.prototype.toString = ({ toString() { try { return own.call(this); } catch { return "function () { [native code] }"; } } }).toString;', ['toString']],
    ['stack traces switched off (nothing shows that toString is honest)', 'Error.stackTraceLimit = 0;', ['toString']],
  ];
  for (const [name, patch, expected] of cases) {
    test(`${name}: ${expected.length === 0 ? 'nothing' : expected.join(', ')} looks replaced`, () => {
      assert.deepEqual(suspects(realm(patch)), expected);
    });
  }
});

describe('page built-ins judged against a clean realm', () => {
  const cases: Array<[string, string, string[]]> = [
    ['nothing replaced', '', []],
    ['stack traces switched off, nothing replaced', 'Error.stackTraceLimit = 0;', []],
    ['disguised replacements of JSON and toString', `${DISGUISE} JSON.parse = disguise(({ parse(t) { return {}; } }).parse, JSON.parse); JSON.stringify = disguise(({ stringify(v) { return '{}'; } }).stringify, JSON.stringify);`, ['parse', 'stringify', 'toString']],
    ['a Proxy around the built-in', 'Object.keys = new Proxy(Object.keys, {});', ['keys']],
    ['a removed built-in', 'delete Reflect.construct;', ['construct']],
    ['one member of the Promise group', 'Promise.resolve = ({ resolve(v) { return v; } }).resolve;', ['Promise', 'promiseResolve', 'promiseThen']],
    ["another realm's copy of the same built-in", `JSON.parse = ${'(0, eval)'}('JSON.parse');`, []],
  ];
  for (const [name, patch, expected] of cases) {
    test(`${name}: ${expected.length === 0 ? 'nothing' : expected.join(', ')} replaced`, () => {
      assert.deepEqual(replacedIn(realm(patch), realm()).sort(), [...expected].sort());
    });
  }

  test('built-ins a realm lacks are neither suspects nor replaced (no WebSocket, timers or console in a bare realm)', () => {
    const bare = realm();
    assert.equal(bare.WebSocket, undefined);
    assert.equal(bare.onmessage, undefined);
    assert.equal(typeof bare.parse, 'function');
    assert.deepEqual(suspects(bare), []);
  });
});
