/**
 * The launcher's policies, each with a table: frame rules and the built realm check (dist/injector/
 * gate.js, run with stand-in globals), which actions a tab must offer, retry delays, hook checks,
 * browser flags from the environment, userscript @match patterns.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import type { ClientInfo } from '../../bridge/page-client.js';
import { frameRule, FrameRuleError, globSource, type FrameRule } from '../../launcher/frame-rule.js';
import { chromiumArgs, LNA_DISABLE_FLAG } from '../../launcher/chromium.js';
import { browserArgsFromEnv } from '../../launcher/launch.js';
import { actionsNamedIn, checkHookSyntax, pageScript } from '../../launcher/page-script.js';
import { clientsOfTab, missingActions } from '../../launcher/readiness.js';
import { retryDelayMs } from '../../launcher/tab-pool.js';
import { checkMatchPattern, userscript } from '../../launcher/userscript.js';

const GATE = readFileSync(fileURLToPath(new URL('../../dist/injector/gate.js', import.meta.url)), 'utf8');

/** What the built realm check decides for a realm described by stand-in globals. */
function gate(rule: FrameRule, realm: { context: 'top' | 'frame' | 'worker'; url: string }): { join: boolean; context: string } {
  const sandbox: Record<string, unknown> = { location: { href: realm.url } };
  const global = runInNewContext('globalThis', sandbox) as Record<string, unknown>;
  if (realm.context === 'worker') {
    // In a worker the global object is a WorkerGlobalScope (and there is no `top`).
    sandbox.WorkerGlobalScope = Object.defineProperty(function WorkerGlobalScope() {}, Symbol.hasInstance, { value: (v: unknown) => v === global });
  } else {
    // A top document is its own `top`; a frame's `top` is another window.
    sandbox.top = realm.context === 'top' ? global : {};
  }
  return runInNewContext(`${GATE}\n__pagecallGate.decideHere(${JSON.stringify(rule)})`, sandbox) as { join: boolean; context: string };
}

describe('frame rules', () => {
  test('frames values become rules; bad ones are refused naming the value', () => {
    assert.deepEqual(frameRule(undefined), { frames: 'top' });
    assert.deepEqual(frameRule('top'), { frames: 'top' });
    assert.deepEqual(frameRule('all'), { frames: 'all' });
    assert.deepEqual(frameRule('/player\\.example/i'), { frames: 'match', source: 'player\\.example', flags: 'i' });
    assert.deepEqual(frameRule(/ads/g), { frames: 'match', source: 'ads', flags: '' });
    assert.deepEqual(frameRule('https://*.example/embed*'), { frames: 'match', source: globSource('https://*.example/embed*'), flags: '' });
    assert.throws(() => frameRule(''), FrameRuleError);
    assert.throws(() => frameRule('/(/'), /frames: \/\(\/ is not a valid regular expression/);
  });

  test('a glob matches whole URLs, * being any run of characters and everything else itself', () => {
    const cases: Array<[string, string, boolean]> = [
      ['https://player.example/*', 'https://player.example/embed?id=1', true],
      ['https://player.example/*', 'https://player.example.evil.test/embed', false],
      ['https://*.example/*', 'https://cdn.player.example/x', true],
      ['https://site.example/a?b', 'https://site.example/a?b', true],
      ['https://site.example/a?b', 'https://site.example/aXb', false],
      ['*://x.test/*', 'http://x.test/', true],
    ];
    for (const [glob, url, expected] of cases) assert.equal(new RegExp(globSource(glob)).test(url), expected, `${glob} vs ${url}`);
  });

  test('the realm check: top documents join, never blank, srcdoc, data: or error documents, frames only when the rule says', () => {
    const match = frameRule('https://player.example/*');
    const cases: Array<[FrameRule, 'top' | 'frame' | 'worker', string, boolean]> = [
      [{ frames: 'top' }, 'top', 'https://site.example/', true],
      [{ frames: 'top' }, 'top', 'about:blank', false],
      [{ frames: 'all' }, 'top', 'chrome-error://chromewebdata/', false],
      [{ frames: 'top' }, 'top', 'data:text/html,hi', false],
      [{ frames: 'top' }, 'frame', 'https://site.example/frame', false],
      [{ frames: 'all' }, 'frame', 'https://ads.example/slot', true],
      [{ frames: 'all' }, 'frame', 'about:srcdoc', false],
      [{ frames: 'all' }, 'frame', 'about:blank', false],
      [{ frames: 'all' }, 'frame', 'blob:https://site.example/1', false],
      [match, 'frame', 'https://player.example/embed', true],
      [match, 'frame', 'https://ads.example/slot', false],
      [match, 'top', 'https://site.example/', true],
      [{ frames: 'top' }, 'worker', 'https://site.example/decoder.js', true],
      [{ frames: 'top' }, 'worker', 'blob:https://site.example/2f1c', true],
      [{ frames: 'top' }, 'worker', 'data:text/javascript,1', false],
    ];
    for (const [rule, context, url, join] of cases) {
      const decided = gate(rule, { context, url });
      assert.equal(decided.join, join, `${JSON.stringify(rule)} ${context} ${url}`);
      assert.equal(decided.context, context);
    }
  });

  test('a realm that does not join evaluates nothing past the check: no pagecall, no socket, no key', () => {
    const script = pageScript({ bridgeUrl: 'http://127.0.0.1:12180', group: 'g', key: 'secret-page-key', hooks: [{ name: 'h.js', content: 'globalThis.hookRan = true;' }] });
    const touched: string[] = [];
    const sandbox: Record<string, unknown> = {
      location: { href: 'about:blank' },
      WebSocket: class {
        constructor() {
          touched.push('WebSocket');
        }
      },
    };
    sandbox.top = runInNewContext('globalThis', sandbox);
    runInNewContext(script, sandbox);
    assert.deepEqual(touched, []);
    assert.equal(sandbox.pagecall, undefined);
    assert.equal(sandbox.hookRan, undefined);
    assert.deepEqual(Object.getOwnPropertySymbols(runInNewContext('globalThis', sandbox)), []);
  });
});

describe('readiness', () => {
  const client = (id: string, actions: string[]): ClientInfo => ({ id, group: 'g', actions, url: 'https://x/', title: '', origin: null, context: 'top', admission: 'page-key', remoteAddress: null, connectedAt: '', inFlight: 0, served: 0, failed: 0 });

  test("a tab's clients are its top document's and those whose ids start with its id and a dash", () => {
    const all = [client('tab1', []), client('tab1-fa', []), client('tab1-wb', []), client('tab10', []), client('tab2', [])];
    assert.deepEqual(clientsOfTab(all, 'tab1').map((c) => c.id), ['tab1', 'tab1-fa', 'tab1-wb']);
  });

  test('a tab is ready when its top document joined and its realms together offer every expected action', () => {
    const cases: Array<[ClientInfo[], string[], string[] | undefined]> = [
      [[], [], []],
      [[client('t', [])], [], undefined],
      [[client('t', ['a'])], ['a', 'b'], ['b']],
      [[client('t', ['a']), client('t-wx', ['b'])], ['a', 'b'], undefined],
      // A worker alone does not make the tab ready: its top document must have joined.
      [[client('t-wx', ['a'])], ['a'], []],
      [[client('other', ['a'])], ['a'], ['a']],
    ];
    for (const [clients, expected, missing] of cases) assert.deepEqual(missingActions(clients, 't', expected), missing, JSON.stringify({ clients: clients.map((c) => c.id), expected }));
  });

  test('the actions to wait for are the names hooks pass literally to pagecall.register and pagecall.expose', () => {
    const hooks = [
      { name: 'a.js', content: "pagecall.register('decode', f);\npagecall . expose(\"sign\", 'app.sign');\nnavigator.serviceWorker.register('/sw.js');" },
      { name: 'b.js', content: 'pagecall.register(`late`, f); pagecall.register(name, f); pagecall.register(\'decode\', g);' },
    ];
    assert.deepEqual(actionsNamedIn(hooks), ['decode', 'sign', 'late']);
  });

  test('retries wait 1 s doubling to 30 s, less up to half at random', () => {
    const cases: Array<[number, number, number]> = [
      [1, 0, 1000],
      [1, 1, 500],
      [2, 0, 2000],
      [5, 0, 16000],
      [6, 0, 30000],
      [20, 0.5, 22500],
    ];
    for (const [attempt, random, expected] of cases) assert.equal(retryDelayMs(attempt, () => random), expected, `attempt ${attempt}`);
  });
});

describe('launcher inputs', () => {
  test('hook scripts that do not parse are refused with their name and line', () => {
    assert.doesNotThrow(() => checkHookSyntax({ name: 'ok.js', content: "pagecall.register('a', () => 1)" }));
    assert.throws(() => checkHookSyntax({ name: 'bad.js', content: 'const a = 1;\nconst b = ;' }), /^HookScriptError: hook script bad\.js line 2: SyntaxError: /);
  });

  test('PAGECALL_BROWSER_ARGS splits before each --, so values may hold spaces', () => {
    assert.deepEqual(browserArgsFromEnv({}), []);
    assert.deepEqual(browserArgsFromEnv({ PAGECALL_BROWSER_ARGS: '  --lang=de   --host-resolver-rules=MAP a.test 127.0.0.1:8443 --ignore-certificate-errors ' }), ['--lang=de', '--host-resolver-rules=MAP a.test 127.0.0.1:8443', '--ignore-certificate-errors']);
  });

  test('browser options become Chromium flags: a pipe, never a port unless asked; the user\'s flags last', () => {
    const base = chromiumArgs({ executablePath: 'chromium', headless: true }, '/tmp/p');
    assert.ok(base.includes('--remote-debugging-pipe') && base.includes('--user-data-dir=/tmp/p') && base.includes('--headless') && base.includes(LNA_DISABLE_FLAG));
    assert.equal(base.some((a) => a.startsWith('--remote-debugging-port')), false);
    const all = chromiumArgs({ executablePath: 'chromium', headless: false, proxy: 'socks5://127.0.0.1:1080', remoteDebuggingPort: 0, args: ['--lang=de'] }, '/home/me/profile');
    assert.ok(all.includes('--proxy-server=socks5://127.0.0.1:1080') && all.includes('--remote-debugging-port=0') && all.includes('--remote-debugging-address=127.0.0.1'));
    assert.equal(all.includes('--headless'), false);
    assert.equal(all.at(-1), '--lang=de');
  });

  test('userscript @match patterns are checked the way managers read them', () => {
    for (const ok of ['https://site.example/*', 'https://*.site.example/*', '*://site.example/path*', 'http://127.0.0.1:8080/*', 'file:///home/me/*']) assert.doesNotThrow(() => checkMatchPattern(ok), ok);
    for (const bad of ['site.example', 'https://site.example', 'https://si*te.example/*', 'ftp2://x/*', 'https://site.example/ *']) assert.throws(() => checkMatchPattern(bad), /expected scheme:\/\/host\/path/, bad);
  });

  test('a userscript header runs at document-start in the page, once per top document unless frames are asked for', () => {
    const make = (frames?: FrameRule) => userscript({ group: 'shop', match: ['https://shop.example/*'], bridgeUrl: 'http://127.0.0.1:12180', hooks: [], key: 'k', ...(frames ? { frames } : {}) });
    const top = make();
    assert.match(top, /^\/\/ @match +https:\/\/shop\.example\/\*$/m);
    assert.match(top, /^\/\/ @run-at +document-start$/m);
    assert.match(top, /^\/\/ @grant +none$/m);
    assert.match(top, /^\/\/ @noframes$/m);
    assert.doesNotMatch(make({ frames: 'all' }), /@noframes/);
  });
});
