/**
 * Page code reaches the globals sites patch (JSON, timers, WebSocket, fetch, console, storage...)
 * only through copies captured when the injector loads (injector/page/builtins.ts, or a module's
 * own top-level capture), and its pure policy modules load in Node without a DOM.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

const PAGE_DIR = new URL('../../injector/page/', import.meta.url);

// A call or construction at run time, as opposed to `const x = JSON.stringify;` at load.
const PATCHABLE = [
  /\b(?:JSON|Reflect|Math|Object|Array|Date|Promise)\.[A-Za-z]+\(/,
  /(?<![.\w])(?:setTimeout|clearTimeout|setInterval|clearInterval|queueMicrotask|fetch|atob|btoa|eval)\(/,
  /\bnew (?:WebSocket|AbortController|URL)\(/,
  /(?<![.\w])(?:console|sessionStorage|localStorage|navigator|location)\./,
];
// Run once, while the injector installs: nothing of the page's can have run in between.
const AT_INSTALL = new Set(['api.ts:Object.freeze(']);

function codeLines(file: string): Array<[number, string]> {
  const text = readFileSync(new URL(file, PAGE_DIR), 'utf8');
  const out: Array<[number, string]> = [];
  text.split('\n').forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '').replace(/`[^`]*`|'[^']*'|"[^"]*"/g, '""');
    if (/^\s*(\*|\/\*\*)/.test(line)) return;
    out.push([i + 1, code]);
  });
  return out;
}

describe('page code and the builtins it uses', () => {
  const files = readdirSync(PAGE_DIR).filter((f) => f.endsWith('.ts') && f !== 'builtins.ts');

  test('calls patchable globals only through copies captured at load', () => {
    const found: string[] = [];
    for (const file of files) {
      for (const [line, code] of codeLines(file)) {
        // Top-level captures (`const x = Foo.bar;`) run at load, before the page's scripts.
        if (/^const \w+ = [\w.]+;/.test(code)) continue;
        for (const pattern of PATCHABLE) {
          const match = pattern.exec(code);
          if (match && !AT_INSTALL.has(`${file}:${match[0]}`)) found.push(`${file}:${line}: ${match[0]}`);
        }
      }
    }
    assert.deepEqual(found, []);
  });

  test('the pure policy modules load in Node, with no DOM at import time', async () => {
    for (const name of ['frames', 'backoff', 'error-payload']) {
      const module = (await import(new URL(`${name}.ts`, PAGE_DIR).href)) as Record<string, unknown>;
      assert.ok(Object.keys(module).length > 0, name);
    }
  });
});
