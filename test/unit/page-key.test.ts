/** The page key: where it lives, how it is made and read, and what is derived from it. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PageKeys, configDir, resolvePageKey } from '../../bridge/page-key.js';

describe('the config directory', () => {
  const cases: Array<[string, Record<string, string>, NodeJS.Platform, string]> = [
    ['PAGECALL_CONFIG_DIR first', { PAGECALL_CONFIG_DIR: '/x/pc', XDG_CONFIG_HOME: '/x/xdg', APPDATA: 'C:\\A' }, 'linux', '/x/pc'],
    ['then XDG_CONFIG_HOME', { XDG_CONFIG_HOME: '/x/xdg' }, 'linux', join('/x/xdg', 'pagecall')],
    ['then ~/.config', {}, 'linux', join(homedir(), '.config', 'pagecall')],
    ['%APPDATA% on Windows', { APPDATA: 'C:\\Users\\u\\AppData\\Roaming', XDG_CONFIG_HOME: '/x/xdg' }, 'win32', join('C:\\Users\\u\\AppData\\Roaming', 'pagecall')],
    ['PAGECALL_CONFIG_DIR on Windows too', { PAGECALL_CONFIG_DIR: 'D:\\pc', APPDATA: 'C:\\A' }, 'win32', 'D:\\pc'],
  ];
  for (const [name, env, platform, expected] of cases) test(name, () => assert.equal(configDir(env, platform), expected));
});

describe('resolving the page key', () => {
  const withDir = (fn: (dir: string) => void): void => {
    const dir = mkdtempSync(join(tmpdir(), 'pagecall-key-'));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('is made on first use in a private file (0600, directory 0700) and read back afterwards', () => {
    withDir((base) => {
      const locationEnv = { PAGECALL_CONFIG_DIR: join(base, 'nested', 'pagecall') };
      const first = resolvePageKey({ locationEnv });
      assert.equal(first.source, 'created');
      assert.match(first.key, /^[\w-]{43}$/);
      assert.equal(first.file, join(base, 'nested', 'pagecall', 'page-key'));
      assert.equal(readFileSync(first.file!, 'utf8'), `${first.key}\n`);
      if (process.platform !== 'win32') {
        assert.equal(statSync(first.file!).mode & 0o777, 0o600);
        assert.equal(statSync(join(base, 'nested', 'pagecall')).mode & 0o777, 0o700);
      }
      const again = resolvePageKey({ locationEnv });
      assert.deepEqual(again, { key: first.key, source: 'file', file: first.file, warnings: [] });
    });
  });

  test('the option, then --page-key-file, then PAGECALL_PAGE_KEY, then the default file', () => {
    withDir((base) => {
      const file = join(base, 'my-key');
      writeFileSync(file, '  from-the-key-file-0123456789  \n', { mode: 0o600 });
      const locationEnv = { PAGECALL_CONFIG_DIR: base };
      const env = { PAGECALL_PAGE_KEY: 'from-the-environment-0123456789' };
      assert.equal(resolvePageKey({ pageKey: 'from-the-option-0123456789', pageKeyFile: file, env, locationEnv }).key, 'from-the-option-0123456789');
      assert.equal(resolvePageKey({ pageKeyFile: file, env, locationEnv }).key, 'from-the-key-file-0123456789');
      assert.equal(resolvePageKey({ env, locationEnv }).source, 'environment');
      assert.equal(resolvePageKey({ locationEnv }).source, 'created');
    });
  });

  test('refuses a key too short or with spaces, a missing key file, and warns about one others can read', () => {
    withDir((base) => {
      assert.throws(() => resolvePageKey({ pageKey: 'short' }), /pageKey: a page key must be at least 16 characters without spaces/);
      assert.throws(() => resolvePageKey({ env: { PAGECALL_PAGE_KEY: 'has a space inside it' } }), /PAGECALL_PAGE_KEY: a page key must be/);
      assert.throws(() => resolvePageKey({ pageKeyFile: join(base, 'missing') }), /page key file .*missing does not exist/);
      const loose = join(base, 'loose');
      writeFileSync(loose, 'a-readable-key-0123456789\n');
      chmodSync(loose, 0o644);
      if (process.platform !== 'win32') assert.match(resolvePageKey({ pageKeyFile: loose }).warnings[0]!, /can be read by other users \(mode 644\); run chmod 600/);
    });
  });
});

describe('keys derived from the page key', () => {
  const keys = new PageKeys('the-page-key-0123456789abcdef');
  const other = new PageKeys('another-page-key-0123456789ab');

  test('a group key admits its group only; the page key admits every group; anything else is wrong', () => {
    const shop = keys.groupKey('shop');
    assert.match(shop, /^shop~[\w-]{43}$/);
    assert.equal(keys.groupKey('shop'), shop, 'stable: derived, not stored');
    const cases: Array<[string | undefined, string, unknown]> = [
      ['the-page-key-0123456789abcdef', 'shop', { ok: true, scope: 'page' }],
      ['the-page-key-0123456789abcdef', 'any.group:1', { ok: true, scope: 'page' }],
      [shop, 'shop', { ok: true, scope: 'group' }],
      [shop, 'live', { ok: false, reason: 'other-group', group: 'shop' }],
      [other.groupKey('shop'), 'shop', { ok: false, reason: 'wrong' }],
      [`shop~${'A'.repeat(43)}`, 'shop', { ok: false, reason: 'wrong' }],
      [`live${shop.slice(4)}`, 'live', { ok: false, reason: 'wrong' }],
      ['the-page-key-0123456789abcdeF', 'shop', { ok: false, reason: 'wrong' }],
      ['~', 'shop', { ok: false, reason: 'wrong' }],
      ['', 'shop', { ok: false, reason: 'missing' }],
      [undefined, 'shop', { ok: false, reason: 'missing' }],
    ];
    for (const [key, group, expected] of cases) assert.deepEqual(keys.check(key, group), expected, `${key} for ${group}`);
  });

  test('a resume secret belongs to one client id and one page key, and is no group key', () => {
    const resume = keys.resumeFor('abc123');
    assert.match(resume, /^[\w-]{22}$/);
    assert.equal(keys.resumes('abc123', resume), true);
    assert.equal(keys.resumes('abc124', resume), false);
    assert.equal(keys.resumes('abc123', undefined), false);
    assert.equal(other.resumes('abc123', resume), false);
    assert.notEqual(keys.resumeFor('shop'), keys.groupKey('shop').split('~')[1]!.slice(0, 22));
  });
});
