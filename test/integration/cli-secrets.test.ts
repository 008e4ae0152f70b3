/**
 * The command line and secrets: `--token` on a command line warns (other users can read it) and
 * points to --token-file / PAGECALL_TOKEN; the curl lines `serve` prints work when pasted into a
 * shell; `pagecall key` prints the key `serve` uses; page text is printed with bidi and format
 * characters escaped. Real processes (dist/cli/main.js), real shells.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getJson } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { connectFakePage } from '../helpers/fake-page.js';
import { run } from '../helpers/process.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TOKEN = 'cli-secrets-token-0123456789';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
});

/** Starts `pagecall serve` with `args` and `env`; resolves with its banner (stdout up to the curl lines) and stderr so far. */
async function serve(args: string[], env: Record<string, string>, unset: string[] = []): Promise<{ child: ChildProcess; url: string; banner: string; stderr: () => string }> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['PAGECALL_TOKEN', 'PAGECALL_TOKEN_FILE', ...unset]) delete base[name];
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'warn', '--log-format', 'json', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const banner = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (/  pages: .*\n/.test(stdout)) resolve(stdout);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { child, url: /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1]!, banner, stderr: () => stderr };
}

/** The banner's line starting with `label`, as the user would copy it (without the label). */
const bannerLine = (banner: string, label: string): string => banner.split('\n').find((l) => l.trimStart().startsWith(label))!.trimStart().slice(label.length).trim();

/** Runs a line in bash, as pasted into a terminal. */
const sh = (line: string, env: Record<string, string>) => run('bash', ['-c', line], env, ['PAGECALL_TOKEN']);

test('serve --token warns and points to --token-file; the curl lines it prints work when pasted into a shell with PAGECALL_TOKEN set', async (t) => {
  const use = cleanupFor(t);
  const { url, banner, stderr } = await serve(['--token', TOKEN], { PAGECALL_PAGE_KEY: 'cli-secrets-page-key-0123456789' });
  assert.match(stderr(), /pagecall: warning: --token puts the token where every user of this machine can read it .*pass --token-file <file> or set PAGECALL_TOKEN instead/);
  assert.ok(!banner.includes(TOKEN), 'the banner never shows the token');
  const call = bannerLine(banner, 'call it:');
  assert.ok(call.includes(`-H "authorization: Bearer $PAGECALL_TOKEN"`), call);
  // A page joins with the key the banner's snippet carries, and registers the function it names.
  const key = /"key":"([^"]+)"/.exec(banner)![1]!;
  use.add(await connectFakePage({ bridgeUrl: url, group: 'default', key, handlers: { name: () => 'called from a pasted line' } }), 'a page');
  const pasted = await sh(call, { PAGECALL_TOKEN: TOKEN });
  assert.equal(pasted.code, 0, pasted.stderr);
  assert.equal(JSON.parse(pasted.stdout).result, 'called from a pasted line');
  const pages = await sh(bannerLine(banner, 'pages:'), { PAGECALL_TOKEN: TOKEN });
  assert.equal(JSON.parse(pages.stdout).clients.length, 1);
});

test('serve --token-file: no warning, and the curl lines read the token from that file', async (t) => {
  const use = cleanupFor(t);
  const dir = mkdtempSync(join(tmpdir(), 'pagecall token '));
  use.defer(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "it's the token");
  writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  const { url, banner, stderr } = await serve(['--token-file', file], { PAGECALL_PAGE_KEY: 'cli-secrets-page-key-0123456789' });
  assert.equal(stderr(), '');
  assert.equal((await getJson(`${url}/v1/clients`)).status, 401, 'the token from the file is required');
  const pages = await sh(bannerLine(banner, 'pages:'), {});
  assert.equal(pages.code, 0, pages.stderr);
  assert.equal(JSON.parse(pages.stdout).ok, true, pages.stdout);
});

test('pagecall key prints the page key serve uses and the key of one group; serve hands out the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pagecall-config-'));
  try {
    const env = { PAGECALL_CONFIG_DIR: dir };
    const pageKey = await run(process.execPath, [CLI, 'key'], env, ['PAGECALL_PAGE_KEY', 'PAGECALL_PAGE_KEY_FILE']);
    assert.equal(pageKey.code, 0, pageKey.stderr);
    assert.match(pageKey.stdout, /^[\w-]{43}\n$/);
    const shop = await run(process.execPath, [CLI, 'key', '--group', 'shop'], env, ['PAGECALL_PAGE_KEY', 'PAGECALL_PAGE_KEY_FILE']);
    assert.match(shop.stdout, /^shop~[\w-]{43}\n$/);
    const bad = await run(process.execPath, [CLI, 'key', '--group', 'not a group'], env);
    assert.equal(bad.code, 2);
    const { url } = await serve([], env, ['PAGECALL_PAGE_KEY', 'PAGECALL_PAGE_KEY_FILE']);
    assert.equal((await getJson(`${url}/v1/page-key?group=shop`)).body.key, shop.stdout.trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pagecall clients and --json print page titles with bidi and format characters escaped', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  await use.page({ bridgeUrl: bridge.url, group: 'g', title: 'Invoice \u202Efdp.exe\u200B', url: 'https://x.example/\u2066a', origin: 'https://x.example', handlers: {} });
  const listing = await run(process.execPath, [CLI, 'clients', '--url', bridge.url], {}, ['PAGECALL_TOKEN', 'PAGECALL_URL']);
  assert.equal(listing.code, 0, listing.stderr);
  assert.doesNotMatch(listing.stdout, /[\u202E\u200B\u2066]/);
  assert.match(listing.stdout, /Invoice \\u\{202e\}fdp\.exe\\u\{200b\}/);
  assert.match(listing.stdout, /from https:\/\/x\.example/);
  const json = await run(process.execPath, [CLI, 'clients', '--url', bridge.url, '--json'], {}, ['PAGECALL_TOKEN', 'PAGECALL_URL']);
  assert.doesNotMatch(json.stdout, /[\u202E\u200B\u2066]/);
  assert.ok(json.stdout.includes('Invoice \\u202efdp.exe\\u200b'), json.stdout);
  assert.equal(JSON.parse(json.stdout).clients[0].title, 'Invoice \u202Efdp.exe\u200B', 'the same JSON to a parser');
});
