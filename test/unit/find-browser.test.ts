/** Where the launcher looks for a browser, and in which order: a table over temp dirs on a fake PATH. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BrowserNotFoundError, findBrowser, type BrowserSearch } from '../../launcher/find-browser.js';

const root = mkdtempSync(join(tmpdir(), 'pagecall-find-browser-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Creates `dir/name` (executable unless told otherwise) and returns its path. */
function file(dir: string, name: string, mode = 0o755): string {
  mkdirSync(join(root, dir), { recursive: true });
  const path = join(root, dir, name);
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, mode);
  return path;
}
const dir = (name: string): string => {
  mkdirSync(join(root, name), { recursive: true });
  return join(root, name);
};

const none: BrowserSearch = { playwright: undefined, system: [], platform: 'linux' };

interface Case {
  name: string;
  /** Files to create, as `dir/name` (a trailing `!` makes it non-executable, a trailing `/` a directory). */
  files: string[];
  path: string[];
  explicit?: string;
  browserEnv?: string;
  playwright?: string;
  system?: string[];
  /** Expected `dir/name` and source, or an error pattern. */
  found: [string, string] | RegExp;
}

const cases: Case[] = [
  { name: 'a name on PATH', files: ['a/chromium'], path: ['a'], found: ['a/chromium', 'path'] },
  { name: 'the first PATH directory that has the name wins', files: ['a/chromium', 'b/chromium'], path: ['b', 'a'], found: ['b/chromium', 'path'] },
  { name: 'names in order before directories: chromium in a later directory beats google-chrome in an earlier one', files: ['c1/google-chrome', 'c2/chromium'], path: ['c1', 'c2'], found: ['c2/chromium', 'path'] },
  { name: 'chromium-browser before google-chrome', files: ['d/google-chrome', 'd/chromium-browser'], path: ['d'], found: ['d/chromium-browser', 'path'] },
  { name: 'google-chrome-stable, then chrome, then msedge, then microsoft-edge', files: ['e/microsoft-edge', 'e/msedge', 'e/chrome', 'e/google-chrome-stable'], path: ['e'], found: ['e/google-chrome-stable', 'path'] },
  { name: 'msedge before microsoft-edge', files: ['f/microsoft-edge', 'f/msedge'], path: ['f'], found: ['f/msedge', 'path'] },
  { name: 'microsoft-edge when nothing else is there', files: ['g/microsoft-edge'], path: ['g'], found: ['g/microsoft-edge', 'path'] },
  { name: 'a file that is not executable is skipped', files: ['h1/chromium!', 'h2/chromium'], path: ['h1', 'h2'], found: ['h2/chromium', 'path'] },
  { name: 'a directory with a browser name is skipped', files: ['i1/chromium/', 'i2/chrome'], path: ['i1', 'i2'], found: ['i2/chrome', 'path'] },
  { name: "Playwright's browser before PATH", files: ['j/pw-chrome', 'j/chromium'], path: ['j'], playwright: 'j/pw-chrome', found: ['j/pw-chrome', 'playwright'] },
  { name: "a Playwright browser that is not installed is skipped", files: ['k/chromium'], path: ['k'], playwright: 'k/not-installed', found: ['k/chromium', 'path'] },
  { name: 'PATH before the fixed install locations', files: ['l/sys-chrome', 'l2/chromium'], path: ['l2'], system: ['l/sys-chrome'], found: ['l2/chromium', 'path'] },
  { name: 'the fixed locations when PATH has nothing', files: ['m/sys-chrome'], path: ['empty'], system: ['m/missing', 'm/sys-chrome'], found: ['m/sys-chrome', 'system'] },
  { name: 'PAGECALL_BROWSER before everything found by search', files: ['n/mine', 'n/chromium'], path: ['n'], browserEnv: 'n/mine', found: ['n/mine', 'env'] },
  { name: '--browser before PAGECALL_BROWSER', files: ['o/flag', 'o/env'], path: [], explicit: 'o/flag', browserEnv: 'o/env', found: ['o/flag', 'option'] },
  { name: 'a missing --browser fails instead of falling back', files: ['p/chromium'], path: ['p'], explicit: 'p/nope', found: /^no browser at .*p\/nope \(from --browser\): no such file$/ },
  { name: 'a missing PAGECALL_BROWSER fails instead of falling back', files: ['q/chromium'], path: ['q'], browserEnv: 'q/nope', found: /^no browser at .*q\/nope \(from PAGECALL_BROWSER\): no such file$/ },
  { name: 'a PAGECALL_BROWSER that is not executable says so', files: ['r/chrome!'], path: [], browserEnv: 'r/chrome', found: /\(from PAGECALL_BROWSER\): not executable$/ },
  { name: 'nothing anywhere lists where it looked and how to get a browser', files: [], path: ['s1', 's2'], system: ['s/sys'], found: /Looked in:\n {2}PATH \(2 directories\) for chromium, chromium-browser, google-chrome, google-chrome-stable, chrome, msedge, microsoft-edge\n .*s\/sys\nGet one with/ },
];

describe('findBrowser', () => {
  for (const c of cases) {
    test(c.name, () => {
      for (const f of c.files) {
        if (f.endsWith('/')) dir(f);
        else if (f.endsWith('!')) file(f.slice(0, f.lastIndexOf('/')), f.slice(f.lastIndexOf('/') + 1, -1), 0o644);
        else file(f.slice(0, f.lastIndexOf('/')), f.slice(f.lastIndexOf('/') + 1));
      }
      const at = (p: string): string => join(root, p);
      const env: NodeJS.ProcessEnv = { PATH: c.path.map((p) => dir(p)).join(delimiter) };
      if (c.browserEnv) env.PAGECALL_BROWSER = at(c.browserEnv);
      const search: BrowserSearch = { ...none, playwright: c.playwright && at(c.playwright), system: (c.system ?? []).map(at) };
      const find = () => findBrowser(c.explicit && at(c.explicit), env, search);
      if (c.found instanceof RegExp) {
        assert.throws(find, (error: Error) => error instanceof BrowserNotFoundError && (c.found as RegExp).test(error.message));
      } else {
        assert.deepEqual(find(), { path: at(c.found[0]), source: c.found[1] });
      }
    });
  }

  test('on Windows, PATH entries are tried with the PATHEXT extensions', () => {
    file('w', 'msedge.exe');
    const found = findBrowser(undefined, { PATH: join(root, 'w'), PATHEXT: '.COM;.EXE' }, { ...none, platform: 'win32' });
    assert.deepEqual(found, { path: join(root, 'w', 'msedge.exe'), source: 'path' });
  });
});
