/**
 * README's first steps, as a user takes them: `pagecall serve`, paste the line it prints into a
 * page's DevTools console (here: evaluated in a real Chromium page), register a function, and call
 * it with the curl line it prints, pasted into a shell. With the default settings: pages need the
 * key, and the pasted line carries it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';
import { until } from '../helpers/bridge.js';
import { run } from '../helpers/process.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

let browser: Browser;
let site: TestSite;
let serve: ChildProcess | undefined;
let configDir: string;

before(async () => {
  browser = await launchTestBrowser();
  site = await startSite({ '/': '<!doctype html><title>a site</title><p>the site' });
  configDir = mkdtempSync(join(tmpdir(), 'pagecall-first-steps-'));
});
after(async () => {
  if (serve?.pid !== undefined && serve.exitCode === null) process.kill(serve.pid, 'SIGKILL');
  await browser?.close();
  await site?.close();
  rmSync(configDir, { recursive: true, force: true });
});

test('serve, paste the printed line into a page, register a function, call it with the printed curl line', async () => {
  // A fresh config directory: the first start makes the page key.
  const env: NodeJS.ProcessEnv = { ...process.env, PAGECALL_CONFIG_DIR: configDir };
  delete env.PAGECALL_PAGE_KEY;
  serve = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-format', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  serve.stdout!.on('data', (d) => (out += d));
  serve.stderr!.resume();
  await until(() => /  pages: .*\n/.test(out), 'the banner', 30_000);
  assert.match(out, /made a new page key in .*page-key/);
  const lines = out.split('\n');
  const snippet = lines[lines.findIndex((l) => l.includes('load into a page')) + 1]!.trim();
  const curl = lines.find((l) => l.trimStart().startsWith('call it:'))!.trim().slice('call it:'.length).trim();

  const page = await browser.newPage();
  await page.goto(`${site.url}/`);
  await page.evaluate(snippet);
  await page.evaluate(() => (globalThis as any).pagecall.register('name', (...args: unknown[]) => ['hello from the page', ...args]));
  const url = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  await until(async () => {
    const listed = (await (await fetch(`${url}/v1/clients`)).json()) as { clients: Array<{ actions: string[] }> };
    return listed.clients.some((c) => c.actions.includes('name'));
  }, 'the page and its function to be listed');
  const pasted = await run('bash', ['-c', curl], {}, ['PAGECALL_TOKEN']);
  assert.equal(pasted.code, 0, pasted.stderr);
  const answer = JSON.parse(pasted.stdout) as { ok: boolean; result: unknown };
  assert.deepEqual(answer.result, ['hello from the page']);
  const status = await page.evaluate(() => (globalThis as any).pagecall.status());
  assert.equal(status.state, 'open');
  assert.equal(status.group, 'default');
});
