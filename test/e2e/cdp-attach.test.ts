/** The launcher attached over CDP to a Chrome the user started: existing and new tabs get pagecall. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { defaultBrowserArgs, findBrowser } from '../../launcher/find-browser.js';
import { launch } from '../../launcher/launch.js';
import { removeProfile } from '../../launcher/profile-dir.js';
import { startSite, type TestSite } from '../helpers/browser.js';
import { postJson, startTestBridge, until } from '../helpers/bridge.js';

let bridge: Bridge;
let site: TestSite;
let chrome: ChildProcess;
let profile: string;
let endpoint: string;

before(async () => {
  bridge = await startTestBridge();
  site = await startSite({ '/': '<!doctype html><title>user tab</title><p>logged in' });
  profile = mkdtempSync(join(tmpdir(), 'pagecall-cdp-'));
  // The user's own browser: started by hand with a debugging port and its own profile.
  chrome = spawn(findBrowser().path, [...defaultBrowserArgs(), '--headless', '--remote-debugging-port=0', `--user-data-dir=${profile}`, `${site.url}/?existing`], { stdio: 'ignore' });
  const port = await until(() => {
    try {
      return readFileSync(join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0];
    } catch {
      return undefined;
    }
  }, 'DevToolsActivePort');
  endpoint = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (chrome && chrome.exitCode === null) {
    const exited = new Promise((resolve) => chrome.once('exit', resolve));
    chrome.kill();
    await exited;
  }
  await site?.close();
  await bridge?.close();
  // Chromium's helper processes can still be writing to the profile just after the browser exits.
  await removeProfile(profile);
});

test('injects into the tabs that were already open and into the tabs it opens', async () => {
  const launched = await launch({ cdpUrl: endpoint, urls: [`${site.url}/?new`], group: 'cdp', scripts: [{ content: "pagecall.register('where', () => location.search)" }], bridge });
  try {
    // The new tab is callable once launch() resolves; the tab that was open joins as soon as the script reaches it.
    const searches = (): string => bridge.clients('cdp').map((c) => new URL(c.url).search).sort().join(' ');
    await until(() => searches() === '?existing ?new', 'existing and new tab join');
    assert.ok(bridge.clients('cdp').every((c) => c.context === 'top'));
    for (const client of bridge.clients('cdp')) {
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'cdp', action: 'where', clientId: client.id });
      assert.equal(r.body.result, new URL(client.url).search);
    }
  } finally {
    await launched.close();
  }
  // Detaching closes the tabs pagecall opened, never the user's browser or their own tabs.
  await until(() => bridge.clients('cdp').length === 1, 'launcher tab closed');
  assert.equal(chrome.exitCode, null);
});
